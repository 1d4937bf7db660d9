"""muxbench analysis: load muxbench CSVs, fit, plot, and decide the claims C1-C9.

    from muxbench_analysis import load, claims, plots
    ds = load("results/x.csv")
    for v in claims.evaluate(ds): print(v.claim_id, v.verdict, v.measured)
"""
from .data import CSVError, Dataset, cite, csv_paths_from_env, load, load_csv, newest_csv

__all__ = ["CSVError", "Dataset", "cite", "csv_paths_from_env", "load", "load_csv",
           "newest_csv"]
