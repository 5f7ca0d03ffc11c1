/* Every stage's configuration read once into typed settings (scan/stage_settings.h). Ranges and choices were
 * checked with the whole configuration (scan_config_validate); what is left is turning names into values. */
#include "scan/stage_settings.h"

#include <string.h>

static scan_status read_optimizer(const scan_config *c, const char *stage, scan_train_settings *t) {
  const char *name = NULL;
  SCAN_TRY(scan_config_get_string(c, stage, "optimizer", &name));
  scan_optim_config o = {0};
  if (strcmp(name, "sgd") == 0) o.kind = SCAN_OPT_SGD;
  else if (strcmp(name, "adam") == 0) o.kind = SCAN_OPT_ADAM;
  else return scan_config_refuse(c, stage, "optimizer", "'%s' is not sgd or adam", name);
  SCAN_TRY(scan_config_get_double(c, stage, "optimizer_kwargs.lr", &o.lr));
  SCAN_TRY(scan_config_get_double(c, stage, "optimizer_kwargs.weight_decay", &o.weight_decay));
  SCAN_TRY(scan_config_get_double(c, stage, "optimizer_kwargs.momentum", &o.momentum));
  SCAN_TRY(scan_config_get_bool(c, stage, "optimizer_kwargs.nesterov", &o.nesterov));
  double betas[2] = {0.9, 0.999};
  int count = 0;
  SCAN_TRY(scan_config_get_doubles(c, stage, "optimizer_kwargs.betas", betas, 2, &count));
  if (count == 0) { betas[0] = 0.9; betas[1] = 0.999; }
  o.beta1 = betas[0];
  o.beta2 = betas[1];
  o.eps = 1e-8;
  t->heads = o;
  t->backbone = o;
  /* The clustering stage's default gives the backbone its own, smaller rate (the Fashion-MNIST probe's). */
  if (scan_config_is_set(c, stage, "optimizer_kwargs.backbone_lr") || strcmp(stage, "cluster") == 0) {
    double backbone_lr = 0;
    SCAN_TRY(scan_config_get_double(c, stage, "optimizer_kwargs.backbone_lr", &backbone_lr));
    if (backbone_lr > 0) t->backbone.lr = backbone_lr;
  }
  return SCAN_OK;
}

static scan_status read_schedule(const scan_config *c, const char *stage, scan_lr_schedule *s) {
  memset(s, 0, sizeof *s);
  const char *kind = NULL;
  SCAN_TRY(scan_config_get_string(c, stage, "scheduler", &kind));
  if (strcmp(kind, "cosine") == 0) s->kind = SCAN_LR_COSINE;
  else if (strcmp(kind, "step") == 0) s->kind = SCAN_LR_STEP;
  else if (strcmp(kind, "constant") == 0) s->kind = SCAN_LR_CONSTANT;
  else return scan_config_refuse(c, stage, "scheduler", "'%s' is not cosine, step or constant", kind);
  SCAN_TRY(scan_config_get_double(c, stage, "scheduler_kwargs.lr_decay_rate", &s->decay_rate));
  SCAN_TRY(scan_config_get_ints(c, stage, "scheduler_kwargs.lr_decay_epochs", s->decay_epochs, 32, &s->decay_count));
  int warmup = 0;
  SCAN_TRY(scan_config_get_int(c, stage, "scheduler_kwargs.warmup_steps", &warmup));
  SCAN_TRY(scan_config_get_bool(c, stage, "scheduler_kwargs.per_step", &s->per_step));
  s->warmup_steps = warmup;
  return SCAN_OK;
}

static scan_status read_train(const scan_config *c, const char *stage, scan_train_settings *t) {
  SCAN_TRY(scan_config_get_int(c, stage, "epochs", &t->epochs));
  SCAN_TRY(scan_config_get_int(c, stage, "batch_size", &t->batch_size));
  SCAN_TRY(scan_config_get_int(c, stage, "num_workers", &t->workers));
  SCAN_TRY(scan_config_get_bool(c, stage, "sync_batchnorm", &t->sync_batchnorm));
  SCAN_TRY(scan_config_get_double(c, stage, "allreduce_bucket_mb", &t->allreduce_bucket_mb));
  SCAN_TRY(read_optimizer(c, stage, t));
  const char *conv = NULL;
  SCAN_TRY(scan_config_get_string(c, stage, "conv_algorithm", &conv));
  t->measure_convolutions = strcmp(conv, "measure") == 0;
  return read_schedule(c, stage, &t->schedule);
}

scan_status scan_stage_settings_read(const scan_config *c, scan_stage_settings *out) {
  memset(out, 0, sizeof *out);
  scan_pretext_settings *pre = &out->pretext;
  SCAN_TRY(read_train(c, "pretext", &pre->train));
  SCAN_TRY(scan_config_get_double(c, "pretext", "criterion_kwargs.temperature", &pre->temperature));
  SCAN_TRY(scan_config_get_bool(c, "pretext", "criterion_kwargs.symmetric", &pre->symmetric));

  scan_cluster_settings *cl = &out->cluster;
  SCAN_TRY(read_train(c, "cluster", &cl->train));
  SCAN_TRY(scan_config_get_int(c, "cluster", "head_warmup_epochs", &cl->warmup_epochs));
  SCAN_TRY(scan_config_get_int(c, "cluster", "num_neighbors", &cl->num_neighbors));
  SCAN_TRY(scan_config_get_int(c, "cluster", "num_neighbors_val", &cl->num_neighbors_val));
  SCAN_TRY(scan_config_get_bool(c, "cluster", "update_cluster_head_only", &cl->head_only));
  SCAN_TRY(scan_config_get_double(c, "cluster", "criterion_kwargs.entropy_weight", &cl->entropy_weight));
  SCAN_TRY(scan_config_get_int(c, "cluster", "neighbor_refresh_epochs", &cl->refresh_epochs));
  SCAN_TRY(scan_config_get_double(c, "cluster", "selection_entropy_weight", &cl->selection_entropy_weight));
  const char *source = NULL;
  SCAN_TRY(scan_config_get_string(c, "cluster", "neighbor_features", &source));
  cl->neighbor_features = strcmp(source, "backbone") == 0          ? SCAN_NEIGHBORS_BACKBONE
                          : strcmp(source, "backbone+pixels") == 0 ? SCAN_NEIGHBORS_BACKBONE_PIXELS
                                                                   : SCAN_NEIGHBORS_HEAD;

  scan_selflabel_settings *sl = &out->selflabel;
  const char *adaptive = NULL;
  SCAN_TRY(read_train(c, "selflabel", &sl->train));
  SCAN_TRY(scan_config_get_bool(c, "selflabel", "criterion_kwargs.apply_class_balancing", &sl->class_balancing));
  SCAN_TRY(scan_config_get_double(c, "selflabel", "confidence_threshold", &sl->confidence_threshold));
  SCAN_TRY(scan_config_get_bool(c, "selflabel", "use_ema", &sl->use_ema));
  SCAN_TRY(scan_config_get_double(c, "selflabel", "ema_alpha", &sl->ema_alpha));
  SCAN_TRY(scan_config_get_string(c, "selflabel", "adaptive_threshold", &adaptive));
  SCAN_TRY(scan_config_get_double(c, "selflabel", "adaptive_quantile", &sl->adaptive_quantile));
  SCAN_TRY(scan_config_get_int(c, "selflabel", "num_neighbors_val", &sl->num_neighbors_val));
  sl->adaptive = strcmp(adaptive, "quantile") == 0;

  const char *baseline = NULL;
  SCAN_TRY(scan_config_get_int(c, "eval", "prototypes_topk", &out->eval.prototypes_topk));
  SCAN_TRY(scan_config_get_string(c, "eval", "baseline", &baseline));
  out->eval.kmeans_baseline = strcmp(baseline, "kmeans") == 0;
  return SCAN_OK;
}
