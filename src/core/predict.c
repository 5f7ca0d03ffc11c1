/* Eval-mode inference over a whole dataset with the validation transform:
 * backbone features and head outputs, in dataset order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scan/dist.h"
#include "scan/loader.h"
#include "scan/pipeline.h"
#include "scan/progress.h"

/* Features and head outputs are checked before anything uses them: a non-finite number here (a diverged model,
   absurd normalisation constants) would otherwise become neighbours, clusters and metrics that look valid. */
static scan_status check_finite(scan_net *net, int n, const char *label, long first_index) {
  const float *f = scan_net_features(net);
  long count = (long)n * scan_net_feature_dim(net);
  for (long i = 0; i < count; i++)
    if (!isfinite(f[i]))
      return scan_fail(SCAN_ERR_INPUT, "%s: the model's features hold %s (batch from image %ld); the model or the "
                       "normalisation (transformation_kwargs.normalize) is broken",
                       label, isnan(f[i]) ? "NaN" : "an infinite value", first_index);
  for (int h = 0; h < scan_net_num_heads(net); h++) {
    const float *o = scan_net_head_output(net, h);
    for (long i = 0; i < (long)n * scan_net_head_dim(net); i++)
      if (!isfinite(o[i]))
        return scan_fail(SCAN_ERR_INPUT, "%s: head %d's outputs hold %s (batch from image %ld)", label, h,
                         isnan(o[i]) ? "NaN" : "an infinite value", first_index);
  }
  return SCAN_OK;
}

/* subset: the dataset indices to predict, in order (NULL: all of them). */
static scan_status predict_rows(scan_pipeline *p, scan_net *net, const scan_dataset *data, const char *label,
                                const int32_t *subset, int subset_count, float *features, float **head_outputs) {
  scan_aug_config val_aug;
  SCAN_TRY(scan_pipeline_augment(p, NULL, 1, &val_aug));
  int workers = 2;
  SCAN_TRY(scan_config_get_int(p->cfg, NULL, "num_workers", &workers));
  scan_loader_config lc = {0};
  lc.data = data;
  lc.kind = SCAN_BATCH_SINGLE;
  lc.aug_a = &val_aug;
  lc.batch_size = scan_net_max_batch(net);
  lc.shuffle = 0;
  lc.drop_last = 0;
  lc.seed = p->seed;
  lc.threads = workers > 0 ? workers : 1;
  lc.subset = subset;
  lc.subset_count = subset_count;
  scan_loader *loader = NULL;
  SCAN_TRY(scan_loader_create(&loader, &lc));
  scan_status status = scan_loader_start_epoch(loader, 0);
  int dim = scan_net_feature_dim(net), heads = scan_net_num_heads(net), head_dim = scan_net_head_dim(net);
  scan_progress progress;
  scan_progress_start(&progress, label, subset ? subset_count : data->count, "img");
  long done = 0;
  const scan_batch *batch;
  while (status == SCAN_OK && (batch = scan_loader_next(loader)) != NULL) {
    status = scan_net_infer(net, batch->a, batch->n);
    if (status != SCAN_OK) break;
    status = check_finite(net, batch->n, label, (long)batch->index[0]);
    if (status != SCAN_OK) break;
    for (int i = 0; i < batch->n; i++) {
      long row = batch->index[i];
      if (features) memcpy(features + row * dim, scan_net_features(net) + (long)i * dim, sizeof(float) * (size_t)dim);
      for (int h = 0; head_outputs && h < heads; h++)
        if (head_outputs[h])
          memcpy(head_outputs[h] + row * head_dim, scan_net_head_output(net, h) + (long)i * head_dim,
                 sizeof(float) * (size_t)head_dim);
    }
    done += batch->n;
    scan_progress_update(&progress, done);
  }
  if (status == SCAN_OK) status = scan_loader_status(loader);
  scan_progress_finish(&progress);
  scan_loader_free(loader);
  return status;
}

scan_status scan_pipeline_predict(scan_pipeline *p, scan_net *net, const scan_dataset *data, const char *label,
                                  float *features, float **head_outputs) {
  return predict_rows(p, net, data, label, NULL, 0, features, head_outputs);
}

scan_status scan_pipeline_predict_sharded(scan_pipeline *p, scan_net *net, const scan_dataset *data, const char *label,
                                          float *features, float **head_outputs) {
  const int ranks = scan_dist_size(), rank = scan_dist_rank();
  if (ranks == 1) return scan_pipeline_predict(p, net, data, label, features, head_outputs);
  /* whole batches per rank: rows [first[r], first[r + 1]) */
  const long n = data->count, batch = scan_net_max_batch(net), batches = (n + batch - 1) / batch;
  long *first = scan_malloc(sizeof(long) * 2 * ((size_t)ranks + 1));
  if (!first) return SCAN_ERR_INTERNAL;
  long *counts = first + ranks + 1;
  for (int r = 0; r < ranks; r++) {
    long b0, nb;
    scan_dist_share(batches, r, ranks, &b0, &nb);
    first[r] = b0 * batch < n ? b0 * batch : n;
  }
  first[ranks] = n;
  long mine = first[rank + 1] - first[rank];
  int32_t *subset = mine > 0 ? scan_malloc(sizeof(int32_t) * (size_t)mine) : NULL;
  scan_status status = mine > 0 && !subset ? SCAN_ERR_INTERNAL : SCAN_OK;
  for (long i = 0; subset && i < mine; i++) subset[i] = (int32_t)(first[rank] + i);
  if (status == SCAN_OK && mine > 0)
    status = predict_rows(p, net, data, label, subset, (int)mine, features, head_outputs);
  free(subset);
  if (scan_dist_any(status != SCAN_OK)) {
    free(first);
    return status != SCAN_OK ? status : scan_fail(SCAN_ERR_INTERNAL, "%s: another rank failed (its message is above)", label);
  }
  /* each output's rows, all-gathered in place */
  const int heads = scan_net_num_heads(net);
  for (int o = -1; o < heads; o++) {
    float *data_out = o < 0 ? features : head_outputs ? head_outputs[o] : NULL;
    /* the same test on every rank: whether an output is wanted does not depend on the rank */
    if (!data_out) continue;
    long width = o < 0 ? scan_net_feature_dim(net) : scan_net_head_dim(net);
    for (int r = 0; r < ranks; r++) counts[r] = (first[r + 1] - first[r]) * width;
    scan_dist_all_gather_floats_in_place(data_out, counts);
  }
  free(first);
  return SCAN_OK;
}
