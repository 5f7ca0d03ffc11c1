/* Explanations of a query's cluster prototypes with the clustering model itself
 * (Grad-CAM on its last backbone stage, LIME on its softmax; spec §18.10), instead
 * of the originals' ImageNet Xception (§14.2, §15.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/model_load.h"
#include "scan/query.h"

scan_status scan_query_explainer_open(scan_query_explainer *x, scan_pipeline *p, const char *model_path) {
  memset(x, 0, sizeof *x);
  SCAN_TRY(scan_explainer_open(&x->explainer, p));
  if (!model_path) return SCAN_OK;
  /* The explainer's network is a one-head clustering net of this config: load the chosen file into it. */
  int head = 0;
  scan_status status = scan_load_cluster_head(x->explainer.net, model_path, &head);
  if (status == SCAN_OK)
    status = scan_path_format(x->explainer.model_source, sizeof x->explainer.model_source, "%s (head %d)", model_path,
                              head);
  if (status != SCAN_OK) scan_explainer_close(&x->explainer);
  return status;
}

scan_status scan_query_explain_prototype(void *ctx, scan_pipeline *p, int64_t index, int cluster, const char *dir) {
  scan_query_explainer *x = ctx;
  const scan_dataset *val;
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  if (x->count == x->capacity) {
    int capacity = x->capacity ? 2 * x->capacity : 16;
    scan_explanation *items = scan_realloc(x->items, sizeof *items * (size_t)capacity);
    if (!items) return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
    x->items = items;
    x->capacity = capacity;
  }
  const scan_explainer *e = &x->explainer;
  uint8_t *view = scan_malloc((size_t)e->side * e->side * e->channels);
  if (!view) return SCAN_ERR_INTERNAL;
  char prefix[32];
  snprintf(prefix, sizeof prefix, "prototype_%02d", cluster);
  scan_explanation *item = &x->items[x->count];
  memset(item, 0, sizeof *item);
  scan_status status = scan_explainer_view_of(e, val, (long)index, view);
  if (status == SCAN_OK) status = scan_explain_image(&x->explainer, view, cluster, SCAN_EXPLAIN_BOTH, dir, prefix, item);
  if (status == SCAN_OK) {
    item->index = (long)index;
    x->count++;
  } else {
    scan_explanation_free(item);
  }
  free(view);
  return status;
}

scan_status scan_query_explainer_finish(scan_query_explainer *x, const char *dir) {
  char path[SCAN_PATH_MAX];
  SCAN_TRY(scan_path_join(path, sizeof path, dir, "explanations.json"));
  return scan_explanations_write_json(path, x->explainer.model_source, 0, x->items, x->count);
}

void scan_query_explainer_close(scan_query_explainer *x) {
  for (int i = 0; i < x->count; i++) scan_explanation_free(&x->items[i]);
  free(x->items);
  scan_explainer_close(&x->explainer);
  memset(x, 0, sizeof *x);
}
