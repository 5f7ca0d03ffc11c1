/* Eval-mode features of a trained model over a dataset, for `scan features` (issue 11). */
#include <stdlib.h>
#include <string.h>

#include "scan/curate_features.h"
#include "scan/knn.h"
#include "scan/safetensors.h"

/* 1 when the file holds a contrastive head (a pretext model), 0 when it holds cluster heads. */
static scan_status is_pretext_model(const char *path, int *pretext) {
  scan_safetensors *file = NULL;
  SCAN_TRY(scan_safetensors_read(path, &file));
  int contrastive = 0, cluster = 0;
  for (int i = 0; i < scan_safetensors_count(file); i++) {
    const char *name = scan_safetensors_get(file, i)->name;
    contrastive |= strncmp(name, "contrastive_head.", 17) == 0;
    cluster |= strncmp(name, "cluster_head.", 13) == 0;
  }
  scan_safetensors_free(file);
  if (contrastive == cluster)
    return scan_fail(SCAN_ERR_INPUT, "%s: not a scan model (expected contrastive_head.* or cluster_head.* tensors)", path);
  *pretext = contrastive;
  return SCAN_OK;
}

/* Images per forward pass: large enough to keep the backend busy, small enough for big images. */
enum { FEATURE_BATCH = 256 };

scan_status scan_pipeline_features(scan_pipeline *p, const char *model_path, scan_features_kind kind, float **features,
                                   int *dim, const char **source) {
  *features = NULL;
  const scan_dataset *data;
  SCAN_TRY(scan_pipeline_train_data(p, &data));
  int pretext = 0;
  SCAN_TRY(is_pretext_model(model_path, &pretext));
  int use_head = pretext && kind == SCAN_FEATURES_AUTO;
  scan_net *net = NULL;
  /* A cluster model's heads are not needed for backbone features: a one-head net loads its backbone whatever
   * the number of heads the file holds. */
  SCAN_TRY(scan_pipeline_create_net(p, pretext ? "pretext" : "selflabel", FEATURE_BATCH, &net));
  scan_status status = scan_net_load(net, model_path, pretext ? NULL : "cluster_head.");
  if (status != SCAN_OK) scan_fail_context(status, "features: the model does not match the configuration (give the run's config.yml with --config)");
  *dim = use_head ? scan_net_head_dim(net) : scan_net_feature_dim(net);
  float *rows = NULL;
  if (status == SCAN_OK) {
    rows = scan_malloc(sizeof(float) * (size_t)data->count * (size_t)*dim);
    if (!rows) status = SCAN_ERR_INTERNAL;
  }
  if (status == SCAN_OK) {
    float *head_outputs[1] = {rows};
    status = scan_pipeline_predict(p, net, data, "features", use_head ? NULL : rows, use_head ? head_outputs : NULL);
  }
  scan_net_free(net);
  if (status != SCAN_OK) {
    free(rows);
    return status;
  }
  scan_l2_normalize_rows(rows, data->count, *dim);
  *features = rows;
  *source = use_head ? "contrastive head" : "backbone";
  return SCAN_OK;
}
