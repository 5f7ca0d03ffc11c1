/* Each stage's configuration as typed values, read and checked once when a run opens (scan_pipeline_open), so
 * that a misspelt, mistyped or contradictory key is reported before any stage starts work, and a stage reads
 * p->settings instead of looking keys up by name. The keys and their ranges are the schema's (src/base/
 * config_schema.c, scan_config_validate); this is what each stage makes of them. */
#ifndef SCAN_STAGE_SETTINGS_H
#define SCAN_STAGE_SETTINGS_H

#include "scan/config.h"
#include "scan/optim.h"

/* What every training stage has: epochs, batches, loader threads, optimiser and schedule. */
typedef struct {
  int epochs, batch_size, workers;
  int sync_batchnorm; /* data-parallel runs: batch-norm over the global batch (scan/nn.h: scan_net_set_batchnorm_sync) */
  double allreduce_bucket_mb; /* data-parallel runs: > 0, the gradient block summed in buckets of this many MB
                                 (10^6 bytes) during backward (scan/nn.h: scan_net_set_grad_ready); 0, in one sum after it */
  scan_optim_config backbone, heads; /* heads: optimizer_kwargs.lr; backbone: backbone_lr when set (else the same) */
  scan_lr_schedule schedule;
  int measure_convolutions; /* conv_algorithm: measure (include/scan/conv_tune.h) */
} scan_train_settings;

typedef struct {
  scan_train_settings train;
  double temperature; /* NT-Xent */
  int symmetric;
} scan_pretext_settings;

/* What neighbours are mined on (cluster.neighbor_features): each part L2-normalised, parts side by side with equal
   weight, the whole of unit length. */
typedef enum { SCAN_NEIGHBORS_HEAD, SCAN_NEIGHBORS_BACKBONE, SCAN_NEIGHBORS_BACKBONE_PIXELS } scan_neighbor_source;

/* Mining takes its neighbour counts and features from the clustering stage, which uses them. */
typedef struct {
  scan_train_settings train;
  int warmup_epochs;                    /* head_warmup_epochs on cached backbone features */
  int num_neighbors, num_neighbors_val; /* mined per train / validation image */
  int head_only;                        /* update_cluster_head_only */
  scan_neighbor_source neighbor_features; /* what mining compares */
  int refresh_epochs;                   /* neighbor_refresh_epochs: re-mine every this many whole-network epochs */
  double entropy_weight;
  double selection_entropy_weight;      /* in the validation loss that chooses the model to keep */
} scan_cluster_settings;

typedef struct {
  scan_train_settings train;
  double confidence_threshold;
  int class_balancing, use_ema;
  double ema_alpha;
  int adaptive;            /* adaptive_threshold: quantile */
  int num_neighbors_val;   /* the validation neighbours of the SCAN loss that chooses the model to keep */
  double adaptive_quantile;
} scan_selflabel_settings;

typedef struct {
  int prototypes_topk;
  int kmeans_baseline; /* baseline: kmeans */
} scan_eval_settings;

typedef struct {
  scan_pretext_settings pretext;
  scan_cluster_settings cluster;
  scan_selflabel_settings selflabel;
  scan_eval_settings eval;
} scan_stage_settings;

/* Reads every stage's settings from a validated configuration. A value no range check could refuse (an
   unknown optimiser or scheduler) fails naming the key. */
scan_status scan_stage_settings_read(const scan_config *cfg, scan_stage_settings *out);

#endif
