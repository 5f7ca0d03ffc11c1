/* scan annotate --names FILE.csv: applies names given to clusters to a run's predictions. */
#include <stdio.h>

#include "scan/stages.h"
#include "stage_common.h"

int cmd_annotate(int argc, char **argv) {
  stage_options o;
  stage_options_init(&o);
  const char *names = NULL;
  const arg_option options[] = {STAGE_OPTIONS(o),
                                {"--names", ARG_STRING, &names, "CSV of cluster names: cluster,name or the report's labels.csv"},
                                {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL, "scan annotate --names FILE.csv [--out RUN]",
                      "Names the clusters of a run: writes eval/predictions_named.csv (each prediction with its cluster's\n"
                      "name) and eval/cluster_names.json, which the report shows. The names file is what the report page's\n"
                      "'Download labels.csv' button gives, or a plain 'cluster,name' list.");
  if (rc) return rc < 0 ? 0 : rc;
  if (!names) {
    fprintf(stderr, "scan annotate: --names FILE.csv is required\n");
    return 2;
  }
  scan_config *cfg;
  scan_pipeline p;
  rc = stage_open(&o, &cfg, &p);
  if (rc) return rc;
  rc = cli_report_error(scan_annotate(&p, names));
  stage_close(cfg, &p);
  return rc;
}
