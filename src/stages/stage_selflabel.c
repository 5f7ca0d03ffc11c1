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
#include "scan/training.h"

static scan_status class_thresholds(scan_pipeline *p, scan_net *net, const scan_dataset *train, double quantile,
                                    double threshold, float *thresholds) {
  int classes = scan_net_head_dim(net);
  float *probs = scan_malloc(sizeof(float) * (size_t)train->count * (size_t)classes);
  if (!probs) return SCAN_ERR_INTERNAL;
  float *outputs[1] = {probs};
  scan_status status = scan_pipeline_predict(p, net, train, "selflabel: adaptive thresholds", NULL, outputs);
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
  if (scan_path_join(path, sizeof path, dir, "model.safetensors") != SCAN_OK) return INFINITY; /* no such file */
  return scan_model_metadata_number(path, "val_loss", INFINITY);
}

scan_status scan_stage_selflabel(scan_pipeline *p) {
  const char *stage = "selflabel";
  const scan_dataset *train, *val;
  SCAN_TRY(scan_pipeline_train_data(p, &train));
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  int epochs = 0, batch_size = 0, workers = 2, balance = 1, use_ema = 0, num_neighbors_val = 5;
  double threshold = 0.99, ema_alpha = 0.999, quantile = 0.5, entropy_weight = 5;
  const char *adaptive = NULL;
  SCAN_TRY(scan_config_get_int(p->cfg, stage, "epochs", &epochs));
  SCAN_TRY(scan_config_get_int(p->cfg, stage, "batch_size", &batch_size));
  SCAN_TRY(scan_config_get_int(p->cfg, stage, "num_workers", &workers));
  SCAN_TRY(scan_config_get_int(p->cfg, stage, "num_neighbors_val", &num_neighbors_val));
  SCAN_TRY(scan_config_get_bool(p->cfg, stage, "criterion_kwargs.apply_class_balancing", &balance));
  SCAN_TRY(scan_config_get_double(p->cfg, stage, "confidence_threshold", &threshold));
  SCAN_TRY(scan_config_get_bool(p->cfg, stage, "use_ema", &use_ema));
  SCAN_TRY(scan_config_get_double(p->cfg, stage, "ema_alpha", &ema_alpha));
  SCAN_TRY(scan_config_get_string(p->cfg, stage, "adaptive_threshold", &adaptive));
  SCAN_TRY(scan_config_get_double(p->cfg, stage, "adaptive_quantile", &quantile));
  SCAN_TRY(scan_config_get_double(p->cfg, "scan", "criterion_kwargs.entropy_weight", &entropy_weight));
  int adaptive_on = strcmp(adaptive, "quantile") == 0;
  if (!adaptive_on && strcmp(adaptive, "none") != 0)
    return scan_fail(SCAN_ERR_INPUT, "config: selflabel.adaptive_threshold '%s' is not none or quantile", adaptive);
  SCAN_TRY(scan_pipeline_check_data(p, stage)); /* the ranges were validated when the configuration was opened */

  char dir[SCAN_PATH_MAX], path[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, dir, sizeof dir, "selflabel"));
  SCAN_TRY(scan_make_dirs(dir));
  scan_net *net = NULL;
  scan_optimizer *opt = NULL;
  scan_ema *ema = NULL;
  scan_loader *loader = NULL;
  float *weak = NULL, *d_strong = NULL, *thresholds = NULL;
  int32_t *targets = NULL;
  neighbor_table val_nbrs = {0};
  scan_aug_config weak_aug, strong_aug;
  scan_optim_config optim_cfg, heads_cfg;
  int start_epoch = 0, best_head = 0;
  scan_status status = scan_pipeline_augment(p, stage, 1, &weak_aug);
  if (status == SCAN_OK) status = scan_pipeline_augment(p, stage, 0, &strong_aug);
  if (status == SCAN_OK) status = training_optim_configs(p, stage, &optim_cfg, &heads_cfg);
  if (status == SCAN_OK) status = scan_pipeline_create_net(p, stage, batch_size, &net);
  /* The SCAN model before the neighbours, so that a run without it is told to run 'scan cluster'. */
  if (status == SCAN_OK) status = scan_pipeline_load_scan_head(p, net, &best_head);
  if (status == SCAN_OK) status = neighbors_load(p, "val", val->count, num_neighbors_val, &val_nbrs);
  if (status == SCAN_OK) status = scan_optim_create(&opt, net, &optim_cfg, &heads_cfg, 0);
  if (status == SCAN_OK) status = training_resume(p, stage, net, opt, &start_epoch);
  if (status == SCAN_OK && use_ema) status = scan_ema_create(&ema, net, ema_alpha);
  if (status != SCAN_OK) goto done;

  int classes = scan_net_head_dim(net);
  weak = scan_malloc(sizeof(float) * (size_t)batch_size * (size_t)classes);
  d_strong = scan_malloc(sizeof(float) * (size_t)batch_size * (size_t)classes);
  targets = scan_malloc(sizeof(int32_t) * (size_t)batch_size);
  thresholds = scan_malloc(sizeof(float) * (size_t)classes);
  if (!weak || !d_strong || !targets || !thresholds) { status = SCAN_ERR_INTERNAL; goto done; }

  scan_loader_config lc = {0};
  lc.data = train;
  lc.kind = SCAN_BATCH_WEAK_STRONG;
  lc.aug_a = &weak_aug;
  lc.aug_b = &strong_aug;
  lc.batch_size = batch_size;
  lc.shuffle = 1;
  lc.drop_last = 1;
  lc.seed = p->seed;
  lc.threads = workers > 0 ? workers : 1;
  lc.prefetch = 3;
  status = scan_loader_create(&loader, &lc);
  long steps = status == SCAN_OK ? scan_loader_batches(loader) : 0;
  if (status == SCAN_OK) status = scan_path_join(path, sizeof path, dir, "log.jsonl");

  /* The model to beat: the SCAN head itself (a fresh start), or the best one saved before an interruption. */
  double best_val_loss = INFINITY;
  if (status == SCAN_OK && start_epoch > 0) best_val_loss = saved_val_loss(dir);
  if (status == SCAN_OK && !(best_val_loss < INFINITY)) {
    head_validation v0;
    int unused = 0;
    status = validate_heads(p, net, val, &val_nbrs, entropy_weight, &v0, &unused);
    if (status == SCAN_OK && start_epoch == 0) {
      best_val_loss = v0.total;
      status = save_selflabel_model(dir, net, best_val_loss, 0);
      fprintf(stderr, "selflabel: starting from the SCAN head, validation SCAN loss %.4f\n", best_val_loss);
    }
  }
  for (int epoch = start_epoch; epoch < epochs && status == SCAN_OK; epoch++) {
    if (adaptive_on) status = class_thresholds(p, net, train, quantile, threshold, thresholds);
    if (status == SCAN_OK) status = scan_loader_start_epoch(loader, epoch);
    if (status != SCAN_OK) break;
    char label[64];
    snprintf(label, sizeof label, "selflabel epoch %d/%d", epoch + 1, epochs);
    scan_progress progress;
    scan_progress_start(&progress, label, steps * batch_size * 2, "img");
    double loss_sum = 0, start = scan_now_seconds(), top_weak = 0;
    long step = 0, trained = 0, skipped = 0, confident_total = 0;
    const scan_batch *batch;
    while ((batch = scan_loader_next(loader)) != NULL) {
      int n = batch->n;
      status = scan_net_forward(net, batch->a, n, 0);
      if (status != SCAN_OK) break;
      memcpy(weak, scan_net_head_output(net, 0), sizeof(float) * (size_t)n * (size_t)classes);
      /* The targets come from the weak view alone, so they are known before the strong view's forward pass:
         that pass runs in training mode and moves the batch-norm statistics, so a batch with no confident
         sample must skip it too, or an epoch that trains nothing would still change the model. */
      double batch_top = 0;
      const int confident = scan_selflabel_targets(weak, n, classes, threshold, adaptive_on ? thresholds : NULL,
                                                   targets, &batch_top);
      if (batch_top > top_weak) top_weak = batch_top;
      step++;
      confident_total += confident;
      if (confident == 0) {
        skipped++;
      } else {
        status = scan_net_forward(net, batch->b, n, 1);
        if (status != SCAN_OK) break;
        double loss = scan_loss_selflabel(weak, scan_net_head_output(net, 0), n, classes, threshold,
                                          adaptive_on ? thresholds : NULL, balance, d_strong, NULL, targets);
        status = training_check_loss(loss, stage, epoch, step);
        if (status != SCAN_OK) break;
        scan_net_zero_grad(net);
        const float *d_heads[1] = {d_strong};
        status = scan_net_backward(net, d_heads, NULL);
        if (status == SCAN_OK) status = scan_optim_step(opt);
        if (status != SCAN_OK) break;
        if (ema) scan_ema_update(ema, net);
        loss_sum += loss;
        trained++;
      }
      scan_progress_note(&progress, "loss %.4f confident %.1f%%", trained ? loss_sum / (double)trained : 0.0,
                         100.0 * (double)confident_total / (double)(step * batch_size));
      scan_progress_update(&progress, step * n * 2);
    }
    scan_progress_finish(&progress);
    if (status != SCAN_OK) break;
    if (trained == 0) /* suggest a threshold that the most confident prediction of this epoch passes */
      fprintf(stderr,
              "selflabel epoch %d: no sample reached the confidence threshold %.6g, so nothing was trained; the most "
              "confident prediction was %.4f. Set confidence_threshold below that (e.g. %.2f) or adaptive_threshold: "
              "quantile.\n",
              epoch + 1, threshold, top_weak, floor(top_weak * 100 - 1e-6) / 100);
    if (ema) scan_ema_copy_to(ema, net);
    head_validation v;
    int best = 0;
    status = validate_heads(p, net, val, &val_nbrs, entropy_weight, &v, &best);
    if (status == SCAN_OK) status = training_checkpoint(p, stage, net, opt, epoch + 1, NULL, NULL);
    /* Keep the better model by the label-free validation SCAN loss: self-labelling that collapses clusters
       or spreads them raises it. Labels are never used to choose. */
    int kept = status == SCAN_OK && v.total < best_val_loss;
    if (kept) {
      best_val_loss = v.total;
      status = save_selflabel_model(dir, net, best_val_loss, epoch + 1);
    }
    if (status != SCAN_OK) break;
    double seconds = scan_now_seconds() - start;
    char line[512], label_metrics[128] = "";
    if (v.acc >= 0) /* label metrics only when there are labels */
      snprintf(label_metrics, sizeof label_metrics, ", \"acc\": %.5f, \"nmi\": %.5f, \"ari\": %.5f", v.acc, v.nmi, v.ari);
    snprintf(line, sizeof line,
             "{\"epoch\": %d, \"loss\": %.6f, \"confident_fraction\": %.5f, \"skipped_batches\": %ld, \"seconds\": %.2f, "
             "\"images_per_second\": %.1f, \"val_loss\": %.6f, \"kept\": %s%s}",
             epoch + 1, trained ? loss_sum / (double)trained : 0.0, (double)confident_total / (double)(step * batch_size + !step),
             skipped, seconds, seconds > 0 ? 2.0 * (double)step * batch_size / seconds : 0.0, v.total,
             kept ? "true" : "false", label_metrics);
    status = scan_log_line(path, line);
    fprintf(stderr, "selflabel epoch %d: loss %.4f, %.1f%% confident, %ld batches skipped", epoch + 1,
            trained ? loss_sum / (double)trained : 0.0, 100.0 * (double)confident_total / (double)(step * batch_size + !step),
            skipped);
    if (v.acc >= 0) fprintf(stderr, ", val ACC %.2f%% NMI %.4f ARI %.4f", 100 * v.acc, v.nmi, v.ari);
    fputc('\n', stderr);
    if (!kept)
      fprintf(stderr, "selflabel epoch %d: validation SCAN loss %.4f is not better than %.4f; keeping the earlier model\n",
              epoch + 1, v.total, best_val_loss);
  }

done:
  free(weak);
  free(d_strong);
  free(targets);
  free(thresholds);
  neighbors_free(&val_nbrs);
  if (loader) scan_loader_free(loader);
  if (ema) scan_ema_free(ema);
  if (opt) scan_optim_free(opt);
  if (net) scan_net_free(net);
  return status;
}
