/* Eval-mode inference over a whole dataset with the validation transform:
 * backbone features and head outputs, in dataset order. */
#include <math.h>
#include <string.h>

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

scan_status scan_pipeline_predict(scan_pipeline *p, scan_net *net, const scan_dataset *data, const char *label,
                                  float *features, float **head_outputs) {
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
  scan_loader *loader = NULL;
  SCAN_TRY(scan_loader_create(&loader, &lc));
  scan_status status = scan_loader_start_epoch(loader, 0);
  int dim = scan_net_feature_dim(net), heads = scan_net_num_heads(net), head_dim = scan_net_head_dim(net);
  scan_progress progress;
  scan_progress_start(&progress, label, data->count, "img");
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
