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
 * Head selection: the head with the lowest validation SCAN loss, with the SAME
 * entropy weight as training (the reference selects with weight 1 while training
 * with 5; we keep one objective so the choice ranks heads by what they optimised). */
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
#include "scan/progress.h"
#include "scan/rng.h"
#include "scan/safetensors.h"
#include "scan/training.h"

typedef struct {
  scan_pipeline *p;
  scan_net *net;
  const scan_dataset *train, *val;
  neighbor_table train_nbrs, val_nbrs;
  int heads, classes, batch_size, warmup_epochs, epochs;
  size_t image_floats; /* floats per augmented image: channels x size x size */
  double entropy_weight;
  float **d_heads;  /* heads x [2 * batch, classes] */
  double best_loss;
  char dir[SCAN_PATH_MAX];
} cluster_run;

/* SCAN loss of every head over a batch whose first n rows are anchors and last n rows their neighbours. */
static scan_status heads_loss(cluster_run *r, int n, int epoch, long step, double *mean_total) {
  double sum = 0;
  for (int h = 0; h < r->heads; h++) {
    const float *logits = scan_net_head_output(r->net, h);
    scan_scan_loss l = scan_loss_scan(logits, logits + (size_t)n * r->classes, n, r->classes, r->entropy_weight, r->d_heads[h],
                                      r->d_heads[h] + (size_t)n * r->classes);
    SCAN_TRY(training_check_loss(l.total, "scan", epoch, step));
    sum += l.total;
  }
  *mean_total = sum / r->heads;
  return SCAN_OK;
}

static int random_neighbor(const neighbor_table *t, long row, scan_rng *rng) {
  /* Columns 1..used-1 only: the reference may pair an image with itself (spec §18.6). */
  if (t->used < 2) return (int)row;
  return (int)t->indices[row * t->cols + 1 + scan_rng_int(rng, t->used - 1)];
}

static scan_status warmup_epoch(cluster_run *r, scan_optimizer *opt, const float *features, int epoch, double *loss_out) {
  int dim = scan_net_feature_dim(r->net), b = r->batch_size;
  long n = r->train->count, steps = n / b;
  int32_t *order = scan_malloc(sizeof(int32_t) * (size_t)n);
  float *batch = scan_malloc(sizeof(float) * (size_t)dim * 2 * (size_t)b);
  scan_status status = order && batch ? SCAN_OK : SCAN_ERR_INTERNAL;
  for (long i = 0; i < n && order; i++) order[i] = (int32_t)i;
  scan_rng rng = scan_rng_make(r->p->seed, 1000 + (uint64_t)epoch, 0);
  if (status == SCAN_OK) scan_rng_shuffle(&rng, order, (int)n);
  double loss_sum = 0;
  for (long s = 0; s < steps && status == SCAN_OK; s++) {
    for (int i = 0; i < b; i++) {
      long anchor = order[s * b + i];
      scan_rng pick = scan_rng_make(r->p->seed, 2000 + (uint64_t)epoch, (uint64_t)anchor);
      long other = random_neighbor(&r->train_nbrs, anchor, &pick);
      memcpy(batch + (size_t)i * dim, features + anchor * dim, sizeof(float) * (size_t)dim);
      memcpy(batch + (size_t)(b + i) * dim, features + other * dim, sizeof(float) * (size_t)dim);
    }
    double loss = 0;
    status = scan_net_heads_forward(r->net, batch, 2 * b);
    if (status == SCAN_OK) status = heads_loss(r, b, epoch, s, &loss);
    if (status != SCAN_OK) break;
    scan_net_zero_grad(r->net);
    status = scan_net_heads_backward(r->net, (const float *const *)r->d_heads);
    if (status == SCAN_OK) status = scan_optim_step(opt);
    loss_sum += loss;
  }
  *loss_out = steps ? loss_sum / (double)steps : 0;
  free(order);
  free(batch);
  return status;
}

static scan_status full_epoch(cluster_run *r, scan_optimizer *opt, scan_loader *loader, float *input, int head_only,
                              int epoch, double *loss_out) {
  SCAN_TRY(scan_loader_start_epoch(loader, epoch));
  long steps = scan_loader_batches(loader);
  char label[64];
  snprintf(label, sizeof label, "scan epoch %d/%d", epoch + 1, r->warmup_epochs + r->epochs);
  scan_progress progress;
  scan_progress_start(&progress, label, steps * r->batch_size * 2, "img");
  const scan_batch *batch;
  scan_status status = SCAN_OK;
  double loss_sum = 0;
  long step = 0;
  while ((batch = scan_loader_next(loader)) != NULL) {
    int n = batch->n;
    size_t per_image = r->image_floats;
    memcpy(input, batch->a, sizeof(float) * (size_t)per_image * (size_t)n);
    memcpy(input + (size_t)per_image * n, batch->b, sizeof(float) * (size_t)per_image * (size_t)n);
    /* Head-only mode keeps batch-norm statistics frozen (eval mode), as the reference does. */
    status = scan_net_forward(r->net, input, 2 * n, head_only ? 0 : 1);
    double loss = 0;
    if (status == SCAN_OK) status = heads_loss(r, n, epoch, step, &loss);
    if (status != SCAN_OK) break;
    scan_net_zero_grad(r->net);
    status = head_only ? scan_net_heads_backward(r->net, (const float *const *)r->d_heads)
                       : scan_net_backward(r->net, (const float *const *)r->d_heads, NULL);
    if (status == SCAN_OK) status = scan_optim_step(opt);
    if (status != SCAN_OK) break;
    loss_sum += loss;
    step++;
    scan_progress_note(&progress, "loss %.4f", loss_sum / (double)step);
    scan_progress_update(&progress, step * n * 2);
  }
  scan_progress_finish(&progress);
  *loss_out = step ? loss_sum / (double)step : 0;
  return status;
}

/* Validates every head, logs the epoch, saves the model when the best head improved, and checkpoints. */
static scan_status end_epoch(cluster_run *r, scan_optimizer *opt, int epoch, const char *phase, double train_loss, double seconds,
                             long images) {
  head_validation *v = scan_calloc((size_t)r->heads, sizeof *v);
  if (!v) return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  int best = 0;
  scan_status status = validate_heads(r->p, r->net, r->val, &r->val_nbrs, r->entropy_weight, v, &best);
  char best_text[64], head_text[16], path[SCAN_PATH_MAX];
  /* Warm-up models compete for "best" only when there is no whole-network phase: whole-network training moves
     the backbone away from the pretext features the validation neighbours were mined with, which raises the
     validation consistency term a little even while the clusters get better (measured on Fashion-MNIST: the
     last warm-up epoch had the lower loss at 64.0% ACC, the whole-network epochs reached 67.3%). */
  int eligible = strcmp(phase, "full") == 0 || r->epochs == 0;
  if (status == SCAN_OK && eligible && v[best].total < r->best_loss) {
    r->best_loss = v[best].total;
    snprintf(best_text, sizeof best_text, "%.17g", r->best_loss); /* round-trips: a resume compares against it */
    snprintf(head_text, sizeof head_text, "%d", best);
    const char *metadata[] = {"stage", "scan", "best_head", head_text, "val_loss", best_text, NULL};
    status = scan_path_join(path, sizeof path, r->dir, "model.safetensors");
    if (status == SCAN_OK) status = scan_net_save(r->net, path, metadata);
  }
  snprintf(best_text, sizeof best_text, "%.17g", r->best_loss); /* round-trips: a resume compares against it */
  if (status == SCAN_OK) status = training_checkpoint(r->p, "scan", r->net, opt, epoch + 1, "val_loss", best_text);
  if (status == SCAN_OK) {
    size_t size = 4096 + (size_t)r->heads * (size_t)(256 + 12 * r->classes);
    char *heads_json = scan_malloc(size), *line = scan_malloc(size + 512);
    if (!heads_json || !line) status = SCAN_ERR_INTERNAL; /* scan_malloc said why; a missing log line would go unseen */
    if (status == SCAN_OK) {
      head_validation_json(v, r->heads, r->classes, heads_json, size);
      snprintf(line, size + 512,
               "{\"epoch\": %d, \"phase\": \"%s\", \"train_loss\": %.6f, \"seconds\": %.2f, \"images_per_second\": %.1f, "
               "\"best_head\": %d, \"heads\": %s}",
               epoch + 1, phase, train_loss, seconds, seconds > 0 ? (double)images / seconds : 0.0, best, heads_json);
      status = scan_path_join(path, sizeof path, r->dir, "log.jsonl");
      if (status == SCAN_OK) status = scan_log_line(path, line);
    }
    free(heads_json);
    free(line);
    if (v[best].acc >= 0)
      fprintf(stderr, "scan epoch %d (%s): train loss %.4f, best head %d: val loss %.4f, ACC %.2f%%, NMI %.4f, ARI %.4f\n",
              epoch + 1, phase, train_loss, best, v[best].total, 100 * v[best].acc, v[best].nmi, v[best].ari);
    else
      fprintf(stderr, "scan epoch %d (%s): train loss %.4f, best head %d: val loss %.4f\n", epoch + 1, phase, train_loss,
              best, v[best].total);
  }
  free(v);
  return status;
}

static double checkpoint_best_loss(const char *dir) {
  char path[SCAN_PATH_MAX];
  if (scan_path_join(path, sizeof path, dir, "checkpoint.safetensors") != SCAN_OK) return INFINITY; /* no such file */
  /* "val_loss", the self-label model's name for the same thing; checkpoints written before said "best_loss". */
  return scan_model_metadata_number(path, "val_loss", scan_model_metadata_number(path, "best_loss", INFINITY));
}

scan_status scan_stage_cluster(scan_pipeline *p) {
  const char *stage = "scan";
  cluster_run r;
  memset(&r, 0, sizeof r);
  r.p = p;
  r.best_loss = INFINITY;
  int workers = 2, num_neighbors = 20, num_neighbors_val = 5, head_only = 0;
  SCAN_TRY(scan_pipeline_train_data(p, &r.train));
  SCAN_TRY(scan_pipeline_val_data(p, &r.val));
  SCAN_TRY(scan_config_get_int(p->cfg, stage, "epochs", &r.epochs));
  SCAN_TRY(scan_config_get_int(p->cfg, stage, "head_warmup_epochs", &r.warmup_epochs));
  SCAN_TRY(scan_config_get_int(p->cfg, stage, "batch_size", &r.batch_size));
  SCAN_TRY(scan_config_get_int(p->cfg, stage, "num_workers", &workers));
  SCAN_TRY(scan_config_get_int(p->cfg, stage, "num_neighbors", &num_neighbors));
  SCAN_TRY(scan_config_get_int(p->cfg, stage, "num_neighbors_val", &num_neighbors_val));
  SCAN_TRY(scan_config_get_bool(p->cfg, stage, "update_cluster_head_only", &head_only));
  SCAN_TRY(scan_config_get_double(p->cfg, stage, "criterion_kwargs.entropy_weight", &r.entropy_weight));
  SCAN_TRY(scan_pipeline_check_data(p, stage)); /* the ranges were validated when the configuration was opened */
  SCAN_TRY(scan_pipeline_path(p, r.dir, sizeof r.dir, "scan"));
  SCAN_TRY(scan_make_dirs(r.dir));

  scan_optimizer *opt = NULL, *heads_opt = NULL;
  scan_loader *loader = NULL;
  float *input = NULL, *features = NULL;
  scan_aug_config aug;
  scan_optim_config backbone_cfg, heads_cfg;
  char pretext_path[SCAN_PATH_MAX];
  int start_epoch = 0;
  /* The pretext model first: without it the neighbours are missing too, and the step to suggest is 'scan pretext'. */
  scan_status status = scan_pipeline_path(p, pretext_path, sizeof pretext_path, "pretext/model.safetensors");
  if (status == SCAN_OK && !scan_file_exists(pretext_path))
    status = scan_fail(SCAN_ERR_INPUT, "%s: no pretext model in this run (run 'scan pretext', then 'scan mine')", pretext_path);
  if (status == SCAN_OK) status = scan_pipeline_augment(p, stage, 0, &aug);
  if (status == SCAN_OK) status = training_optim_configs(p, stage, &backbone_cfg, &heads_cfg);
  if (status == SCAN_OK) status = scan_pipeline_create_net(p, stage, 2 * r.batch_size, &r.net);
  if (status == SCAN_OK) {
    status = scan_net_load(r.net, pretext_path, "contrastive_head.,cluster_head."); /* heads start fresh */
    if (status != SCAN_OK)
      scan_fail_context(status, "the pretext backbone does not fit this configuration (backbone and model_kwargs "
                                "must be those 'scan pretext' ran with)");
  }
  if (status == SCAN_OK) status = neighbors_load(p, "train", r.train->count, num_neighbors, &r.train_nbrs);
  if (status == SCAN_OK) status = neighbors_load(p, "val", r.val->count, num_neighbors_val, &r.val_nbrs);
  if (status == SCAN_OK) status = scan_optim_create(&opt, r.net, &backbone_cfg, &heads_cfg, head_only);
  if (status == SCAN_OK) status = scan_optim_create(&heads_opt, r.net, &heads_cfg, &heads_cfg, 1);
  if (status == SCAN_OK) status = training_resume(p, "scan", r.net, opt, &start_epoch);
  if (status != SCAN_OK) goto done;
  if (start_epoch > 0) r.best_loss = checkpoint_best_loss(r.dir);
  r.heads = scan_net_num_heads(r.net);
  r.classes = scan_net_head_dim(r.net);
  r.image_floats = (size_t)aug.channels * (size_t)aug.out_size * (size_t)aug.out_size;
  r.d_heads = scan_calloc((size_t)r.heads, sizeof *r.d_heads);
  if (!r.d_heads) { status = scan_fail(SCAN_ERR_INTERNAL, "out of memory"); goto done; }
  for (int h = 0; h < r.heads && status == SCAN_OK; h++) {
    r.d_heads[h] = scan_malloc(sizeof(float) * 2 * (size_t)r.batch_size * (size_t)r.classes);
    if (!r.d_heads[h]) status = SCAN_ERR_INTERNAL;
  }
  if (status != SCAN_OK) goto done;

  if (start_epoch < r.warmup_epochs) {
    /* Backbone features are fixed during warm-up, so compute them once. */
    int dim = scan_net_feature_dim(r.net);
    features = scan_malloc(sizeof(float) * (size_t)r.train->count * (size_t)dim);
    if (!features) { status = SCAN_ERR_INTERNAL; goto done; }
    status = scan_pipeline_predict(p, r.net, r.train, "scan: backbone features for the head warm-up", features, NULL);
    for (int epoch = start_epoch; epoch < r.warmup_epochs && status == SCAN_OK; epoch++) {
      double start = scan_now_seconds(), loss = 0;
      status = warmup_epoch(&r, heads_opt, features, epoch, &loss);
      /* warm-up "images" are cached feature vectors: anchors and neighbours */
      if (status == SCAN_OK)
        status = end_epoch(&r, opt, epoch, "warmup", loss, scan_now_seconds() - start, 2L * (r.train->count / r.batch_size) * r.batch_size);
    }
    start_epoch = r.warmup_epochs;
  }
  if (status != SCAN_OK || start_epoch >= r.warmup_epochs + r.epochs) goto done;

  scan_loader_config lc = training_loader_config(p, r.train, SCAN_BATCH_NEIGHBOR_PAIRS, &aug, NULL, r.batch_size, workers);
  lc.neighbors = r.train_nbrs.indices;
  lc.neighbor_cols = r.train_nbrs.cols;
  lc.num_neighbors = r.train_nbrs.used - 1;
  status = scan_loader_create(&loader, &lc);
  input = scan_malloc(sizeof(float) * r.image_floats * 2 * (size_t)r.batch_size);
  if (status == SCAN_OK && !input) status = SCAN_ERR_INTERNAL;
  for (int epoch = start_epoch; epoch < r.warmup_epochs + r.epochs && status == SCAN_OK; epoch++) {
    double start = scan_now_seconds(), loss = 0;
    status = full_epoch(&r, opt, loader, input, head_only, epoch, &loss);
    if (status == SCAN_OK)
      status = end_epoch(&r, opt, epoch, "full", loss, scan_now_seconds() - start, 2L * scan_loader_batches(loader) * r.batch_size);
  }
done:
  free(input);
  free(features);
  for (int h = 0; r.d_heads && h < r.heads; h++) free(r.d_heads[h]);
  free(r.d_heads);
  if (loader) scan_loader_free(loader);
  if (opt) scan_optim_free(opt);
  if (heads_opt) scan_optim_free(heads_opt);
  if (r.net) scan_net_free(r.net);
  neighbors_free(&r.train_nbrs);
  neighbors_free(&r.val_nbrs);
  return status;
}
