/* The end-of-run summary: stage times, then the chosen head's metrics and the baseline. */
#include <stdio.h>
#include <stdlib.h>

#include "report_json.h"
#include "scan/stages.h"
#include "scan/report.h"

void scan_run_summary(scan_pipeline *p, FILE *out) {
  char path[SCAN_PATH_MAX], rel[128];
  fprintf(out, "\nStage times:");
  for (const char *const *name = scan_run_stage_names(); *name; name++) {
    snprintf(rel, sizeof rel, ".stamps/%s.seconds", *name);
    FILE *f = scan_pipeline_path(p, path, sizeof path, rel) == SCAN_OK ? fopen(path, "r") : NULL;
    double seconds = 0;
    if (f && fscanf(f, "%lf", &seconds) == 1) fprintf(out, " %s %.0f s,", *name, seconds);
    if (f) fclose(f);
  }
  fprintf(out, "\n");
  cJSON *metrics = NULL;
  if (scan_pipeline_path(p, path, sizeof path, "eval/metrics.json") != SCAN_OK || report_read_json(path, &metrics) != SCAN_OK) {
    fprintf(out, "%s\n", scan_error_message()); /* the report stage has already failed with this message */
    return;
  }
  if (!metrics) return;
  int chosen = (int)report_number(metrics, "chosen_head", 0);
  const cJSON *head = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(metrics, "heads"), chosen);
  if (report_number(head, "acc", -1) >= 0) {
    fprintf(out, "Clusters (head %d): ACC %.2f%%  NMI %.4f  ARI %.4f\n", chosen, 100 * report_number(head, "acc", 0),
            report_number(head, "nmi", 0), report_number(head, "ari", 0));
    const cJSON *baseline;
    cJSON_ArrayForEach(baseline, cJSON_GetObjectItemCaseSensitive(metrics, "baseline")) {
      const cJSON *name = cJSON_GetObjectItemCaseSensitive(baseline, "name");
      fprintf(out, "Baseline %s: ACC %.2f%%  NMI %.4f  ARI %.4f\n", cJSON_IsString(name) ? name->valuestring : "",
              100 * report_number(baseline, "acc", 0), report_number(baseline, "nmi", 0), report_number(baseline, "ari", 0));
    }
  } else {
    const cJSON *diag = cJSON_GetObjectItemCaseSensitive(metrics, "diagnostics");
    fprintf(out, "Clusters (head %d, no labels): entropy %.3f of %.3f, mean confidence %.3f\n", chosen,
            report_number(diag, "entropy", 0), report_number(diag, "uniform_entropy", 0),
            report_number(diag, "mean_confidence", 0));
  }
  cJSON_Delete(metrics);
}
