/* What the query commands (candidates, query, charts) share: they read a finished
 * run, so without --config they use the run's own config.yml. */
#ifndef SCAN_CLI_QUERY_CLI_H
#define SCAN_CLI_QUERY_CLI_H

#include "stage_common.h"

/* stage_open, with --config defaulting to <--out>/config.yml when that file exists.
 * Caveat: a config.yml read back marks every written default as set by the user, and the
 * pipeline picks dataset normalisation only for unset keys, so for data other than
 * Fashion-MNIST pass the run's original --config until that round trip is exact. */
int query_open(stage_options *o, scan_config **cfg, scan_pipeline *p);

/* The --n-list option (NULL = 50, 100, ..., 1000) into counts; prints the problem and returns 2 when bad. */
int query_counts(const char *text, int *counts, int *num);

#endif
