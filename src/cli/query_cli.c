#include "query_cli.h"

#include <stdio.h>

#include "scan/atomic_file.h"
#include "scan/query.h"

int query_open(stage_options *o, scan_config **cfg, scan_pipeline *p) {
  static char run_config[SCAN_PATH_MAX];
  if (!o->config_path && o->out) {
    scan_status status = scan_path_join(run_config, sizeof run_config, o->out, "config.yml");
    if (status != SCAN_OK) return cli_report_error(status);
    if (scan_file_exists(run_config)) o->config_path = run_config;
  }
  return stage_open(o, cfg, p);
}

int query_counts(const char *text, int *counts, int *num) {
  if (!text) {
    *num = scan_query_default_counts(counts, SCAN_QUERY_MAX_COUNTS);
    return 0;
  }
  return cli_report_error(scan_query_parse_counts(text, counts, SCAN_QUERY_MAX_COUNTS, num));
}
