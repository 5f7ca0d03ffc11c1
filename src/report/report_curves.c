#include "report_curves.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "report_json.h"
#include "scan/atomic_file.h"
#include "scan/viz_chart.h"

/* Two curves side by side fit the report's width. */
enum { CURVE_WIDTH = 560, CURVE_HEIGHT = 340 };

typedef struct {
  const char *log;     /* stage log, relative to the run */
  const char *key;     /* value per epoch */
  int nested_best;     /* read the value from the entry of the epoch's best head */
  double scale;        /* 100 turns a fraction into a percentage */
  int percent;         /* a percentage: drawn on a 0..100 axis; negative values mean "not measured" */
  const char *out;     /* chart, relative to the run */
  const char *title, *ylabel;
} curve_spec;

static const curve_spec curves[] = {
    {"pretext/log.jsonl", "loss", 0, 1, 0, "report/pretext_loss.png", "SimCLR training loss", "loss"},
    {"pretext/log.jsonl", "knn_accuracy", 0, 1, 1, "report/pretext_knn.png", "Weighted kNN accuracy (val)", "%"},
    {"cluster/log.jsonl", "loss", 1, 1, 0, "report/cluster_loss.png", "SCAN validation loss, best head", "loss"},
    {"cluster/log.jsonl", "acc", 1, 100, 1, "report/cluster_acc.png", "SCAN ACC, best head (val)", "%"},
    {"selflabel/log.jsonl", "val_loss", 0, 1, 0, "report/selflabel_loss.png", "Self-labelling: SCAN validation loss",
     "loss"},
    {"selflabel/log.jsonl", "acc", 0, 100, 1, "report/selflabel_acc.png", "Self-labelling ACC (val)", "%"},
};

/* One chart of spec->key per epoch. Without any value (no log, or a label-free run) no chart is drawn, and a
   chart left from an earlier run is removed so the report never shows a stale curve. */
static scan_status draw_curve(scan_pipeline *p, const curve_spec *spec) {
  char path[SCAN_PATH_MAX];
  cJSON *log = NULL;
  SCAN_TRY(scan_pipeline_path(p, path, sizeof path, spec->log));
  SCAN_TRY(report_read_jsonl(path, &log));
  int n = log ? cJSON_GetArraySize(log) : 0, used = 0;
  double *x = scan_calloc((size_t)n + 1, sizeof(double)), *y = scan_calloc((size_t)n + 1, sizeof(double));
  scan_status status = x && y ? SCAN_OK : scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  const cJSON *line;
  if (status == SCAN_OK && log) cJSON_ArrayForEach(line, log) {
    const cJSON *source = line;
    if (spec->nested_best) {
      int best = (int)report_number(line, "best_head", 0);
      source = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(line, "heads"), best);
    }
    double value = report_number(source, spec->key, NAN);
    if (!isfinite(value) || (spec->percent && value < 0)) continue;
    x[used] = report_number(line, "epoch", used + 1);
    y[used] = value * spec->scale;
    used++;
  }
  if (status == SCAN_OK) status = scan_pipeline_path(p, path, sizeof path, spec->out);
  if (status == SCAN_OK && used > 0) {
    const double *series[1] = {y};
    scan_chart_frame frame = {spec->title, "epoch", spec->ylabel, CURVE_WIDTH, CURVE_HEIGHT};
    status = scan_chart_line_range(path, &frame, 0, spec->percent ? 100 : 0, x, used, series, NULL, 1);
  } else if (status == SCAN_OK) {
    remove(path);
  }
  free(x);
  free(y);
  cJSON_Delete(log);
  return status;
}

scan_status report_write_curves(scan_pipeline *p) {
  char dir[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, dir, sizeof dir, "report"));
  SCAN_TRY(scan_make_dirs(dir));
  for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++) SCAN_TRY(draw_curve(p, &curves[i]));
  return SCAN_OK;
}
