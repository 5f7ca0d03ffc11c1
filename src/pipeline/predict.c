/* Eval-mode inference over a whole dataset with the validation transform:
 * backbone features and head outputs, in dataset order. */
#include <string.h>

#include "scan/loader.h"
#include "scan/pipeline.h"
#include "scan/progress.h"

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
  lc.prefetch = 2;
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
  scan_progress_finish(&progress);
  scan_loader_free(loader);
  return status;
}
