"""Shared by the analysis tests: temporary CSVs and the checks a finished report must pass."""
import os
import re
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ANALYSIS = os.path.dirname(HERE)
if ANALYSIS not in sys.path:
    sys.path.insert(0, ANALYSIS)

from muxbench_analysis import claims  # noqa: E402
from muxbench_analysis.plots import PLOTS  # noqa: E402
from muxbench_analysis.report import NOTEBOOKS  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
VERDICT_WORDS = (claims.HOLDS, claims.PART, claims.NOT, claims.NOT_MEASURED)


class TempDirCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="muxbench-analysis-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, content, mode="w"):
        path = os.path.join(self.tmp, name)
        with open(path, mode) as f:
            f.write(content)
        return path


def check_png(path):
    """'' when path is a non-empty PNG image that decodes, else what is wrong."""
    if not os.path.isfile(path):
        return "%s: missing" % path
    if os.path.getsize(path) == 0:
        return "%s: empty" % path
    with open(path, "rb") as f:
        if f.read(8) != PNG_MAGIC:
            return "%s: not a PNG" % path
    import matplotlib.image as mpimg
    img = mpimg.imread(path)
    if img.ndim != 3 or img.shape[0] < 200 or img.shape[1] < 400:
        return "%s: image of shape %s is too small" % (path, img.shape)
    return ""


def claims_rows(text):
    """{claim_id: verdict} from the table of a claims.md."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"\| \*\*(C\d)\*\*: .*\| \*\*([A-Za-z ]+?)\*\*:", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def check_report(outdir):
    """Every problem with a finished report directory (empty list: none)."""
    problems = []
    for nb in NOTEBOOKS:
        html = os.path.join(outdir, nb + ".html")
        if not os.path.isfile(html) or os.path.getsize(html) == 0:
            problems.append("%s: missing or empty" % html)
            continue
        with open(html, encoding="utf-8") as f:
            text = f.read()
        if "Traceback (most recent call last)" in text:
            problems.append("%s: holds a traceback" % html)
    for name in PLOTS:
        p = check_png(os.path.join(outdir, name + ".png"))
        if p:
            problems.append(p)
    md = os.path.join(outdir, "claims.md")
    if not os.path.isfile(md):
        problems.append("%s: missing" % md)
    else:
        with open(md, encoding="utf-8") as f:
            rows = claims_rows(f.read())
        for c in claims.CLAIMS:
            if c.claim_id not in rows:
                problems.append("claims.md: no row for %s" % c.claim_id)
            elif rows[c.claim_id] not in VERDICT_WORDS:
                problems.append("claims.md: %s has verdict %r" % (c.claim_id, rows[c.claim_id]))
    return problems
