/* Stage 1: SimCLR pretext training (spec §6). Two augmented views per image go
 * through the network as one batch of 2n; the NT-Xent loss pulls each pair
 * together. Every epoch ends with a checkpoint and a JSON log line, and, when
 * labels exist, the weighted-kNN monitor accuracy on the validation set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/stages.h"
#include "scan/atomic_file.h"
#include "scan/dist.h"
#include "scan/knn.h"
#include "scan/loader.h"
#include "scan/losses.h"
#include "scan/progress.h"
#include "scan/trainer.h"
#include "scan/training.h"

/* The weighted-kNN monitor uses at most this many training images as its memory bank, so that
   monitoring costs a small fraction of an epoch (the reference uses the whole train set). */
enum { MONITOR_BANK_MAX = 10000, MONITOR_K = 100 };

static scan_status knn_monitor(scan_pipeline *p, scan_net *net, double temperature, double *accuracy) {
  const scan_dataset *train, *val;
  SCAN_TRY(scan_pipeline_train_data(p, &train));
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  *accuracy = -1;
  if (!train->labels || !val->labels) return SCAN_OK;
  int dim = scan_net_head_dim(net);
  scan_dataset bank_view = *train;
  if (bank_view.count > MONITOR_BANK_MAX) bank_view.count = MONITOR_BANK_MAX;
  float *bank = scan_malloc(sizeof(float) * (size_t)bank_view.count * (size_t)dim);
  float *queries = scan_malloc(sizeof(float) * (size_t)val->count * (size_t)dim);
  scan_status status = bank && queries ? SCAN_OK : SCAN_ERR_INTERNAL;
  float *bank_out[1] = {bank}, *query_out[1] = {queries};
  if (status == SCAN_OK) status = scan_pipeline_predict_sharded(p, net, &bank_view, "knn monitor bank", NULL, bank_out);
  if (status == SCAN_OK) status = scan_pipeline_predict_sharded(p, net, val, "knn monitor val", NULL, query_out);
  if (status == SCAN_OK)
    status = scan_weighted_knn_accuracy(bank, bank_view.labels, bank_view.count, queries, val->labels, val->count, dim,
                                        MONITOR_K, temperature, train->num_classes, accuracy);
  free(bank);
  free(queries);
  return status;
}

typedef struct {
  scan_pipeline *p;
  scan_net *net;
  const scan_pretext_settings *cfg;
  size_t image_floats;
  scan_optimizer *opt;
  float *input, *d_z; /* [2n, C, H, W] both views; [2n, dim] the loss's gradient */
  float *all_z, *all_d; /* data-parallel: [2 x batch, dim] every rank's embeddings (views 1 then 2), their gradient */
} pretext_run;

/* Data-parallel NT-Xent over the global batch: every rank's embeddings of both views are all-gathered (in rank order,
   which is the global batch's order: each rank holds a contiguous part of it), every rank computes the loss of the
   whole global batch with every negative in it, and keeps the gradient rows of its own samples. Those rows are scaled
   by the rank count R: the scaffold averages the parameter gradients over ranks, and
   (1/R) * sum_r J_r^T (R * g_r) = sum_r J_r^T g_r = J^T g, the one-process gradient of the global batch. */
static double simclr_global(pretext_run *r, const float *z, int n, int global_n) {
  const int dim = scan_net_head_dim(r->net), ranks = scan_dist_size(), rank = scan_dist_rank();
  long counts[ranks], first = 0, count = 0;
  for (int k = 0; k < ranks; k++) {
    long unused;
    scan_dist_share(global_n, k, ranks, &unused, &count);
    counts[k] = count * dim;
  }
  scan_dist_share(global_n, rank, ranks, &first, &count);
  float *z1 = r->all_z, *z2 = r->all_z + (size_t)global_n * dim;
  scan_dist_gather_floats(z, z1, counts);
  scan_dist_gather_floats(z + (size_t)n * dim, z2, counts);
  float *d1 = r->all_d, *d2 = r->all_d + (size_t)global_n * dim;
  double loss = scan_loss_simclr(z1, z2, global_n, dim, r->cfg->temperature, r->cfg->symmetric, d1, d2);
  for (size_t k = 0; k < (size_t)n * dim; k++) {
    r->d_z[k] = (float)ranks * d1[(size_t)first * dim + k];
    r->d_z[(size_t)n * dim + k] = (float)ranks * d2[(size_t)first * dim + k];
  }
  return loss;
}

static scan_status pretext_step(void *ctx, const scan_batch *batch, int epoch, long step, scan_step_result *out) {
  pretext_run *r = ctx;
  const int n = batch->n, dim = scan_net_head_dim(r->net);
  /* Views 1 and 2 as one batch of 2n: batch-norm sees both, as in the reference's interleaved batch. */
  memcpy(r->input, batch->a, sizeof(float) * r->image_floats * (size_t)n);
  memcpy(r->input + r->image_floats * (size_t)n, batch->b, sizeof(float) * r->image_floats * (size_t)n);
  SCAN_TRY(scan_net_forward(r->net, r->input, 2 * n, 1));
  const float *z = scan_net_head_output(r->net, 0);
  if (scan_dist_size() > 1)
    out->loss = simclr_global(r, z, n, batch->global_n);
  else
    out->loss = scan_loss_simclr(z, z + (size_t)n * dim, n, dim, r->cfg->temperature, r->cfg->symmetric, r->d_z,
                                 r->d_z + (size_t)n * dim);
  if (!isfinite(out->loss)) return SCAN_OK; /* the scaffold stops with its message, before any update */
  scan_net_zero_grad(r->net);
  const float *d_heads[1] = {r->d_z};
  return scan_net_backward(r->net, d_heads, NULL); /* the scaffold steps the optimiser */
}

/* The weighted-kNN monitor accuracy into the log line (null without labels). */
static scan_status pretext_end_epoch(void *ctx, int epoch, const scan_epoch_stats *stats, scan_epoch_end *end) {
  pretext_run *r = ctx;
  double knn_accuracy = -1;
  SCAN_TRY(knn_monitor(r->p, r->net, r->cfg->temperature, &knn_accuracy));
  char knn_text[32];
  if (knn_accuracy >= 0) snprintf(knn_text, sizeof knn_text, "%.3f", knn_accuracy);
  else snprintf(knn_text, sizeof knn_text, "null");
  end->log_fields = scan_malloc(64);
  if (!end->log_fields) return SCAN_ERR_INTERNAL;
  snprintf(end->log_fields, 64, "\"knn_accuracy\": %s", knn_text);
  if (knn_accuracy >= 0 && scan_dist_is_root())
    fprintf(stderr, "pretext epoch %d: loss %.4f, weighted kNN accuracy %.2f%%\n", epoch + 1, scan_epoch_mean_loss(stats),
            knn_accuracy);
  return SCAN_OK;
}

scan_status scan_stage_pretext(scan_pipeline *p) {
  const char *stage = "pretext";
  const scan_pretext_settings *cfg = &p->settings.pretext;
  const scan_train_settings *train_cfg = &cfg->train;
  const scan_dataset *train;
  SCAN_TRY(scan_pipeline_train_data(p, &train));
  SCAN_TRY(scan_pipeline_check_data(p, stage)); /* the ranges were validated when the configuration was opened */

  char dir[SCAN_PATH_MAX], model_path[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, dir, sizeof dir, "pretext"));
  SCAN_TRY(scan_make_dirs(dir));
  SCAN_TRY(scan_path_join(model_path, sizeof model_path, dir, "model.safetensors"));

  pretext_run r = {.p = p, .cfg = cfg};
  scan_optimizer *opt = NULL;
  scan_aug_config aug;
  int start_epoch = 0;
  const int batch_size = train_cfg->batch_size;
  scan_trainer t = {.p = p, .stage = stage, .settings = train_cfg, .total_epochs = train_cfg->epochs, .ctx = &r,
                    .step = pretext_step, .end_epoch = pretext_end_epoch};
  scan_status status = scan_pipeline_augment(p, stage, 0, &aug);
  if (status == SCAN_OK) status = scan_pipeline_create_net(p, stage, 2 * batch_size, &r.net);
  /* One parameter group's rate for the whole net: the contrastive head trains with the backbone. */
  if (status == SCAN_OK) status = scan_optim_create(&opt, r.net, &train_cfg->backbone, NULL, 0);
  t.net = r.net;
  t.opt = r.opt = opt;
  if (status == SCAN_OK) status = scan_trainer_resume(&t, &start_epoch);
  if (status != SCAN_OK) goto done;

  int dim = scan_net_head_dim(r.net);
  r.image_floats = (size_t)aug.channels * (size_t)aug.out_size * (size_t)aug.out_size;
  r.input = scan_malloc(sizeof(float) * r.image_floats * 2 * (size_t)batch_size);
  r.d_z = scan_malloc(sizeof(float) * (size_t)dim * 2 * (size_t)batch_size);
  if (scan_dist_size() > 1) {
    r.all_z = scan_malloc(sizeof(float) * (size_t)dim * 2 * (size_t)batch_size);
    r.all_d = scan_malloc(sizeof(float) * (size_t)dim * 2 * (size_t)batch_size);
    if (!r.all_z || !r.all_d) { status = SCAN_ERR_INTERNAL; goto done; }
  }
  if (!r.input || !r.d_z) { status = SCAN_ERR_INTERNAL; goto done; }
  scan_loader_config lc = training_loader_config(p, train, SCAN_BATCH_TWO_VIEWS, &aug, NULL, batch_size, train_cfg->workers);
  scan_train_phase phase = {.first_epoch = start_epoch, .end_epoch = train_cfg->epochs, .loader = &lc, .optimizer = opt,
                            .scheduled = opt};
  status = scan_trainer_run(&t, &phase);
  if (status == SCAN_OK) {
    char epochs_text[32];
    snprintf(epochs_text, sizeof epochs_text, "%d", train_cfg->epochs);
    const char *metadata[] = {"epoch", epochs_text, "stage", "pretext", NULL};
    status = scan_net_save(r.net, model_path, metadata);
  }
done:
  free(r.input);
  free(r.d_z);
  free(r.all_z);
  free(r.all_d);
  if (opt) scan_optim_free(opt);
  if (r.net) scan_net_free(r.net);
  return status;
}
