/* What the query commands (candidates, query, charts) share: they read a finished
 * run, so without --config they use the run's own config.yml. */
#ifndef SCAN_CLI_QUERY_CLI_H
#define SCAN_CLI_QUERY_CLI_H

#include "stage_common.h"

/* stage_open, with --config defaulting to <--out>/config.yml when that file exists. */
int query_open(stage_options *o, scan_config **cfg, scan_pipeline *p);

/* The --n-list option (NULL = 50, 100, ..., 1000) into counts; prints the problem and returns 2 when bad. */
int query_counts(const char *text, int *counts, int *num);

#endif
