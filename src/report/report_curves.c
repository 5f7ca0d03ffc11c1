#include "report_curves.h"

#include <stdlib.h>

#include "report_json.h"
#include "scan/atomic_file.h"
#include "scan/viz_chart.h"

/* One chart of `key` per epoch from a log; `nested_best` reads the value from the best head's entry. */
static scan_status curve(scan_pipeline *p, const char *log_rel, const char *key, int nested_best, double scale,
                         const char *out_rel, const char *title, const char *ylabel) {
  char path[1300];
  cJSON *log = report_read_jsonl(scan_pipeline_path(p, path, sizeof path, log_rel));
  if (!log) return SCAN_OK;
  int n = cJSON_GetArraySize(log), used = 0;
  double *x = calloc((size_t)n + 1, sizeof(double)), *y = calloc((size_t)n + 1, sizeof(double));
  scan_status status = x && y ? SCAN_OK : scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  const cJSON *line;
  cJSON_ArrayForEach(line, log) {
    if (status != SCAN_OK) break;
    const cJSON *source = line;
    if (nested_best) {
      int best = (int)report_number(line, "best_head", 0);
      source = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(line, "heads"), best);
    }
    double value = report_number(source, key, -1e300);
    if (value <= -1e299) continue;
    x[used] = report_number(line, "epoch", used + 1);
    y[used] = value * scale;
    used++;
  }
  if (status == SCAN_OK && used > 0) {
    const double *series[1] = {y};
    scan_chart_frame frame = {title, "epoch", ylabel, 0, 0};
    status = scan_chart_line(scan_pipeline_path(p, path, sizeof path, out_rel), &frame, x, used, series, NULL, 1);
  }
  free(x);
  free(y);
  cJSON_Delete(log);
  return status;
}

scan_status report_write_curves(scan_pipeline *p) {
  char dir[1300];
  SCAN_TRY(scan_make_dirs(scan_pipeline_path(p, dir, sizeof dir, "report")));
  SCAN_TRY(curve(p, "pretext/log.jsonl", "loss", 0, 1, "report/pretext_loss.png", "SimCLR loss", "loss"));
  SCAN_TRY(curve(p, "pretext/log.jsonl", "knn_accuracy", 0, 1, "report/pretext_knn.png", "Weighted kNN accuracy (val)", "%"));
  SCAN_TRY(curve(p, "scan/log.jsonl", "loss", 1, 1, "report/scan_loss.png", "SCAN validation loss, best head", "loss"));
  SCAN_TRY(curve(p, "scan/log.jsonl", "acc", 1, 100, "report/scan_acc.png", "SCAN ACC, best head (val)", "%"));
  return curve(p, "selflabel/log.jsonl", "acc", 0, 100, "report/selflabel_acc.png", "Self-labelling ACC (val)", "%");
}
