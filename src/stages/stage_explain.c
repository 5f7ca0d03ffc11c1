/* The explain stage: Grad-CAM and LIME of every cluster's prototype (the validation image eval
 * chose for it, eval/prototypes.json), on the run's own clustering model (spec §18.10), plus a
 * deletion test that says how faithful each explanation is. Writes RUN/explain/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "scan/stages.h"
#include "scan/atomic_file.h"
#include "scan/explain_model.h"
#include "scan/progress.h"

/* prototypes.json: {"head": h, "prototypes": [dataset index or -1 per cluster]}. */
static scan_status read_prototypes(const char *path, int val_count, int *head, long **indices, int *count) {
  unsigned char *text = NULL;
  size_t size = 0;
  scan_status status = scan_read_file(path, &text, &size);
  if (status != SCAN_OK) return scan_fail_context(status, "explain: the prototypes are needed (run 'scan eval' first)");
  cJSON *root = cJSON_ParseWithLength((const char *)text, size);
  free(text);
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "prototypes");
  const cJSON *head_item = cJSON_GetObjectItemCaseSensitive(root, "head");
  if (!root || !cJSON_IsArray(list)) {
    cJSON_Delete(root);
    return scan_fail(SCAN_ERR_INPUT, "%s: not a prototypes file (no \"prototypes\" list)", path);
  }
  *head = cJSON_IsNumber(head_item) ? head_item->valueint : 0;
  *count = cJSON_GetArraySize(list);
  *indices = scan_malloc(sizeof(long) * ((size_t)*count + 1));
  if (!*indices) status = scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  for (int c = 0; status == SCAN_OK && c < *count; c++) {
    const cJSON *item = cJSON_GetArrayItem(list, c);
    if (!cJSON_IsNumber(item) || item->valuedouble < -1 || item->valuedouble >= val_count ||
        item->valuedouble != (double)(long)item->valuedouble)
      status = scan_fail(SCAN_ERR_INPUT, "%s: prototype of cluster %d is not -1 or an index below %d", path, c, val_count);
    else
      (*indices)[c] = (long)item->valuedouble;
  }
  cJSON_Delete(root);
  if (status != SCAN_OK) {
    free(*indices);
    *indices = NULL;
  }
  return status;
}

scan_status scan_explain_prototypes(scan_pipeline *p, const char *model_path, int only_cluster, int methods,
                                    const char *out_dir, scan_explanation **items_out, int *count_out) {
  if (items_out) *items_out = NULL;
  if (count_out) *count_out = 0;
  const double start = scan_now_seconds();
  const scan_dataset *val;
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  char path[SCAN_PATH_MAX], dir[SCAN_PATH_MAX];
  int head = 0, count = 0;
  long *prototypes = NULL;
  SCAN_TRY(scan_pipeline_path(p, path, sizeof path, "eval/prototypes.json"));
  SCAN_TRY(read_prototypes(path, val->count, &head, &prototypes, &count));
  scan_explainer e;
  scan_status status = scan_explain_output_dir(p, out_dir, dir, sizeof dir);
  if (status == SCAN_OK) status = scan_explainer_open_model(&e, p, model_path);
  if (status != SCAN_OK) {
    free(prototypes);
    return status;
  }
  if (count != e.clusters)
    status = scan_fail(SCAN_ERR_INPUT, "%s: %d prototypes but the model has %d clusters (rerun 'scan eval')", path, count,
                       e.clusters);
  if (status == SCAN_OK && only_cluster >= count)
    status = scan_fail(SCAN_ERR_INPUT, "explain: cluster %d does not exist (the model has %d clusters)", only_cluster, count);
  scan_explanation *items = scan_calloc((size_t)count + 1, sizeof *items);
  uint8_t *view = scan_malloc((size_t)e.side * e.side * e.channels);
  if (status == SCAN_OK && (!items || !view)) status = scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  int done = 0;
  scan_progress progress;
  scan_progress_start(&progress, "explain: prototypes", only_cluster >= 0 ? 1 : count, "img");
  for (int c = 0; status == SCAN_OK && c < count; c++) {
    if (only_cluster >= 0 && c != only_cluster) continue;
    scan_explanation *r = &items[done++];
    if (prototypes[c] < 0) { /* an empty cluster has no prototype */
      r->index = -1;
      r->cluster = r->assigned = c;
      continue;
    }
    char prefix[32];
    snprintf(prefix, sizeof prefix, "cluster_%02d", c);
    status = scan_explainer_view_of(&e, val, (long)prototypes[c], view);
    if (status == SCAN_OK) status = scan_explain_image(&e, view, c, methods, dir, prefix, r);
    r->index = prototypes[c];
    if (status != SCAN_OK) scan_fail_context(status, "explain: prototype of cluster %d (val image %ld)", c, prototypes[c]);
    scan_progress_update(&progress, done);
  }
  scan_progress_finish(&progress);
  if (status == SCAN_OK) {
    status = scan_path_join(path, sizeof path, dir, "explanations.json");
    if (status == SCAN_OK) status = scan_explanations_write_json(path, e.model_source, head, items, done);
  }
  /* The run's own explain stage (every prototype into RUN/explain) records its wall time for the report. */
  if (status == SCAN_OK && !out_dir && only_cluster < 0)
    status = scan_pipeline_write_timing(p, "explain/timing.json", scan_now_seconds() - start, done);
  if (status == SCAN_OK && items_out) {
    *items_out = items;
    *count_out = done;
    items = NULL;
  }
  for (int i = 0; items && i < done; i++) scan_explanation_free(&items[i]);
  free(items);
  free(view);
  free(prototypes);
  scan_explainer_close(&e);
  return status;
}

scan_status scan_stage_explain(scan_pipeline *p) {
  return scan_explain_prototypes(p, NULL, -1, SCAN_EXPLAIN_BOTH, NULL, NULL, NULL);
}
