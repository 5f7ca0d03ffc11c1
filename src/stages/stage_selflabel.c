/* Stage 3: self-labelling (spec §8). Confident predictions on a weak view become
 * targets for a strongly augmented view, with class-balanced cross-entropy.
 *
 * Differences from the reference, on purpose:
 * - the weak view is predicted in eval mode, so its forward pass does not move the
 *   batch-norm statistics (spec §18.7);
 * - a batch with no confident sample is skipped and counted, never a crash (upstream #46);
 *   an epoch with none at all says so and suggests a threshold;
 * - `adaptive_threshold: quantile` sets per-class thresholds from the current predictions,
 *   for data where 0.99 is never reached. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/dist.h"
#include "scan/model_load.h"
#include "scan/stages.h"
#include "scan/head_validation.h"
#include "scan/neighbors.h"
#include "scan/atomic_file.h"
#include "scan/loader.h"
#include "scan/losses.h"
#include "scan/nn_layers.h"
#include "scan/optim.h"
#include "scan/progress.h"
#include "scan/safetensors.h"
#include "scan/trainer.h"
#include "scan/training.h"

static scan_status class_thresholds(scan_pipeline *p, scan_net *net, const scan_dataset *train, double quantile,
                                    double threshold, float *thresholds) {
  int classes = scan_net_head_dim(net);
  float *probs = scan_malloc(sizeof(float) * (size_t)train->count * (size_t)classes);
  if (!probs) return SCAN_ERR_INTERNAL;
  float *outputs[1] = {probs};
  scan_status status = scan_pipeline_predict_sharded(p, net, train, "selflabel: adaptive thresholds", NULL, outputs);
  if (status == SCAN_OK) {
    scan_softmax_forward(train->count, classes, probs, probs);
    scan_adaptive_thresholds(probs, train->count, classes, quantile, 1.0 / classes, thresholds);
    for (int c = 0; c < classes; c++)
      if (thresholds[c] > threshold) thresholds[c] = (float)threshold; /* never stricter than the fixed threshold */
  }
  free(probs);
  return status;
}

/* selflabel/model.safetensors with the validation loss it was kept for and the epoch after which it was kept:
   epoch 0 is the SCAN head itself (the model to beat), which eval and explain then take from the SCAN model
   with all its heads (scan_pipeline_cluster_model_path). */
static scan_status save_selflabel_model(const char *dir, const scan_net *net, double val_loss, int epoch) {
  char path[SCAN_PATH_MAX], loss_text[64], epoch_text[16];
  SCAN_TRY(scan_path_join(path, sizeof path, dir, "model.safetensors"));
  snprintf(loss_text, sizeof loss_text, "%.17g", val_loss); /* round-trips: a resumed run compares against it */
  snprintf(epoch_text, sizeof epoch_text, "%d", epoch);
  const char *metadata[] = {"stage", "selflabel", "best_head", "0", "val_loss", loss_text, "epoch", epoch_text, NULL};
  return scan_net_save(net, path, metadata);
}

static double saved_val_loss(const char *dir) {
  char path[SCAN_PATH_MAX];
  if (scan_path_join(path, sizeof path, dir, "model.safetensors") != SCAN_OK) return INFINITY;
  return scan_model_metadata_number(path, "val_loss", INFINITY);
}

typedef struct {
  scan_pipeline *p;
  scan_net *net;
  scan_optimizer *opt;
  scan_ema *ema;
  const scan_selflabel_settings *cfg;
  double entropy_weight; /* the clustering stage's selection weight, for the validation SCAN loss */
  const scan_dataset *train, *val;
  neighbor_table val_nbrs;
  int classes, batch_size;
  float *weak, *d_strong, *thresholds; /* [batch, classes] x 2, [classes] */
  int32_t *targets;
  double *counts; /* data-parallel: [classes] confident samples per class over the global batch */
  double best_val_loss;
  long confident, skipped; /* this epoch's confident samples and batches that trained nothing */
  double top_weak;         /* this epoch's most confident weak prediction */
  char dir[SCAN_PATH_MAX];
} selflabel_run;

static scan_status selflabel_begin_epoch(void *ctx, int epoch) {
  selflabel_run *r = ctx;
  r->confident = r->skipped = 0;
  r->top_weak = 0;
  if (!r->cfg->adaptive) return SCAN_OK;
  return class_thresholds(r->p, r->net, r->train, r->cfg->adaptive_quantile, r->cfg->confidence_threshold, r->thresholds);
}

/* Data-parallel: the confident samples of every rank's shard decide together. Their counts per class are summed over
   ranks (into r->counts), so a batch is skipped only when the global batch has no confident sample (then every rank
   skips it), and the class-balancing weights are those of the global batch. Returns the global count; *top becomes
   the global batch's top probability. */
static int global_confident(selflabel_run *r, int n, double *top) {
  const int classes = r->classes, ranks = scan_dist_size();
  for (int k = 0; k < classes; k++) r->counts[k] = 0.0;
  for (int i = 0; i < n; i++)
    if (r->targets[i] >= 0) r->counts[r->targets[i]] += 1.0;
  scan_dist_sum_doubles(r->counts, classes);
  float mine = (float)*top, tops[ranks];
  long ones[ranks];
  for (int k = 0; k < ranks; k++) ones[k] = 1;
  scan_dist_gather_floats(&mine, tops, ones);
  for (int k = 0; k < ranks; k++)
    if (tops[k] > *top) *top = tops[k];
  double confident = 0.0;
  for (int k = 0; k < classes; k++) confident += r->counts[k];
  return (int)confident;
}

/* The global batch's loss (the sum of the ranks' parts) after global_confident; the gradient rows of this shard are
   scaled by the rank count: the scaffold averages the parameter gradients over ranks, which then gives the
   one-process gradient of the global batch. */
static double global_loss(selflabel_run *r, int n) {
  double loss = scan_loss_selflabel_shard(scan_net_head_output(r->net, 0), r->targets, n, r->classes, r->counts,
                                          r->cfg->class_balancing, scan_dist_size(), r->d_strong);
  scan_dist_sum_doubles(&loss, 1);
  return loss;
}

static scan_status selflabel_step(void *ctx, const scan_batch *batch, int epoch, long step, scan_step_result *out) {
  selflabel_run *r = ctx;
  const int n = batch->n, classes = r->classes, distributed = scan_dist_size() > 1;
  const float *thresholds = r->cfg->adaptive ? r->thresholds : NULL;
  SCAN_TRY(scan_net_forward(r->net, batch->a, n, 0));
  memcpy(r->weak, scan_net_head_output(r->net, 0), sizeof(float) * (size_t)n * (size_t)classes);
  /* The targets come from the weak view alone, so they are known before the strong view's forward pass:
     that pass runs in training mode and moves the batch-norm statistics, so a batch with no confident
     sample must skip it too, or an epoch that trains nothing would still change the model. */
  double batch_top = 0;
  int confident = scan_selflabel_targets(r->weak, n, classes, r->cfg->confidence_threshold, thresholds, r->targets,
                                         &batch_top);
  if (distributed) confident = global_confident(r, n, &batch_top);
  if (batch_top > r->top_weak) r->top_weak = batch_top;
  r->confident += confident;
  if (confident == 0) {
    r->skipped++;
    out->trained = 0;
    return SCAN_OK;
  }
  SCAN_TRY(scan_net_forward(r->net, batch->b, n, 1));
  if (distributed)
    out->loss = global_loss(r, n);
  else
    out->loss = scan_loss_selflabel(r->weak, scan_net_head_output(r->net, 0), n, classes, r->cfg->confidence_threshold,
                                    thresholds, r->cfg->class_balancing, r->d_strong, NULL, r->targets);
  if (!isfinite(out->loss)) return SCAN_OK; /* the scaffold stops with its message, before any update */
  scan_net_zero_grad(r->net);
  const float *d_heads[1] = {r->d_strong};
  return scan_net_backward(r->net, d_heads, NULL); /* the scaffold steps the optimiser, then the EMA follows */
}

static void selflabel_after_update(void *ctx) {
  selflabel_run *r = ctx;
  if (r->ema) scan_ema_update(r->ema, r->net);
}

static double confident_fraction(const selflabel_run *r, long steps) {
  return (double)r->confident / (double)(steps * r->batch_size + !steps);
}

static void selflabel_note(void *ctx, const scan_epoch_stats *stats, char *buf, size_t size) {
  snprintf(buf, size, "confident %.1f%%", 100.0 * confident_fraction(ctx, stats->steps));
}

/* Keeps the better model by the label-free validation SCAN loss: self-labelling that collapses clusters or
   spreads them raises it. Labels are never used to choose. */
static scan_status selflabel_end_epoch(void *ctx, int epoch, const scan_epoch_stats *stats, scan_epoch_end *end) {
  selflabel_run *r = ctx;
  const int speak = scan_dist_is_root(); /* data-parallel: rank 0 speaks for all */
  if (stats->trained == 0 && speak) /* suggest a threshold that the most confident prediction of this epoch passes */
    fprintf(stderr,
            "selflabel epoch %d: no sample reached the confidence threshold %.6g, so nothing was trained; the most "
            "confident prediction was %.4f. Set confidence_threshold below that (e.g. %.2f) or adaptive_threshold: "
            "quantile.\n",
            epoch + 1, r->cfg->confidence_threshold, r->top_weak, floor(r->top_weak * 100 - 1e-6) / 100);
  if (r->ema) scan_ema_copy_to(r->ema, r->net);
  head_validation v;
  int best = 0;
  SCAN_TRY(validate_heads(r->p, r->net, r->val, &r->val_nbrs, r->entropy_weight, &v, &best));
  const int kept = v.total < r->best_val_loss;
  if (kept) {
    r->best_val_loss = v.total;
    SCAN_TRY(save_selflabel_model(r->dir, r->net, r->best_val_loss, epoch + 1));
  }
  const double fraction = confident_fraction(r, stats->steps);
  char label_metrics[128] = "";
  if (v.acc >= 0) /* label metrics only when there are labels */
    snprintf(label_metrics, sizeof label_metrics, ", \"acc\": %.5f, \"nmi\": %.5f, \"ari\": %.5f", v.acc, v.nmi, v.ari);
  end->log_fields = scan_malloc(512);
  if (!end->log_fields) return SCAN_ERR_INTERNAL;
  snprintf(end->log_fields, 512, "\"confident_fraction\": %.5f, \"skipped_batches\": %ld, \"val_loss\": %.6f, \"kept\": %s%s",
           fraction, r->skipped, v.total, kept ? "true" : "false", label_metrics);
  if (!speak) return SCAN_OK;
  fprintf(stderr, "selflabel epoch %d: loss %.4f, %.1f%% confident, %ld batches skipped", epoch + 1,
          scan_epoch_mean_loss(stats), 100.0 * fraction, r->skipped);
  if (v.acc >= 0) fprintf(stderr, ", val ACC %.2f%% NMI %.4f ARI %.4f", 100 * v.acc, v.nmi, v.ari);
  fputc('\n', stderr);
  if (!kept)
    fprintf(stderr, "selflabel epoch %d: validation SCAN loss %.4f is not better than %.4f; keeping the earlier model\n",
            epoch + 1, v.total, r->best_val_loss);
  return SCAN_OK;
}

/* The model to beat: the best one saved before an interruption, or (a fresh start) the SCAN head itself. */
static scan_status model_to_beat(selflabel_run *r, int start_epoch) {
  r->best_val_loss = start_epoch > 0 ? saved_val_loss(r->dir) : INFINITY;
  if (r->best_val_loss < INFINITY) return SCAN_OK;
  head_validation v0;
  int unused = 0;
  SCAN_TRY(validate_heads(r->p, r->net, r->val, &r->val_nbrs, r->entropy_weight, &v0, &unused));
  if (start_epoch > 0) return SCAN_OK;
  r->best_val_loss = v0.total;
  if (scan_dist_is_root()) fprintf(stderr, "selflabel: starting from the SCAN head, validation SCAN loss %.4f\n", r->best_val_loss);
  return save_selflabel_model(r->dir, r->net, r->best_val_loss, 0);
}

scan_status scan_stage_selflabel(scan_pipeline *p) {
  const char *stage = "selflabel";
  const scan_selflabel_settings *cfg = &p->settings.selflabel;
  /* The validation SCAN loss weighs entropy as the clustering stage trained with it. */
  selflabel_run r = {.p = p, .cfg = cfg, .entropy_weight = p->settings.cluster.selection_entropy_weight,
                     .batch_size = cfg->train.batch_size};
  SCAN_TRY(scan_pipeline_train_data(p, &r.train));
  SCAN_TRY(scan_pipeline_val_data(p, &r.val));
  SCAN_TRY(scan_pipeline_check_data(p, stage)); /* the ranges were validated when the configuration was opened */
  SCAN_TRY(scan_pipeline_path(p, r.dir, sizeof r.dir, "selflabel"));
  SCAN_TRY(scan_make_dirs(r.dir));

  scan_aug_config weak_aug, strong_aug;
  int start_epoch = 0, best_head = 0;
  scan_trainer t = {.p = p, .stage = stage, .settings = &cfg->train, .total_epochs = cfg->train.epochs, .ctx = &r,
                    .begin_epoch = selflabel_begin_epoch, .step = selflabel_step, .note = selflabel_note,
                    .after_update = selflabel_after_update, .end_epoch = selflabel_end_epoch};
  scan_status status = scan_pipeline_augment(p, stage, 1, &weak_aug);
  if (status == SCAN_OK) status = scan_pipeline_augment(p, stage, 0, &strong_aug);
  if (status == SCAN_OK) status = scan_pipeline_create_net(p, stage, r.batch_size, &r.net);
  /* The SCAN model before the neighbours, so that a run without it is told to run 'scan cluster'. */
  if (status == SCAN_OK) status = scan_pipeline_load_scan_head(p, r.net, &best_head);
  if (status == SCAN_OK) status = neighbors_load(p, "val", r.val->count, cfg->num_neighbors_val, &r.val_nbrs);
  if (status == SCAN_OK) status = scan_optim_create(&r.opt, r.net, &cfg->train.backbone, &cfg->train.heads, 0);
  t.net = r.net;
  t.opt = r.opt;
  if (status == SCAN_OK) status = scan_trainer_resume(&t, &start_epoch);
  if (status == SCAN_OK && cfg->use_ema) status = scan_ema_create(&r.ema, r.net, cfg->ema_alpha);
  if (status != SCAN_OK) goto done;

  r.classes = scan_net_head_dim(r.net);
  r.weak = scan_malloc(sizeof(float) * (size_t)r.batch_size * (size_t)r.classes);
  r.d_strong = scan_malloc(sizeof(float) * (size_t)r.batch_size * (size_t)r.classes);
  r.targets = scan_malloc(sizeof(int32_t) * (size_t)r.batch_size);
  r.thresholds = scan_malloc(sizeof(float) * (size_t)r.classes);
  r.counts = scan_malloc(sizeof(double) * (size_t)r.classes);
  if (!r.weak || !r.d_strong || !r.targets || !r.thresholds || !r.counts) { status = SCAN_ERR_INTERNAL; goto done; }
  status = model_to_beat(&r, start_epoch);
  scan_loader_config lc = training_loader_config(p, r.train, SCAN_BATCH_WEAK_STRONG, &weak_aug, &strong_aug, r.batch_size,
                                                 cfg->train.workers);
  scan_train_phase phase = {.first_epoch = start_epoch, .end_epoch = cfg->train.epochs, .loader = &lc,
                            .optimizer = r.opt, .scheduled = r.opt};
  if (status == SCAN_OK) status = scan_trainer_run(&t, &phase);
done:
  free(r.weak);
  free(r.d_strong);
  free(r.targets);
  free(r.thresholds);
  free(r.counts);
  neighbors_free(&r.val_nbrs);
  if (r.ema) scan_ema_free(r.ema);
  if (r.opt) scan_optim_free(r.opt);
  if (r.net) scan_net_free(r.net);
  return status;
}
