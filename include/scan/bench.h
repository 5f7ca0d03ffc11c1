/* `scan bench`: the benchmark cases named in design.md, each reported as
 * min / median / max over repeats in its unit (img/s, s or MiB). */
#ifndef SCAN_BENCH_H
#define SCAN_BENCH_H

#include "scan/error.h"

typedef struct {
  const char *name;
  const char *unit; /* "img/s", "s" or "MiB" */
  double min, median, max;
  int n;
} scan_bench_result;

/* NULL-terminated list of every case name, in the order they run. */
const char *const *scan_bench_case_names(void);
int scan_bench_case_exists(const char *name);
/* Runs one case with `repeats` timed repetitions (0 = the case's default). */
scan_status scan_bench_run(const char *name, int repeats, scan_bench_result *out);

#endif
