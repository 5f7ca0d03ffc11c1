/* scan bench [NAME...] [--json] [--repeats N]: prints the benchmark table. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "scan/bench.h"
#include "scan/context.h"
#include "scan/cpu_isa.h"
#include "scan/nn.h"
#include "scan/nn_bench.h"
#include "stage_common.h"

int cmd_bench(int argc, char **argv) {
  int json = 0, repeats = 0, threads = 0;
  const char *conv = "rule";
  arg_list names = {0};
  const arg_option options[] = {{"--json", ARG_BOOL, &json, "print one JSON array instead of a table"},
                                {"--repeats", ARG_INDEX, &repeats, "timed repetitions per case (default: per case)"},
                                {"--threads", ARG_INDEX, &threads, "compute threads (default: all cores)"},
                                {"--conv-algorithm", ARG_STRING, &conv,
                                 "rule (default) or measure: the training and inference cases' convolution algorithms, "
                                 "as the conv_algorithm key chooses them (measure: one line per layer on stderr)"},
                                {NULL, 0, NULL, NULL}};
  char description[2048];
  int used = snprintf(description, sizeof description, "Runs the named benchmark cases (all when none is named):");
  for (const char *const *n = scan_bench_case_names(); *n && used < (int)sizeof description; n++)
    used += snprintf(description + used, sizeof description - (size_t)used, "\n  %s", *n);
  int rc = args_parse(argc, argv, options, &names, "scan bench [NAME...] [--json] [--repeats N]", description);
  if (rc) return rc < 0 ? 0 : rc;
  if (repeats < 0 || repeats > 64 || threads < 0) {
    fprintf(stderr, "scan bench: --repeats must be 0..64 and --threads >= 0\n");
    return 2;
  }
  if (strcmp(conv, "rule") != 0 && strcmp(conv, "measure") != 0) {
    fprintf(stderr, "scan bench: --conv-algorithm must be rule or measure, not '%s'\n", conv);
    return 2;
  }
  scan_bench_set_conv_measure(strcmp(conv, "measure") == 0);
  for (int i = 0; i < names.count; i++)
    if (!scan_bench_case_exists(names.items[i])) {
      fprintf(stderr, "scan bench: unknown case '%s' (see 'scan bench --help')\n", names.items[i]);
      return 2;
    }
  scan_context *ctx = scan_context_default(); /* opened by main */
  scan_context_set_threads(ctx, threads);
  const char *const *all = scan_bench_case_names();
  int count = names.count;
  const char *const *list = names.count ? names.items : all;
  if (!names.count)
    while (all[count]) count++;
  /* which kernels run: on stdout above the table, on stderr beside JSON (whose readers expect one array) */
  char kernels[1024];
  scan_isa_describe(ctx, kernels, sizeof kernels);
  fprintf(json ? stderr : stdout, "%s\n", kernels);
  if (json) printf("[");
  else printf("%-24s %12s %12s %12s %4s %s\n", "case", "min", "median", "max", "n", "unit");
  for (int i = 0; i < count; i++) {
    scan_bench_result r;
    scan_status status = scan_bench_run(list[i], repeats, &r);
    if (status != SCAN_OK) {
      if (json) printf("]\n");
      return cli_report_error(status);
    }
    if (json)
      printf("%s{\"name\": \"%s\", \"unit\": \"%s\", \"min\": %.6g, \"median\": %.6g, \"max\": %.6g, \"n\": %d}", i ? ", " : "",
             r.name, r.unit, r.min, r.median, r.max, r.n);
    else
      printf("%-24s %12.4g %12.4g %12.4g %4d %s\n", r.name, r.min, r.median, r.max, r.n, r.unit);
    fflush(stdout);
  }
  if (json) printf("]\n");
  return 0;
}
