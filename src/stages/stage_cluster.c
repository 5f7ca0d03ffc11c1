/* Stage 2: SCAN clustering (spec §7). Several cluster heads learn to give an
 * image and one of its mined neighbours the same cluster, while the entropy
 * term keeps the clusters from collapsing.
 *
 * Two phases, as the Fashion-MNIST probe found necessary on a CPU budget:
 *   1. head_warmup_epochs on cached backbone features (heads only, no augmentation), cheap;
 *   2. `epochs` on the whole network with strong augmentation of anchor and neighbour.
 * A head trained from random weights with the small backbone learning rate
 * otherwise stays near the uniform solution for far too many steps.
 *
 * The saved model is the best epoch of the whole-network phase (of the warm-up when there is none).
 * Head selection: the epoch and head with the lowest validation SCAN loss, whose entropy term has the weight
 * cluster.selection_entropy_weight: 1 by default, the reference's, while training uses 5. With 5 the balance term
 * decided between heads whose clusters differ in kind: on Fashion-MNIST seed 4 it kept a head at 68% train ACC
 * whose cluster sizes were more even over one at 74% (README, recipe tables). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/dist.h"
#include "scan/knn.h"
#include "scan/npy.h"
#include "scan/stop_point.h"
#include "scan/model_load.h"
#include "scan/stages.h"
#include "scan/head_validation.h"
#include "scan/neighbors.h"
#include "scan/atomic_file.h"
#include "scan/loader.h"
#include "scan/losses.h"
#include "scan/progress.h"
#include "scan/rng.h"
#include "scan/safetensors.h"
#include "scan/trainer.h"
#include "scan/training.h"

typedef struct {
  scan_pipeline *p;
  scan_net *net;
  scan_optimizer *opt, *heads_opt; /* the whole-network phase's (checkpointed), the warm-up's (heads only) */
  const scan_cluster_settings *cfg;
  const scan_dataset *train, *val;
  neighbor_table train_nbrs, val_nbrs;
  int heads, classes, batch_size;
  int warmup;          /* 1 while the head warm-up phase runs */
  size_t image_floats; /* floats per augmented image: channels x size x size */
  float **d_heads;     /* heads x [2 * batch, classes] */
  float *features;     /* warm-up: cached backbone features [train count, dim] */
  int32_t *order;      /* warm-up: this epoch's order of the training images */
  float *batch_rows;   /* warm-up: [2 * batch, dim] anchors then neighbours; whole network: [2 * batch, C, H, W] */
  double *sums;        /* data-parallel: heads x [classes + 1], the global softmax sums, then the consistency parts */
  double best_loss;
  char dir[SCAN_PATH_MAX];
} cluster_run;

/* Data-parallel: the global batch's SCAN loss of every head from this rank's n of its global_n pairs. The entropy
   term takes the global mean prediction (the per-rank softmax sums of all heads in one all-reduce), the consistency
   term the per-rank sums (a second one), and each gradient row is scaled by the rank count: the scaffold averages the
   parameter gradients over ranks, so (1/ranks) * sum_r ranks * g_r = the one-process gradient of the global batch. */
static double heads_loss_shard(cluster_run *r, int n, long global_n) {
  const int c = r->classes, heads = r->heads, ranks = scan_dist_size();
  for (int h = 0; h < heads; h++) scan_scan_prob_sums(scan_net_head_output(r->net, h), n, c, r->sums + (size_t)h * c);
  scan_dist_sum_doubles(r->sums, (long)heads * c);
  double *consistency = r->sums + (size_t)heads * c, entropy[heads];
  for (int h = 0; h < heads; h++) {
    const float *logits = scan_net_head_output(r->net, h);
    scan_scan_loss l = scan_loss_scan_shard(logits, logits + (size_t)n * c, n, c, r->cfg->entropy_weight,
                                            r->sums + (size_t)h * c, global_n, ranks, r->d_heads[h],
                                            r->d_heads[h] + (size_t)n * c);
    consistency[h] = l.consistency;
    entropy[h] = l.entropy;
  }
  scan_dist_sum_doubles(consistency, heads);
  double sum = 0;
  for (int h = 0; h < heads; h++) sum += consistency[h] - r->cfg->entropy_weight * entropy[h];
  return sum / heads;
}

/* SCAN loss of every head over a batch whose first n rows are anchors and last n rows their neighbours
   (the scaffold checks that the mean is finite); global_n: the global batch (data-parallel runs). */
static double heads_loss(cluster_run *r, int n, long global_n) {
  if (scan_dist_size() > 1) return heads_loss_shard(r, n, global_n);
  double sum = 0;
  for (int h = 0; h < r->heads; h++) {
    const float *logits = scan_net_head_output(r->net, h);
    scan_scan_loss l = scan_loss_scan(logits, logits + (size_t)n * r->classes, n, r->classes, r->cfg->entropy_weight,
                                      r->d_heads[h], r->d_heads[h] + (size_t)n * r->classes);
    sum += l.total;
  }
  return sum / r->heads;
}

static int random_neighbor(const neighbor_table *t, long row, scan_rng *rng) {
  /* Columns 1..used-1 only: the reference may pair an image with itself (spec §18.6). */
  if (t->used < 2) return (int)row;
  return (int)t->indices[row * t->cols + 1 + scan_rng_int(rng, t->used - 1)];
}

/* The refreshed training neighbours (cluster.neighbor_refresh_epochs), kept so that a resume between two refreshes
   continues with them. */
static const char refreshed_neighbors[] = "cluster/neighbors-refreshed.npy";

/* Copies table rows [n, k + 1] (the image itself in column 0) into the neighbour table the loader reads, in place. */
static void set_neighbors(neighbor_table *t, const int64_t *rows, int k) {
  for (long i = 0; i < t->rows; i++)
    memcpy(t->indices + i * t->cols, rows + i * (k + 1), sizeof(int64_t) * (size_t)(k + 1));
}

/* Mines the training neighbours again on the backbone as trained so far (eval mode, L2-normalised features, the same
   count as the run uses), so that later whole-network epochs pair each image with neighbours in the space being
   learnt, which groups the classes better than the pretext space did (NNM's observation). The validation
   neighbours, which choose the model to keep, stay the pretext's. Under mpirun the features are divided over the
   ranks and every rank searches the whole table (the same bits everywhere). */
static scan_status refresh_neighbors(cluster_run *r, int full_epoch) {
  const long n = r->train->count;
  const int dim = scan_net_feature_dim(r->net), k = r->train_nbrs.used - 1;
  float *features = scan_malloc(sizeof(float) * (size_t)n * (size_t)dim);
  int64_t *rows = scan_malloc(sizeof(int64_t) * (size_t)n * (size_t)(k + 1));
  scan_status status = features && rows ? SCAN_OK : scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  char label[96], path[SCAN_PATH_MAX];
  snprintf(label, sizeof label, "cluster: features to mine neighbours again (epoch %d)", r->cfg->warmup_epochs + full_epoch + 1);
  if (status == SCAN_OK) status = scan_pipeline_predict_sharded(r->p, r->net, r->train, label, features, NULL);
  const int64_t bad = status == SCAN_OK ? scan_knn_first_nonfinite_row(features, n, dim) : -1;
  if (bad >= 0)
    status = scan_fail(SCAN_ERR_INPUT, "cluster: the backbone gives training image %lld a NaN or infinite feature",
                       (long long)bad);
  if (status == SCAN_OK) {
    const double start = scan_now_seconds();
    scan_l2_normalize_rows(features, n, dim);
    status = scan_knn_self(features, n, dim, k, rows, NULL);
    if (status == SCAN_OK && scan_dist_is_root()) {
      long kept = 0; /* neighbours that were neighbours before, a sign of how far the space moved */
      for (long i = 0; i < n; i++)
        for (int j = 1; j <= k; j++)
          for (int m = 1; m <= k; m++) kept += rows[i * (k + 1) + j] == r->train_nbrs.indices[i * r->train_nbrs.cols + m];
      fprintf(stderr, "cluster: top-%d neighbours mined again on the backbone in %.2f s, %.1f%% of them kept", k,
              scan_now_seconds() - start, 100.0 * (double)kept / ((double)n * k));
      if (r->train->labels)
        fprintf(stderr, "; neighbour accuracy %.2f%%", scan_neighbor_accuracy(rows, n, k + 1, r->train->labels));
      fprintf(stderr, "\n");
    }
  }
  if (status == SCAN_OK) set_neighbors(&r->train_nbrs, rows, k);
  if (status == SCAN_OK && scan_dist_is_root()) {
    scan_array a = {SCAN_I64, 2, {n, k + 1}, rows};
    status = scan_pipeline_path(r->p, path, sizeof path, refreshed_neighbors);
    if (status == SCAN_OK) status = scan_npy_write(path, &a);
  }
  free(features);
  free(rows);
  if (status == SCAN_OK) scan_stop_point("cluster-refresh", NULL);
  return status;
}

/* A resume in the middle of the whole-network phase: the neighbours the last refresh mined, if one happened. */
static scan_status resume_neighbors(cluster_run *r, int start_epoch) {
  const int every = r->cfg->refresh_epochs, full_epoch = start_epoch - r->cfg->warmup_epochs;
  /* none yet, or this epoch's begin refreshes anyway */
  if (every <= 0 || full_epoch < every || full_epoch % every == 0) return SCAN_OK;
  char path[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(r->p, path, sizeof path, refreshed_neighbors));
  if (!scan_file_exists(path))
    return scan_fail(SCAN_ERR_INPUT, "%s: missing; the checkpoint continues after a refresh of the neighbours "
                     "(neighbor_refresh_epochs %d) that it needs ('scan cluster --restart' starts the stage afresh)",
                     path, every);
  neighbor_table saved = {0};
  SCAN_TRY(neighbors_load_file(r->p, refreshed_neighbors, "train", r->train->count, r->train_nbrs.used - 1, &saved));
  scan_status status = saved.cols == r->train_nbrs.used
                           ? SCAN_OK
                           : scan_fail(SCAN_ERR_INPUT, "%s: %d neighbours per image, the run uses %d", path,
                                       saved.cols - 1, r->train_nbrs.used - 1);
  if (status == SCAN_OK) set_neighbors(&r->train_nbrs, saved.indices, saved.cols - 1);
  neighbors_free(&saved);
  return status;
}

static scan_status cluster_begin_epoch(void *ctx, int epoch) {
  cluster_run *r = ctx;
  if (!r->warmup) {
    const int every = r->cfg->refresh_epochs, full_epoch = epoch - r->cfg->warmup_epochs;
    return every > 0 && full_epoch > 0 && full_epoch % every == 0 ? refresh_neighbors(r, full_epoch) : SCAN_OK;
  }
  for (long i = 0; i < r->train->count; i++) r->order[i] = (int32_t)i;
  scan_rng rng = scan_rng_make(r->p->seed, 1000 + (uint64_t)epoch, 0);
  scan_rng_shuffle(&rng, r->order, (int)r->train->count);
  return SCAN_OK;
}

/* A warm-up step: the heads alone on cached features of anchors and a random neighbour each. */
static scan_status warmup_step(cluster_run *r, int epoch, long step, scan_step_result *out) {
  const int dim = scan_net_feature_dim(r->net), global_b = r->batch_size;
  long first = 0, count = global_b; /* data-parallel: this rank's contiguous part of the global batch */
  scan_dist_share(global_b, scan_dist_rank(), scan_dist_size(), &first, &count);
  const int b = (int)count;
  for (int i = 0; i < b; i++) {
    long anchor = r->order[step * global_b + first + i];
    scan_rng pick = scan_rng_make(r->p->seed, 2000 + (uint64_t)epoch, (uint64_t)anchor);
    long other = random_neighbor(&r->train_nbrs, anchor, &pick);
    memcpy(r->batch_rows + (size_t)i * dim, r->features + anchor * dim, sizeof(float) * (size_t)dim);
    memcpy(r->batch_rows + (size_t)(b + i) * dim, r->features + other * dim, sizeof(float) * (size_t)dim);
  }
  SCAN_TRY(scan_net_heads_forward(r->net, r->batch_rows, 2 * b));
  out->loss = heads_loss(r, b, global_b);
  if (!isfinite(out->loss)) return SCAN_OK; /* the scaffold stops with its message, before any update */
  scan_net_zero_grad(r->net);
  return scan_net_heads_backward(r->net, (const float *const *)r->d_heads); /* the scaffold steps heads_opt */
}

static scan_status cluster_step(void *ctx, const scan_batch *batch, int epoch, long step, scan_step_result *out) {
  cluster_run *r = ctx;
  if (r->warmup) return warmup_step(r, epoch, step, out);
  const int n = batch->n, head_only = r->cfg->head_only;
  memcpy(r->batch_rows, batch->a, sizeof(float) * r->image_floats * (size_t)n);
  memcpy(r->batch_rows + r->image_floats * (size_t)n, batch->b, sizeof(float) * r->image_floats * (size_t)n);
  /* Head-only mode keeps batch-norm statistics frozen (eval mode), as the reference does. */
  SCAN_TRY(scan_net_forward(r->net, r->batch_rows, 2 * n, head_only ? 0 : 1));
  out->loss = heads_loss(r, n, batch->global_n);
  if (!isfinite(out->loss)) return SCAN_OK;
  scan_net_zero_grad(r->net);
  return head_only ? scan_net_heads_backward(r->net, (const float *const *)r->d_heads)
                   : scan_net_backward(r->net, (const float *const *)r->d_heads, NULL); /* the scaffold steps opt */
}

/* Validates every head, saves the model when the best head improved, and gives the checkpoint the loss to beat. */
static scan_status cluster_end_epoch(void *ctx, int epoch, const scan_epoch_stats *stats, scan_epoch_end *end) {
  cluster_run *r = ctx;
  head_validation *v = scan_calloc((unsigned long)r->heads, sizeof *v);
  if (!v) return SCAN_ERR_INTERNAL;
  int best = 0;
  scan_status status = validate_heads(r->p, r->net, r->val, &r->val_nbrs, r->cfg->selection_entropy_weight, v, &best);
  char best_text[64], head_text[16], path[SCAN_PATH_MAX];
  /* Warm-up models compete for "best" only when there is no whole-network phase: whole-network training moves
     the backbone away from the pretext features the validation neighbours were mined with, which raises the
     validation consistency term a little even while the clusters get better (measured on Fashion-MNIST: the
     last warm-up epoch had the lower loss at 64.0% ACC, the whole-network epochs reached 67.3%). */
  int eligible = !r->warmup || r->cfg->train.epochs == 0;
  if (status == SCAN_OK && eligible && v[best].total < r->best_loss) {
    r->best_loss = v[best].total;
    snprintf(best_text, sizeof best_text, "%.17g", r->best_loss); /* round-trips: a resume compares against it */
    snprintf(head_text, sizeof head_text, "%d", best);
    const char *metadata[] = {"stage", "cluster", "best_head", head_text, "val_loss", best_text, NULL};
    status = scan_path_join(path, sizeof path, r->dir, "model.safetensors");
    if (status == SCAN_OK) status = scan_net_save(r->net, path, metadata);
  }
  snprintf(end->checkpoint_key, sizeof end->checkpoint_key, "val_loss");
  snprintf(end->checkpoint_value, sizeof end->checkpoint_value, "%.17g", r->best_loss);
  if (status == SCAN_OK) {
    size_t size = 4096 + (size_t)r->heads * (size_t)(256 + 12 * r->classes);
    char *heads_json = scan_malloc(size);
    end->log_fields = scan_malloc(size + 64);
    if (!heads_json || !end->log_fields) status = SCAN_ERR_INTERNAL; /* the allocation said so */
    if (status == SCAN_OK) {
      head_validation_json(v, r->heads, r->classes, heads_json, size);
      snprintf(end->log_fields, size + 64, "\"best_head\": %d, \"heads\": %s", best, heads_json);
    }
    free(heads_json);
  }
  if (status == SCAN_OK && scan_dist_is_root()) { /* data-parallel: rank 0 speaks for all */
    const char *phase = r->warmup ? "warmup" : "full";
    const double train_loss = scan_epoch_mean_loss(stats);
    if (v[best].acc >= 0)
      fprintf(stderr, "cluster epoch %d (%s): train loss %.4f, best head %d: val loss %.4f, ACC %.2f%%, NMI %.4f, ARI %.4f\n",
              epoch + 1, phase, train_loss, best, v[best].total, 100 * v[best].acc, v[best].nmi, v[best].ari);
    else
      fprintf(stderr, "cluster epoch %d (%s): train loss %.4f, best head %d: val loss %.4f\n", epoch + 1, phase, train_loss,
              best, v[best].total);
  }
  free(v);
  return status;
}

static double checkpoint_best_loss(const char *dir) {
  char path[SCAN_PATH_MAX];
  if (scan_path_join(path, sizeof path, dir, "checkpoint.safetensors") != SCAN_OK) return INFINITY;
  /* "val_loss", the self-label model's name for the same thing; checkpoints written before said "best_loss". */
  return scan_model_metadata_number(path, "val_loss", scan_model_metadata_number(path, "best_loss", INFINITY));
}

/* The head warm-up: heads only, on backbone features computed once (the backbone does not change). */
static scan_status run_warmup(cluster_run *r, scan_trainer *t, int start_epoch) {
  if (start_epoch >= r->cfg->warmup_epochs) return SCAN_OK;
  const int dim = scan_net_feature_dim(r->net);
  r->features = scan_malloc(sizeof(float) * (size_t)r->train->count * (size_t)dim);
  r->order = scan_malloc(sizeof(int32_t) * (size_t)r->train->count);
  r->batch_rows = scan_malloc(sizeof(float) * (size_t)dim * 2 * (size_t)r->batch_size);
  if (!r->features || !r->order || !r->batch_rows) return SCAN_ERR_INTERNAL;
  SCAN_TRY(scan_pipeline_predict_sharded(r->p, r->net, r->train, "cluster: backbone features for the head warm-up",
                                        r->features, NULL));
  r->warmup = 1;
  /* warm-up "images" are cached feature vectors: anchors and neighbours */
  scan_train_phase phase = {.name = "warmup", .first_epoch = start_epoch, .end_epoch = r->cfg->warmup_epochs,
                            .steps = r->train->count / r->batch_size, .images_per_step = 2 * r->batch_size,
                            .optimizer = r->heads_opt};
  scan_status status = scan_trainer_run(t, &phase);
  r->warmup = 0;
  free(r->batch_rows);
  r->batch_rows = NULL;
  return status;
}

scan_status scan_stage_cluster(scan_pipeline *p) {
  const char *stage = "cluster";
  const scan_cluster_settings *cfg = &p->settings.cluster;
  cluster_run r = {.p = p, .cfg = cfg, .best_loss = INFINITY, .batch_size = cfg->train.batch_size};
  SCAN_TRY(scan_pipeline_train_data(p, &r.train));
  SCAN_TRY(scan_pipeline_val_data(p, &r.val));
  SCAN_TRY(scan_pipeline_check_data(p, stage)); /* the ranges were validated when the configuration was opened */
  SCAN_TRY(scan_pipeline_path(p, r.dir, sizeof r.dir, "cluster"));
  SCAN_TRY(scan_make_dirs(r.dir));

  scan_aug_config aug;
  char pretext_path[SCAN_PATH_MAX];
  int start_epoch = 0;
  const int total_epochs = cfg->warmup_epochs + cfg->train.epochs;
  scan_trainer t = {.p = p, .stage = stage, .settings = &cfg->train, .total_epochs = total_epochs, .ctx = &r,
                    .begin_epoch = cluster_begin_epoch, .step = cluster_step, .end_epoch = cluster_end_epoch};
  /* The pretext model first: without it the neighbours are missing too, and the step to suggest is 'scan pretext'. */
  scan_status status = scan_pipeline_path(p, pretext_path, sizeof pretext_path, "pretext/model.safetensors");
  if (status == SCAN_OK && !scan_file_exists(pretext_path))
    status = scan_fail(SCAN_ERR_INPUT, "%s: no pretext model in this run (run 'scan pretext', then 'scan mine')", pretext_path);
  if (status == SCAN_OK) status = scan_pipeline_augment(p, stage, 0, &aug);
  if (status == SCAN_OK) status = scan_pipeline_create_net(p, stage, 2 * r.batch_size, &r.net);
  if (status == SCAN_OK) {
    status = scan_net_load(r.net, pretext_path, "contrastive_head.,cluster_head."); /* heads start fresh */
    if (status != SCAN_OK)
      scan_fail_context(status, "the pretext backbone does not fit this configuration (backbone and model_kwargs "
                                "must be those 'scan pretext' ran with)");
  }
  if (status == SCAN_OK) status = neighbors_load(p, "train", r.train->count, cfg->num_neighbors, &r.train_nbrs);
  if (status == SCAN_OK) status = neighbors_load(p, "val", r.val->count, cfg->num_neighbors_val, &r.val_nbrs);
  if (status == SCAN_OK) status = scan_optim_create(&r.opt, r.net, &cfg->train.backbone, &cfg->train.heads, cfg->head_only);
  if (status == SCAN_OK) status = scan_optim_create(&r.heads_opt, r.net, &cfg->train.heads, &cfg->train.heads, 1);
  t.net = r.net;
  t.opt = r.opt;
  if (status == SCAN_OK) status = scan_trainer_resume(&t, &start_epoch);
  if (status != SCAN_OK) goto done;
  if (start_epoch > 0) r.best_loss = checkpoint_best_loss(r.dir);
  r.heads = scan_net_num_heads(r.net);
  r.classes = scan_net_head_dim(r.net);
  r.image_floats = (size_t)aug.channels * (size_t)aug.out_size * (size_t)aug.out_size;
  r.d_heads = scan_calloc((unsigned long)r.heads, sizeof *r.d_heads);
  r.sums = scan_malloc(sizeof(double) * (size_t)r.heads * (size_t)(r.classes + 1));
  if (!r.d_heads || !r.sums) { status = SCAN_ERR_INTERNAL; goto done; }
  for (int h = 0; h < r.heads && status == SCAN_OK; h++) {
    r.d_heads[h] = scan_malloc(sizeof(float) * 2 * (size_t)r.batch_size * (size_t)r.classes);
    if (!r.d_heads[h]) status = SCAN_ERR_INTERNAL;
  }
  if (status == SCAN_OK) status = run_warmup(&r, &t, start_epoch);
  if (start_epoch < cfg->warmup_epochs) start_epoch = cfg->warmup_epochs;
  if (status == SCAN_OK) status = resume_neighbors(&r, start_epoch);
  if (status != SCAN_OK || start_epoch >= total_epochs) goto done;

  scan_loader_config lc = training_loader_config(p, r.train, SCAN_BATCH_NEIGHBOR_PAIRS, &aug, NULL, r.batch_size,
                                                 cfg->train.workers);
  lc.neighbors = r.train_nbrs.indices;
  lc.neighbor_cols = r.train_nbrs.cols;
  lc.num_neighbors = r.train_nbrs.used - 1;
  r.batch_rows = scan_malloc(sizeof(float) * r.image_floats * 2 * (size_t)r.batch_size);
  if (!r.batch_rows) { status = SCAN_ERR_INTERNAL; goto done; }
  scan_train_phase phase = {.name = "full", .first_epoch = start_epoch, .end_epoch = total_epochs, .loader = &lc,
                            .optimizer = r.opt, .scheduled = r.opt, .schedule_start = cfg->warmup_epochs};
  status = scan_trainer_run(&t, &phase);
done:
  free(r.batch_rows);
  free(r.features);
  free(r.order);
  for (int h = 0; r.d_heads && h < r.heads; h++) free(r.d_heads[h]);
  free(r.d_heads);
  free(r.sums);
  if (r.opt) scan_optim_free(r.opt);
  if (r.heads_opt) scan_optim_free(r.heads_opt);
  if (r.net) scan_net_free(r.net);
  neighbors_free(&r.train_nbrs);
  neighbors_free(&r.val_nbrs);
  return status;
}
