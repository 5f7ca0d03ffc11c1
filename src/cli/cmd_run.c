/* scan run: the whole pipeline in one command (the README's main job). */
#include <stdio.h>

#include "scan/report.h"
#include "stage_common.h"

int cmd_run(int argc, char **argv) {
  stage_options o;
  stage_options_init(&o);
  const arg_option options[] = {STAGE_OPTIONS(o), {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL, "scan run [--config FILE] [--set K=V] [--out DIR]",
                      "Runs every stage in order (pretext, mine, cluster, selflabel, ...) in one run directory.\n"
                      "Finished stages with the same config are skipped; an interrupted stage resumes from its\n"
                      "checkpoint. With no options: the quick Fashion-MNIST pipeline into runs/fashion-mnist.");
  if (rc) return rc < 0 ? 0 : rc;
  scan_config *cfg;
  scan_pipeline p;
  rc = stage_open(&o, &cfg, &p);
  if (rc) return rc;
  double seconds[16] = {0};
  char report[1300];
  scan_status status = scan_run_all(&p, seconds);
  if (status == SCAN_OK) status = scan_report_write(&p, report, sizeof report);
  rc = cli_report_error(status);
  if (rc == 0) printf("scan run: done. Report: %s\n", report);
  stage_close(cfg, &p);
  return rc;
}
