/* compare_cmd.h - `muxbench compare BASE.csv NEW.csv [...]` (docs/compare.md). */
#ifndef MUX_COMPARE_CMD_H
#define MUX_COMPARE_CMD_H

/* argv[1] is "compare". Replaces the process with the Python comparison; returns only when
 * that cannot start, with exit status 3 and the reason printed. */
int cmd_compare(int argc, char **argv);

#endif
