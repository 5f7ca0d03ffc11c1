/* The one training loop, shared by the three training stages (pretext, clustering, self-labelling). It owns what
 * every stage does the same way: resuming from the stage's checkpoint, the loader and its epochs, the learning-rate
 * schedule, progress with a rate and an ETA, the NaN/inf stop, the checkpoint after every epoch and the epoch's
 * line in <run>/<stage>/log.jsonl. A stage supplies only what differs: one step on a batch, and what to validate,
 * keep and log at the end of an epoch.
 *
 * Per epoch:  begin_epoch → (step → update) × batches (lr set from the schedule first) → end_epoch → checkpoint
 * → log line. A crash loses at most the epoch in progress: the checkpoint is written before the log line that
 * announces it.
 *
 * Data-parallel training (scan/dist.h, under mpirun): every rank runs this loop over its shard of each global batch
 * (the loader's shard_index/shard_count). The step computes forward, loss and backward on the shard, with a loss
 * whose value is the global batch's and whose gradient rows are scaled so that the AVERAGE over ranks of the
 * parameter gradients is the one-process gradient; the update then all-reduces the gradient block (one
 * MPI_Allreduce, or with allreduce_bucket_mb buckets started during backward, divided by the rank count) before the
 * phase's optimiser steps, so every rank applies the same update. The buckets rely on what the step hook promises:
 * one backward after its zero_grad, and no change to the gradients after it. Batch-norm statistics are per rank during the epoch (unless sync_batchnorm: then the global batch's, every
 * step); the running statistics are averaged over ranks at its end, before validation and the checkpoint. With one
 * process nothing of this runs. */
#ifndef SCAN_TRAINER_H
#define SCAN_TRAINER_H

#include <stddef.h>

#include "scan/loader.h"
#include "scan/pipeline.h"

/* One epoch's running totals, as the scaffold counts them. */
typedef struct {
  long steps;      /* batches run */
  long trained;    /* batches that trained (a step may skip a batch) */
  double loss_sum; /* over the trained batches */
  long images;     /* images through the network (both views of each sample) */
  double seconds;
  double lr;       /* the cluster heads' learning rate at the last step (the backbone's in a one-group net) */
  double stall_seconds; /* time the step waited for the loader */
} scan_epoch_stats;

/* The mean loss over the trained batches (0 when none trained). */
double scan_epoch_mean_loss(const scan_epoch_stats *s);

typedef struct {
  double loss; /* must be finite when trained: the scaffold stops the stage otherwise */
  int trained; /* 0: the batch trained nothing and its loss is not counted */
} scan_step_result;

/* What a stage adds at the end of an epoch. */
typedef struct {
  char *log_fields;            /* JSON members for the log line ("\"k\": v, ..."), malloc'd (freed by the scaffold), or NULL */
  char checkpoint_key[32];     /* an extra metadata entry in the checkpoint ("" = none) */
  char checkpoint_value[64];
} scan_epoch_end;

typedef struct {
  scan_pipeline *p;
  const char *stage;            /* "pretext", "cluster" or "selflabel": its folder, checkpoint and log */
  scan_net *net;
  scan_optimizer *opt;          /* checkpointed with the net */
  const scan_train_settings *settings; /* the schedule and the base learning rates */
  int total_epochs;             /* the "epoch e/N" of the progress line */
  void *ctx;                    /* the stage's own state, passed to every hook */
  /* Before an epoch's first batch (may be NULL). */
  scan_status (*begin_epoch)(void *ctx, int epoch);
  /* One batch: forward, loss, zero_grad and backward, leaving the gradients in the net; the scaffold then makes them
     global (data-parallel runs) and steps the phase's optimiser when the batch trained. batch is NULL in a phase
     without a loader. out->loss and out->trained must be the same on every rank (the global batch's). */
  scan_status (*step)(void *ctx, const scan_batch *batch, int epoch, long step, scan_step_result *out);
  /* After each optimiser step (may be NULL): e.g. the EMA of the parameters. */
  void (*after_update)(void *ctx);
  /* Text after "loss ... lr ..." in the progress line (may be NULL). */
  void (*note)(void *ctx, const scan_epoch_stats *stats, char *buf, size_t size);
  /* After the epoch's batches, before its checkpoint: validation, keeping the best model, the console summary. */
  scan_status (*end_epoch)(void *ctx, int epoch, const scan_epoch_stats *stats, scan_epoch_end *end);
} scan_trainer;

/* A run of epochs [first_epoch, end_epoch) with one source of batches. */
typedef struct {
  const char *name;                  /* the log line's "phase" (e.g. "warmup", "full"), or NULL for none */
  int first_epoch, end_epoch;
  const scan_loader_config *loader;  /* the batches; NULL: `steps` steps per epoch with batch NULL */
  long steps;                        /* without a loader */
  int images_per_step;               /* without a loader: what one step counts as images */
  scan_optimizer *optimizer;         /* stepped by the scaffold after every batch that trained */
  scan_optimizer *scheduled;         /* the optimiser whose rates follow the stage's schedule, or NULL */
  int schedule_start;                /* the stage epoch that is the schedule's epoch 0 (after a warm-up phase) */
} scan_train_phase;

/* The epoch to start from: 0, or the finished epochs of the stage's checkpoint (loaded into net and opt) after
   checking that it was made under the same configuration and data (training_resume). With conv_algorithm: measure it
   first sets the net's convolution algorithms from <stage>/conv_plan.json, measuring and writing it when there is none
   (include/scan/conv_plan.h). */
scan_status scan_trainer_resume(scan_trainer *t, int *start_epoch);
scan_status scan_trainer_run(scan_trainer *t, const scan_train_phase *phase);

#endif
