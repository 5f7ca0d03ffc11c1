/* scan eval: metrics and figures of a run's clustering model (or a given model file). */
#include <stdio.h>

#include "scan/stages.h"
#include "scan/report.h"
#include "stage_common.h"

int cmd_eval(int argc, char **argv) {
  stage_options o;
  stage_options_init(&o);
  const char *model = NULL, *baseline = NULL;
  const arg_option options[] = {STAGE_OPTIONS(o),
                                {"--model", ARG_STRING, &model, "model file (default: the run's selflabel, else scan model)"},
                                {"--baseline", ARG_STRING, &baseline, "kmeans (k-means on pixels and features) or none"},
                                {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL, "scan eval [--config FILE] [--out RUN] [--model FILE] [--baseline kmeans]",
                      "Predicts the validation split with every head of the model and reports each one (the chosen head\n"
                      "marked): Hungarian ACC (rectangular), majority ACC, NMI, ARI, AMI, top-5, cluster sizes, entropy\n"
                      "and confidence. Writes eval/metrics.json, predictions.csv, prototypes.json and PNG figures.");
  if (rc) return rc < 0 ? 0 : rc;
  scan_config *cfg;
  scan_pipeline p;
  rc = stage_open(&o, &cfg, &p);
  if (rc) return rc;
  int with_baseline = 0;
  scan_status status = SCAN_OK;
  if (baseline) {
    char assignment[64];
    snprintf(assignment, sizeof assignment, "eval.baseline=%s", baseline);
    status = scan_config_set(cfg, assignment);
  }
  const char *chosen = "none";
  if (status == SCAN_OK) status = scan_config_get_string(cfg, "eval", "baseline", &chosen);
  with_baseline = chosen[0] == 'k';
  if (status == SCAN_OK) status = scan_eval_model(&p, model, with_baseline);
  if (status == SCAN_OK) status = scan_report_write(&p, NULL, 0);
  rc = cli_report_error(status);
  stage_close(cfg, &p);
  return rc;
}
