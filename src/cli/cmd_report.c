/* scan report: (re)writes report.html of a run from the files its stages wrote. */
#include <stdio.h>

#include "scan/report.h"
#include "stage_common.h"

int cmd_report(int argc, char **argv) {
  stage_options o;
  stage_options_init(&o);
  const arg_option options[] = {STAGE_OPTIONS(o), {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL, "scan report [--out RUN]",
                      "Writes RUN/report.html: data and config summary, training time and curves, metrics per head\n"
                      "beside the k-means baseline, confusion matrix, cluster sizes, and per cluster its prototype with\n"
                      "Grad-CAM and LIME and a contact sheet of members. Open it in a browser; it works offline.");
  if (rc) return rc < 0 ? 0 : rc;
  scan_config *cfg;
  scan_pipeline p;
  rc = stage_open(&o, &cfg, &p);
  if (rc) return rc;
  char path[1300];
  rc = cli_report_error(scan_report_write(&p, path, sizeof path));
  if (rc == 0) printf("report: %s\n", path);
  stage_close(cfg, &p);
  return rc;
}
