#include "scan/training.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/safetensors.h"

scan_status training_optim_configs(scan_pipeline *p, const char *stage, scan_optim_config *backbone, scan_optim_config *heads) {
  scan_config *c = p->cfg;
  const char *name = NULL;
  SCAN_TRY(scan_config_get_string(c, stage, "optimizer", &name));
  scan_optim_config o = {0};
  if (strcmp(name, "sgd") == 0) o.kind = SCAN_OPT_SGD;
  else if (strcmp(name, "adam") == 0) o.kind = SCAN_OPT_ADAM;
  else return scan_fail(SCAN_ERR_INPUT, "config: %s.optimizer '%s' is not sgd or adam", stage, name);
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
  /* Ranges (lr, momentum, betas, ...) were validated with the whole configuration (scan_config_validate). */
  *heads = o;
  *backbone = o;
  if (scan_config_is_set(c, stage, "optimizer_kwargs.backbone_lr") || strcmp(stage, "scan") == 0) {
    double backbone_lr = 0;
    SCAN_TRY(scan_config_get_double(c, stage, "optimizer_kwargs.backbone_lr", &backbone_lr));
    if (backbone_lr > 0) backbone->lr = backbone_lr;
  }
  return SCAN_OK;
}

scan_status training_schedule_load(scan_pipeline *p, const char *stage, training_schedule *s) {
  memset(s, 0, sizeof *s);
  const char *kind = NULL;
  SCAN_TRY(scan_config_get_string(p->cfg, stage, "scheduler", &kind));
  if (strcmp(kind, "cosine") && strcmp(kind, "step") && strcmp(kind, "constant"))
    return scan_fail(SCAN_ERR_INPUT, "config: %s.scheduler '%s' is not cosine, step or constant", stage, kind);
  snprintf(s->kind, sizeof s->kind, "%s", kind);
  SCAN_TRY(scan_config_get_double(p->cfg, stage, "scheduler_kwargs.lr_decay_rate", &s->decay_rate));
  SCAN_TRY(scan_config_get_ints(p->cfg, stage, "scheduler_kwargs.lr_decay_epochs", s->decay_epochs, 32, &s->decay_count));
  int warmup = 0;
  SCAN_TRY(scan_config_get_int(p->cfg, stage, "scheduler_kwargs.warmup_steps", &warmup));
  SCAN_TRY(scan_config_get_bool(p->cfg, stage, "scheduler_kwargs.per_step", &s->per_step));
  if (warmup < 0 || s->decay_rate < 0) return scan_fail(SCAN_ERR_INPUT, "config: %s.scheduler_kwargs must be >= 0", stage);
  s->warmup_steps = warmup;
  return SCAN_OK;
}

double training_lr(const training_schedule *s, double base_lr, int epoch, int epochs, long step, long steps_per_epoch) {
  if (strcmp(s->kind, "constant") == 0) return base_lr;
  if (strcmp(s->kind, "step") == 0) return scan_lr_step(base_lr, s->decay_rate, s->decay_epochs, s->decay_count, epoch);
  if (s->per_step) /* linear warm-up, then a cosine per step (the Fashion-MNIST probe's schedule) */
    return scan_lr_warmup_cosine(base_lr, (long)epoch * steps_per_epoch + step, s->warmup_steps, (long)epochs * steps_per_epoch);
  return scan_lr_cosine(base_lr, s->decay_rate, epoch, epochs); /* the reference: once per epoch */
}

scan_status training_check_loss(double loss, const char *stage, int epoch, long step) {
  if (isfinite(loss)) return SCAN_OK;
  return scan_fail(SCAN_ERR_INPUT,
                   "%s: the loss became %s at epoch %d, step %ld; training stopped and the last good checkpoint was kept "
                   "(try a lower learning rate)",
                   stage, isnan(loss) ? "NaN" : "infinite", epoch + 1, step);
}

scan_loader_config training_loader_config(const scan_pipeline *p, const scan_dataset *data, scan_batch_kind kind,
                                          const scan_aug_config *aug_a, const scan_aug_config *aug_b, int batch_size,
                                          int workers) {
  scan_loader_config lc = {0};
  lc.data = data;
  lc.kind = kind;
  lc.aug_a = aug_a;
  lc.aug_b = aug_b;
  lc.batch_size = batch_size;
  lc.shuffle = 1;
  lc.drop_last = 1;
  lc.seed = p->seed;
  lc.threads = workers > 0 ? workers : 1;
  lc.prefetch = lc.threads + 2; /* enough batches in flight that the training step never waits */
  return lc;
}
