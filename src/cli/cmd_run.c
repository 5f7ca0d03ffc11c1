/* scan run: the whole pipeline in one command (the README's main job). */
#include <stdio.h>

#include "scan/stages.h"
#include "scan/report.h"
#include "stage_common.h"

/* Every stage, then the report, then a summary a person reads first. */
static scan_status run_everything(scan_pipeline *p) {
  char report[SCAN_PATH_MAX];
  SCAN_TRY(scan_run_all(p, NULL));
  SCAN_TRY(scan_report_write(p, report, sizeof report));
  scan_run_summary(p, stdout);
  printf("Report: %s (open it in a browser)\n", report);
  return SCAN_OK;
}

int cmd_run(int argc, char **argv) {
  return stage_command_main(argc, argv, run_everything, "run", "scan run [--config FILE] [--set K=V] [--out DIR]",
                            "Runs every stage in order (pretext, mine, cluster, selflabel, eval, explain) in one run\n"
                            "directory and writes report.html. Finished stages with the same config are skipped; an\n"
                            "interrupted stage resumes from its checkpoint, so killing the run loses at most one epoch.\n"
                            "With no options: the quick Fashion-MNIST pipeline into runs/fashion-mnist.");
}
