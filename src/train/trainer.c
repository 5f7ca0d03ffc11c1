/* The one training loop (scan/trainer.h). */
#include "scan/trainer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/conv_plan.h"
#include "scan/dist.h"
#include "scan/progress.h"
#include "scan/training.h"

double scan_epoch_mean_loss(const scan_epoch_stats *s) { return s->trained ? s->loss_sum / (double)s->trained : 0.0; }

/* The convolution plan first: it is part of what a run resumes with (the same algorithms, the same bits), and timing
 * the algorithms uses the net's activations' shapes only, not its parameters. */
scan_status scan_trainer_resume(scan_trainer *t, int *start_epoch) {
  if (t->settings->measure_convolutions) {
    char dir[SCAN_PATH_MAX];
    SCAN_TRY(scan_path_format(dir, sizeof dir, "%s/%s", t->p->run_dir, t->stage));
    SCAN_TRY(scan_conv_plan_for_stage(dir, t->net, scan_net_max_batch(t->net), stderr));
  }
  return training_resume(t->p, t->stage, t->net, t->opt, start_epoch);
}

/* Both groups follow the schedule from their own base rate, so a backbone with a smaller rate keeps its ratio. */
static void apply_schedule(const scan_trainer *t, const scan_train_phase *phase, int epoch, long step, long steps,
                           scan_epoch_stats *stats) {
  const scan_train_settings *s = t->settings;
  const int epochs = s->epochs;
  epoch -= phase->schedule_start;
  double backbone = scan_lr_at(&s->schedule, s->backbone.lr, epoch, epochs, step, steps);
  double heads = scan_lr_at(&s->schedule, s->heads.lr, epoch, epochs, step, steps);
  scan_optim_set_lr(phase->scheduled, backbone, heads);
  stats->lr = heads;
}

/* {"epoch": N, "phase": .., "loss": .., "lr": .., "seconds": .., "images_per_second": .., "loader_stall_seconds": ..,
   <the stage's members>} appended to <run>/<stage>/log.jsonl. */
static scan_status write_log_line(const scan_trainer *t, const scan_train_phase *phase, int epoch,
                                  const scan_epoch_stats *s, const char *fields) {
  char path[SCAN_PATH_MAX], phase_text[64] = "";
  if (phase->name) snprintf(phase_text, sizeof phase_text, "\"phase\": \"%s\", ", phase->name);
  size_t size = 512 + (fields ? strlen(fields) : 0);
  char *line = scan_malloc(size);
  if (!line) return SCAN_ERR_INTERNAL;
  snprintf(line, size,
           "{\"epoch\": %d, %s\"loss\": %.6f, \"lr\": %.6g, \"seconds\": %.2f, \"images_per_second\": %.1f, "
           "\"loader_stall_seconds\": %.3f%s%s}",
           epoch + 1, phase_text, scan_epoch_mean_loss(s), s->lr, s->seconds,
           s->seconds > 0 ? (double)s->images / s->seconds : 0.0, s->stall_seconds, fields ? ", " : "",
           fields ? fields : "");
  char relative[64];
  snprintf(relative, sizeof relative, "%s/log.jsonl", t->stage);
  scan_status status = scan_pipeline_path(t->p, path, sizeof path, relative);
  if (status == SCAN_OK) status = scan_log_line(path, line);
  free(line);
  return status;
}

/* allreduce_bucket_mb > 0 on several ranks: the gradient block summed in buckets that start as backward finishes them
   (scan_net_set_grad_ready), so that the last layers' sums travel while the first layers' backward runs. Backward
   finishes the block from its end, so the buckets are cut from there. Each element is still the sum of the ranks'
   values, but not necessarily added in the blocking sum's order (README: "Data-parallel training"). */
typedef struct {
  float *grad, *send;     /* the gradient block; a copy of each bucket's part, the sum's input */
  int64_t floats, bucket; /* the block's length; floats per bucket */
  int64_t unsent;         /* [0, unsent) is not summing yet */
  int launched, done;     /* sums started this step, and how many of the first of them have completed */
} grad_buckets;

/* Starts every bucket of the unsent part that lies in the final part [from, floats). */
static void send_final(grad_buckets *b, int64_t from) {
  while (b->unsent > 0) {
    const int64_t begin = b->unsent > b->bucket ? b->unsent - b->bucket : 0;
    if (begin < from) return; /* backward still adds to some of it */
    const int64_t count = b->unsent - begin;
    memcpy(b->send + begin, b->grad + begin, (size_t)count * sizeof(float)); /* dist.h: not in place */
    scan_dist_sum_floats_start(b->send + begin, b->grad + begin, (long)count);
    b->unsent = begin;
    b->launched++;
  }
}

/* The net's gradient-ready hook: new buckets out, and MPI's progress for those in flight (without it Open MPI moves
   them on only in the next MPI call). */
static void on_grad_ready(void *ctx, int64_t from) {
  grad_buckets *b = ctx;
  send_final(b, from);
  while (b->done < b->launched && scan_dist_test(b->done)) b->done++;
}

/* The end of a step's sums: the rest of the block when the step trained (a step ends with its backward, so all of it
   is final), then every sum in flight, which each rank started alike and must complete even when nothing steps. */
static void finish_buckets(grad_buckets *b, int send_rest) {
  if (send_rest) send_final(b, 0);
  scan_dist_wait_all();
  b->unsent = b->floats;
  b->launched = b->done = 0;
}

/* The update after a trained batch. Data-parallel: the gradient block summed over ranks (one all-reduce, or the
   buckets) and divided by the rank count, so every rank steps with the same average gradient; each stage's loss
   scales its gradient rows so that this average is the one-process gradient of the global batch. */
static scan_status update(scan_trainer *t, const scan_train_phase *phase, grad_buckets *buckets) {
  const int ranks = scan_dist_size();
  if (ranks > 1) {
    int64_t floats = 0;
    float *grad = scan_net_grad_block(t->net, &floats);
    if (buckets) finish_buckets(buckets, 1);
    else scan_dist_sum_floats(grad, (long)floats);
    const float inverse = 1.0f / (float)ranks;
    for (int64_t i = 0; i < floats; i++) grad[i] *= inverse;
  }
  SCAN_TRY(scan_optim_step(phase->optimizer));
  if (t->after_update) t->after_update(t->ctx);
  return SCAN_OK;
}

/* Data-parallel: each rank's batch-norm running statistics saw only its shards; their average over ranks is what
   every rank validates with and rank 0 checkpoints (num_batches_tracked is the same on every rank). With
   synchronised batch-norm they are already the global batch's on every rank, and the average of R equal values
   leaves them so (up to its rounding when R is not a power of two). */
static void average_buffers(scan_trainer *t) {
  const int ranks = scan_dist_size();
  if (ranks <= 1) return;
  for (int i = 0; i < scan_net_param_count(t->net); i++) {
    const scan_param *param = scan_net_param(t->net, i);
    if (!param->is_buffer) continue;
    const long count = (long)scan_param_numel(param);
    scan_dist_sum_floats(param->data, count);
    for (long k = 0; k < count; k++) param->data[k] /= (float)ranks;
  }
}

static scan_status run_batches(scan_trainer *t, const scan_train_phase *phase, scan_loader *loader, int epoch,
                               grad_buckets *buckets, scan_epoch_stats *stats) {
  const long steps = loader ? scan_loader_batches(loader) : phase->steps;
  const long per_step = loader ? 2L * t->settings->batch_size : phase->images_per_step; /* the global batch's */
  if (loader) SCAN_TRY(scan_loader_start_epoch(loader, epoch));
  char label[64], note[128];
  snprintf(label, sizeof label, "%s epoch %d/%d", t->stage, epoch + 1, t->total_epochs);
  scan_progress progress;
  scan_progress_start(&progress, label, steps * per_step, "img");
  scan_status status = SCAN_OK;
  for (long step = 0; step < steps && status == SCAN_OK; step++) {
    const scan_batch *batch = NULL;
    if (loader && !(batch = scan_loader_next(loader))) {
      status = scan_loader_status(loader);
      break;
    }
    if (phase->scheduled) apply_schedule(t, phase, epoch, step, steps, stats);
    scan_step_result result = {0, 1};
    status = t->step(t->ctx, batch, epoch, step, &result);
    if (status == SCAN_OK && result.trained) status = training_check_loss(result.loss, t->stage, epoch, step);
    if (status == SCAN_OK && result.trained) status = update(t, phase, buckets);
    else if (buckets) finish_buckets(buckets, 0);
    if (status != SCAN_OK) break;
    stats->steps++;
    stats->images += batch ? 2L * batch->global_n : per_step;
    if (result.trained) {
      stats->trained++;
      stats->loss_sum += result.loss;
    }
    note[0] = '\0';
    if (t->note) t->note(t->ctx, stats, note, sizeof note);
    scan_progress_note(&progress, "loss %.4f lr %.4g%s%s", scan_epoch_mean_loss(stats), stats->lr, note[0] ? " " : "",
                       note);
    scan_progress_update(&progress, stats->images);
  }
  scan_progress_finish(&progress);
  if (loader) stats->stall_seconds = scan_loader_stall_seconds(loader);
  return status;
}

static scan_status run_epoch(scan_trainer *t, const scan_train_phase *phase, scan_loader *loader, int epoch,
                             grad_buckets *buckets) {
  scan_epoch_stats stats = {0};
  const double start = scan_now_seconds();
  /* Without a schedule the rate is the optimiser's own. */
  stats.lr = t->settings->heads.lr;
  if (t->begin_epoch) SCAN_TRY(t->begin_epoch(t->ctx, epoch));
  SCAN_TRY(run_batches(t, phase, loader, epoch, buckets, &stats));
  average_buffers(t);
  stats.seconds = scan_now_seconds() - start;
  scan_epoch_end end;
  memset(&end, 0, sizeof end);
  scan_status status = t->end_epoch ? t->end_epoch(t->ctx, epoch, &stats, &end) : SCAN_OK;
  if (status == SCAN_OK)
    status = training_checkpoint(t->p, t->stage, t->net, t->opt, epoch + 1, end.checkpoint_key[0] ? end.checkpoint_key : NULL,
                                 end.checkpoint_key[0] ? end.checkpoint_value : NULL);
  if (status == SCAN_OK) status = write_log_line(t, phase, epoch, &stats, end.log_fields);
  free(end.log_fields);
  return status;
}

scan_status scan_trainer_run(scan_trainer *t, const scan_train_phase *phase) {
  if (phase->first_epoch >= phase->end_epoch) return SCAN_OK;
  /* sync_batchnorm: the steps' training-mode forwards normalise over the global batch (every rank runs each of them,
     as the sums are collectives); with one process there is nothing to add and the net keeps its own statistics. */
  const int sync = t->settings->sync_batchnorm && scan_dist_size() > 1;
  scan_status status = scan_net_set_batchnorm_sync(t->net, sync ? scan_dist_sum_doubles : NULL);
  grad_buckets buckets = {0}, *overlap = NULL;
  if (status == SCAN_OK && t->settings->allreduce_bucket_mb > 0 && scan_dist_size() > 1) {
    buckets.grad = scan_net_grad_block(t->net, &buckets.floats);
    buckets.bucket = (int64_t)(t->settings->allreduce_bucket_mb * 1e6 / sizeof(float));
    if (buckets.bucket < 1) buckets.bucket = 1;
    buckets.unsent = buckets.floats;
    buckets.send = scan_malloc((size_t)buckets.floats * sizeof(float));
    overlap = &buckets;
    status = buckets.send ? scan_net_set_grad_ready(t->net, on_grad_ready, overlap)
                          : scan_fail(SCAN_ERR_INTERNAL, "out of memory for the gradient buckets' send buffer");
  }
  scan_loader *loader = NULL;
  if (status == SCAN_OK && phase->loader) status = scan_loader_create(&loader, phase->loader);
  for (int epoch = phase->first_epoch; epoch < phase->end_epoch && status == SCAN_OK; epoch++)
    status = run_epoch(t, phase, loader, epoch, overlap);
  if (loader) scan_loader_free(loader);
  /* outside the trainer the net is per process again */
  scan_net_set_batchnorm_sync(t->net, NULL);
  scan_net_set_grad_ready(t->net, NULL, NULL);
  free(buckets.send);
  return status;
}
