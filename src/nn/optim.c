/* SGD (momentum, Nesterov) and Adam with PyTorch's update rules, over two parameter groups: the backbone with
 * any contrastive head, and the cluster heads. Weight decay is L2 added to the gradient (torch SGD/Adam, not AdamW). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "scan/optim.h"
#include "scan/safetensors.h"

enum { GROUP_BACKBONE, GROUP_HEADS };

struct scan_optimizer {
  scan_net *net;
  scan_optim_config cfg[2];
  int frozen_backbone;
  int64_t steps[2];   /* updates applied so far per group (Adam bias correction; SGD's first momentum step) */
  float *moment1;     /* SGD momentum buffer or Adam exp_avg, indexed like the parameter block */
  float *moment2;     /* Adam exp_avg_sq */
};

static int group_of(const net_param *p) { return strncmp(p->name, "cluster_head.", 13) == 0 ? GROUP_HEADS : GROUP_BACKBONE; }

static scan_status check_cfg(const scan_optim_config *c, const char *group) {
  if (c->kind != SCAN_OPT_SGD && c->kind != SCAN_OPT_ADAM) return scan_fail(SCAN_ERR_INPUT, "optimizer (%s): unknown kind %d", group, (int)c->kind);
  if (!(c->lr >= 0) || !(c->weight_decay >= 0)) return scan_fail(SCAN_ERR_INPUT, "optimizer (%s): lr and weight_decay must be >= 0", group);
  if (c->kind == SCAN_OPT_ADAM && (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1)))
    return scan_fail(SCAN_ERR_INPUT, "optimizer (%s): Adam betas must be in [0, 1)", group);
  if (c->kind == SCAN_OPT_SGD && c->nesterov && c->momentum <= 0)
    return scan_fail(SCAN_ERR_INPUT, "optimizer (%s): Nesterov momentum requires a momentum > 0", group);
  return SCAN_OK;
}

scan_status scan_optim_create(scan_optimizer **out, scan_net *net, const scan_optim_config *backbone_cfg,
                              const scan_optim_config *heads_cfg, int frozen_backbone) {
  *out = NULL;
  if (!heads_cfg) heads_cfg = backbone_cfg;
  SCAN_TRY(check_cfg(backbone_cfg, "backbone"));
  SCAN_TRY(check_cfg(heads_cfg, "heads"));
  scan_optimizer *opt = scan_calloc(1, sizeof *opt);
  if (!opt) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for the optimizer");
  opt->net = net;
  opt->cfg[GROUP_BACKBONE] = *backbone_cfg;
  opt->cfg[GROUP_HEADS] = *heads_cfg;
  opt->frozen_backbone = frozen_backbone;
  unsigned long floats = (unsigned long)(net->param_floats ? net->param_floats : 1);
  opt->moment1 = scan_calloc(floats, sizeof(float));
  opt->moment2 = scan_calloc(floats, sizeof(float));
  if (!opt->moment1 || !opt->moment2) {
    scan_optim_free(opt);
    return scan_fail(SCAN_ERR_INTERNAL, "out of memory for the optimizer state");
  }
  *out = opt;
  return SCAN_OK;
}

void scan_optim_free(scan_optimizer *opt) {
  if (!opt) return;
  free(opt->moment1);
  free(opt->moment2);
  free(opt);
}

void scan_optim_set_lr(scan_optimizer *opt, double backbone_lr, double heads_lr) {
  opt->cfg[GROUP_BACKBONE].lr = backbone_lr;
  opt->cfg[GROUP_HEADS].lr = heads_lr;
}

/* The updates are element-wise; they run inside one parallel region for the whole step ("omp for nowait" per
 * parameter, static schedule), because a region per parameter costs a fork and a barrier each: dozens per step,
 * and on a loaded machine every barrier waits for a descheduled thread. */
static void sgd_update(const scan_optim_config *c, int first_step, int64_t count, float *w, const float *g, float *buf) {
  const float lr = (float)c->lr, wd = (float)c->weight_decay, mom = (float)c->momentum;
#pragma omp for schedule(static) nowait
  for (int64_t i = 0; i < count; i++) {
    float d = g[i] + wd * w[i];
    if (mom != 0) {
      buf[i] = first_step ? d : mom * buf[i] + d; /* torch: the buffer starts as the first gradient, no dampening */
      d = c->nesterov ? d + mom * buf[i] : buf[i];
    }
    w[i] -= lr * d;
  }
}

static void adam_update(const scan_optim_config *c, int64_t step, int64_t count, float *w, const float *g, float *m, float *v) {
  const double bc1 = 1 - pow(c->beta1, (double)step), bc2 = 1 - pow(c->beta2, (double)step);
  const float b1 = (float)c->beta1, b2 = (float)c->beta2, wd = (float)c->weight_decay;
  const float step_size = (float)(c->lr / bc1), bc2_sqrt = (float)sqrt(bc2), eps = (float)c->eps;
#pragma omp for schedule(static) nowait
  for (int64_t i = 0; i < count; i++) {
    float d = g[i] + wd * w[i];
    m[i] = b1 * m[i] + (1 - b1) * d;
    v[i] = b2 * v[i] + (1 - b2) * d * d;
    w[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
  }
}

scan_status scan_optim_step(scan_optimizer *opt) {
  scan_net *net = opt->net;
  int active[2] = {!opt->frozen_backbone, 1};
  for (int g = 0; g < 2; g++)
    if (active[g]) opt->steps[g]++;
#pragma omp parallel
  for (int i = 0; i < net->param_count; i++) {
    net_param *p = &net->params[i];
    int g = group_of(p);
    if (p->p.is_buffer || !active[g]) continue;
    const scan_optim_config *c = &opt->cfg[g];
    if (c->kind == SCAN_OPT_SGD)
      sgd_update(c, opt->steps[g] == 1, p->numel, p->p.data, p->p.grad, opt->moment1 + p->offset);
    else
      adam_update(c, opt->steps[g], p->numel, p->p.data, p->p.grad, opt->moment1 + p->offset, opt->moment2 + p->offset);
  }
  return SCAN_OK;
}

/* State file: per trainable parameter "<name>.exp_avg" (Adam) or "<name>.momentum_buffer" (SGD), "<name>.exp_avg_sq"
 * (Adam), and the step counters "step.backbone" / "step.heads" (I64). */
static const char *moment_suffix(const scan_optim_config *c, int which) {
  if (c->kind == SCAN_OPT_SGD) return which == 0 ? "momentum_buffer" : NULL;
  return which == 0 ? "exp_avg" : "exp_avg_sq";
}

int optim_state_views(const scan_optimizer *opt, scan_tensor_view *views, const char *prefix) {
  const scan_net *net = opt->net;
  int count = 0;
  for (int i = 0; i < net->param_count; i++) {
    const net_param *p = &net->params[i];
    if (p->p.is_buffer) continue;
    const scan_optim_config *c = &opt->cfg[group_of(p)];
    for (int which = 0; which < 2; which++) {
      const char *suffix = moment_suffix(c, which);
      if (!suffix) continue;
      scan_tensor_view *v = &views[count++];
      snprintf(v->name, sizeof v->name, "%s%s.%s", prefix, p->name, suffix);
      v->dtype = SCAN_F32;
      v->ndim = p->p.ndim;
      memcpy(v->shape, p->p.shape, sizeof p->p.shape);
      v->data = (which ? opt->moment2 : opt->moment1) + p->offset;
      v->nbytes = (size_t)p->numel * sizeof(float);
    }
  }
  static const char *const step_names[2] = {"step.backbone", "step.heads"};
  for (int g = 0; g < 2; g++) {
    scan_tensor_view *v = &views[count++];
    snprintf(v->name, sizeof v->name, "%s%s", prefix, step_names[g]);
    v->dtype = SCAN_I64;
    v->ndim = 0;
    v->data = &opt->steps[g];
    v->nbytes = sizeof(int64_t);
  }
  return count;
}

int optim_state_max_views(const scan_optimizer *opt) { return 2 * opt->net->param_count + 2; }

scan_status scan_optim_save(const scan_optimizer *opt, const char *path, const char *const *metadata) {
  scan_tensor_view *views = scan_calloc((unsigned long)optim_state_max_views(opt), sizeof *views);
  if (!views) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path);
  int count = optim_state_views(opt, views, "");
  scan_status st = scan_safetensors_write(path, views, count, metadata);
  free(views);
  return st;
}

static scan_status find_state(const scan_safetensors *f, const char *path, const char *name, scan_dtype dtype, int64_t numel,
                              const scan_tensor_view **out) {
  const scan_tensor_view *v = scan_safetensors_find(f, name);
  if (!v) return scan_fail(SCAN_ERR_INPUT, "%s: missing optimizer state '%s' (different optimizer or network?)", path, name);
  if (v->dtype != dtype || v->nbytes != (size_t)numel * (size_t)scan_dtype_size(dtype))
    return scan_fail(SCAN_ERR_INPUT, "%s: optimizer state '%s' has the wrong type or size", path, name);
  *out = v;
  return SCAN_OK;
}

/* Validates everything, then copies: a failed load leaves the optimizer as it was. */
static scan_status load_from(scan_optimizer *opt, const scan_safetensors *f, const char *path, const char *prefix,
                             int apply) {
  const scan_net *net = opt->net;
  static const char *const step_names[2] = {"step.backbone", "step.heads"};
  for (int g = 0; g < 2; g++) {
    const scan_tensor_view *v;
    char name[200];
    snprintf(name, sizeof name, "%s%s", prefix, step_names[g]);
    SCAN_TRY(find_state(f, path, name, SCAN_I64, 1, &v));
    if (apply) memcpy(&opt->steps[g], v->data, sizeof(int64_t));
  }
  for (int i = 0; i < net->param_count; i++) {
    const net_param *p = &net->params[i];
    if (p->p.is_buffer) continue;
    const scan_optim_config *c = &opt->cfg[group_of(p)];
    for (int which = 0; which < 2; which++) {
      const char *suffix = moment_suffix(c, which);
      if (!suffix) continue;
      char name[200];
      snprintf(name, sizeof name, "%s%s.%s", prefix, p->name, suffix);
      const scan_tensor_view *v;
      SCAN_TRY(find_state(f, path, name, SCAN_F32, p->numel, &v));
      if (apply) memcpy((which ? opt->moment2 : opt->moment1) + p->offset, v->data, v->nbytes);
    }
  }
  return SCAN_OK;
}

scan_status scan_optim_load_from(scan_optimizer *opt, const scan_safetensors *f, const char *path, const char *prefix) {
  SCAN_TRY(load_from(opt, f, path, prefix, 0));
  return load_from(opt, f, path, prefix, 1);
}

scan_status scan_optim_load(scan_optimizer *opt, const char *path) {
  scan_safetensors *f;
  SCAN_TRY(scan_safetensors_read(path, &f));
  scan_status st = scan_optim_load_from(opt, f, path, "");
  scan_safetensors_free(f);
  return st;
}
