/*
 * main.c - the muxbench command line.
 *
 *   muxbench list       backends and workloads, available or why not
 *
 * Exit status (DESIGN.md section 6): 0 done, 1 internal failure, 2 bad usage (an unknown name
 * lists the valid ones), 3 an environment limit, with what to change.
 */
#include <stdio.h>
#include <string.h>

#include "poller.h"

enum { EXIT_OK = 0, EXIT_INTERNAL = 1, EXIT_USAGE = 2, EXIT_LIMIT = 3 };

static void usage(FILE *to)
{
    fprintf(to, "usage: muxbench list\n"
                "       muxbench help\n");
}

static int cmd_list(void)
{
    printf("pollers:\n");
    for (size_t i = 0; i < poller_count(); i++) {
        const struct poller_ops *ops = poller_at(i);
        char why[256], feats[128];
        int rc = poller_probe(ops, why, sizeof why);
        poller_features_str(ops->features, feats, sizeof feats);
        printf("  %-18s %-11s %s\n", ops->name, rc == 0 ? "available" : "unavailable",
               ops->summary);
        printf("  %-18s %-11s features: %s\n", "", "", feats);
        if (rc != 0)
            printf("  %-18s %-11s reason: %s\n", "", "", why);
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "list") == 0)
        return cmd_list();
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "muxbench: unknown command '%s'; valid commands: list, help\n", argv[1]);
    return EXIT_USAGE;
}
