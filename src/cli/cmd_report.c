/* scan report: (re)writes report.html of a run from the files its stages wrote. */
#include <stdio.h>

#include "scan/report.h"
#include "stage_common.h"

static scan_status write_report(scan_pipeline *p) {
  char path[SCAN_PATH_MAX];
  SCAN_TRY(scan_report_write(p, path, sizeof path));
  printf("report: %s\n", path);
  return SCAN_OK;
}

int cmd_report(int argc, char **argv) {
  return stage_command_main_on_run(argc, argv, write_report, "scan report [--out RUN]",
                            "Writes RUN/report.html: data and config summary, training time and curves, metrics per head\n"
                            "beside the k-means baseline, confusion matrix, cluster sizes, and per cluster its prototype with\n"
                            "Grad-CAM and LIME and a contact sheet of members. Open it in a browser; it works offline.");
}
