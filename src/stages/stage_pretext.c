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
#include "scan/knn.h"
#include "scan/loader.h"
#include "scan/losses.h"
#include "scan/progress.h"
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
  if (status == SCAN_OK) status = scan_pipeline_predict(p, net, &bank_view, "knn monitor bank", NULL, bank_out);
  if (status == SCAN_OK) status = scan_pipeline_predict(p, net, val, "knn monitor val", NULL, query_out);
  if (status == SCAN_OK)
    status = scan_weighted_knn_accuracy(bank, bank_view.labels, bank_view.count, queries, val->labels, val->count, dim,
                                        MONITOR_K, temperature, train->num_classes, accuracy);
  free(bank);
  free(queries);
  return status;
}

scan_status scan_stage_pretext(scan_pipeline *p) {
  const char *stage = "pretext";
  const scan_dataset *train;
  SCAN_TRY(scan_pipeline_train_data(p, &train));
  int epochs = 0, batch_size = 0, workers = 0, symmetric = 0;
  double temperature = 0;
  SCAN_TRY(scan_config_get_int(p->cfg, stage, "epochs", &epochs));
  SCAN_TRY(scan_config_get_int(p->cfg, stage, "batch_size", &batch_size));
  SCAN_TRY(scan_config_get_int(p->cfg, stage, "num_workers", &workers));
  SCAN_TRY(scan_config_get_double(p->cfg, stage, "criterion_kwargs.temperature", &temperature));
  SCAN_TRY(scan_config_get_bool(p->cfg, stage, "criterion_kwargs.symmetric", &symmetric));
  SCAN_TRY(scan_pipeline_check_data(p, stage)); /* the ranges were validated when the configuration was opened */

  char dir[SCAN_PATH_MAX], model_path[SCAN_PATH_MAX], log_path[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, dir, sizeof dir, "pretext"));
  SCAN_TRY(scan_make_dirs(dir));
  SCAN_TRY(scan_path_join(model_path, sizeof model_path, dir, "model.safetensors"));
  SCAN_TRY(scan_path_join(log_path, sizeof log_path, dir, "log.jsonl"));

  scan_net *net = NULL;
  scan_optimizer *opt = NULL;
  scan_loader *loader = NULL;
  float *input = NULL, *d_z = NULL;
  scan_aug_config aug;
  scan_optim_config optim_cfg, unused;
  training_schedule schedule;
  int start_epoch = 0;
  scan_status status = scan_pipeline_augment(p, stage, 0, &aug);
  if (status == SCAN_OK) status = training_optim_configs(p, stage, &optim_cfg, &unused);
  if (status == SCAN_OK) status = training_schedule_load(p, stage, &schedule);
  if (status == SCAN_OK) status = scan_pipeline_create_net(p, stage, 2 * batch_size, &net);
  if (status == SCAN_OK) status = scan_optim_create(&opt, net, &optim_cfg, NULL, 0);
  if (status == SCAN_OK) status = training_resume(p, stage, net, opt, &start_epoch);
  if (status != SCAN_OK) goto done;

  scan_loader_config lc = training_loader_config(p, train, SCAN_BATCH_TWO_VIEWS, &aug, NULL, batch_size, workers);
  status = scan_loader_create(&loader, &lc);
  if (status != SCAN_OK) goto done;

  int channels = aug.channels, size = aug.out_size, dim = scan_net_head_dim(net);
  size_t image_floats = (size_t)channels * (size_t)size * (size_t)size;
  input = scan_malloc(sizeof(float) * image_floats * 2 * (size_t)batch_size);
  d_z = scan_malloc(sizeof(float) * (size_t)dim * 2 * (size_t)batch_size);
  if (!input || !d_z) { status = SCAN_ERR_INTERNAL; goto done; }
  long steps = scan_loader_batches(loader);

  for (int epoch = start_epoch; epoch < epochs && status == SCAN_OK; epoch++) {
    status = scan_loader_start_epoch(loader, epoch);
    if (status != SCAN_OK) break;
    char label[64];
    snprintf(label, sizeof label, "pretext epoch %d/%d", epoch + 1, epochs);
    scan_progress progress;
    scan_progress_start(&progress, label, steps * batch_size * 2, "img");
    double loss_sum = 0, lr = 0, start = scan_now_seconds();
    long step = 0;
    const scan_batch *batch;
    while ((batch = scan_loader_next(loader)) != NULL) {
      int n = batch->n;
      /* Views 1 and 2 as one batch of 2n: batch-norm sees both, as in the reference's interleaved batch. */
      memcpy(input, batch->a, sizeof(float) * image_floats * (size_t)n);
      memcpy(input + image_floats * (size_t)n, batch->b, sizeof(float) * image_floats * (size_t)n);
      lr = training_lr(&schedule, optim_cfg.lr, epoch, epochs, step, steps);
      scan_optim_set_lr(opt, lr, lr);
      status = scan_net_forward(net, input, 2 * n, 1);
      if (status != SCAN_OK) break;
      const float *z = scan_net_head_output(net, 0);
      double loss = scan_loss_simclr(z, z + (size_t)n * dim, n, dim, temperature, symmetric, d_z, d_z + (size_t)n * dim);
      status = training_check_loss(loss, stage, epoch, step);
      if (status != SCAN_OK) break;
      scan_net_zero_grad(net);
      const float *d_heads[1] = {d_z};
      status = scan_net_backward(net, d_heads, NULL);
      if (status == SCAN_OK) status = scan_optim_step(opt);
      if (status != SCAN_OK) break;
      loss_sum += loss;
      step++;
      scan_progress_note(&progress, "loss %.4f lr %.4g", loss_sum / (double)step, lr);
      scan_progress_update(&progress, step * n * 2);
    }
    scan_progress_finish(&progress);
    if (status != SCAN_OK) break;
    double seconds = scan_now_seconds() - start;
    double knn_accuracy = -1;
    status = knn_monitor(p, net, temperature, &knn_accuracy);
    if (status != SCAN_OK) break;
    status = training_checkpoint(p, stage, net, opt, epoch + 1, NULL, NULL);
    if (status != SCAN_OK) break;
    char line[512], knn_text[32];
    if (knn_accuracy >= 0) snprintf(knn_text, sizeof knn_text, "%.3f", knn_accuracy);
    else snprintf(knn_text, sizeof knn_text, "null");
    snprintf(line, sizeof line,
             "{\"epoch\": %d, \"loss\": %.6f, \"lr\": %.6g, \"images_per_second\": %.1f, \"seconds\": %.2f, "
             "\"loader_stall_seconds\": %.3f, \"knn_accuracy\": %s}",
             epoch + 1, step ? loss_sum / (double)step : 0.0, lr, seconds > 0 ? (double)step * batch_size * 2 / seconds : 0.0,
             seconds, scan_loader_stall_seconds(loader), knn_text);
    status = scan_log_line(log_path, line);
    if (knn_accuracy >= 0) fprintf(stderr, "pretext epoch %d: loss %.4f, weighted kNN accuracy %.2f%%\n", epoch + 1,
                                   step ? loss_sum / (double)step : 0.0, knn_accuracy);
  }
  if (status == SCAN_OK) {
    char epochs_text[32];
    snprintf(epochs_text, sizeof epochs_text, "%d", epochs);
    const char *metadata[] = {"epoch", epochs_text, "stage", "pretext", NULL};
    status = scan_net_save(net, model_path, metadata);
  }
done:
  free(input);
  free(d_z);
  if (loader) scan_loader_free(loader);
  if (opt) scan_optim_free(opt);
  if (net) scan_net_free(net);
  return status;
}
