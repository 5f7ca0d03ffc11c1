/* The heads on top of the backbone features (spec §5.4, §5.5):
 *   MLP:     contrastive_head.0 (Linear D->D), ReLU, contrastive_head.2 (Linear D->F), L2 normalise
 *   LINEAR:  contrastive_head (Linear D->F), L2 normalise
 *   CLUSTER: cluster_head.h (Linear D->K) for each head h, raw logits */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

static int add_linear(scan_net *net, net_linear *l, const char *name, int in, int out) {
  char full[96];
  int64_t wshape[2] = {out, in}, bshape[1] = {out};
  snprintf(full, sizeof full, "%s.weight", name);
  l->weight = net_add_param(net, full, 2, wshape, 0, 1, INIT_UNIFORM_FAN_IN, in);
  snprintf(full, sizeof full, "%s.bias", name);
  int bias = net_add_param(net, full, 1, bshape, 0, 1, INIT_UNIFORM_FAN_IN, in);
  l->in = in;
  l->out = out;
  return l->weight < 0 || bias < 0 ? -1 : 0;
}

scan_status net_build_heads(scan_net *net) {
  const scan_head_config *h = &net->head_cfg;
  const int d = net->tensors[net->feature_tensor].c;
  switch (h->kind) {
    case SCAN_HEAD_NONE: net->head_count = 0; break;
    case SCAN_HEAD_MLP:
    case SCAN_HEAD_LINEAR:
      if (h->features_dim <= 0) return scan_fail(SCAN_ERR_INPUT, "contrastive head: features_dim must be positive, got %d", h->features_dim);
      net->head_count = 1;
      break;
    case SCAN_HEAD_CLUSTER:
      if (h->num_heads <= 0 || h->num_classes <= 0)
        return scan_fail(SCAN_ERR_INPUT, "cluster head: num_heads (%d) and num_classes (%d) must be positive", h->num_heads, h->num_classes);
      net->head_count = h->num_heads;
      break;
    default: return scan_fail(SCAN_ERR_INPUT, "unknown head kind %d", (int)h->kind);
  }
  if (net->head_count == 0) return SCAN_OK;
  net->heads = scan_calloc((unsigned long)net->head_count, sizeof *net->heads);
  if (!net->heads) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for heads");
  int failed = 0;
  if (h->kind == SCAN_HEAD_MLP) {
    net_head *head = &net->heads[0];
    head->layer_count = 2;
    head->normalise = 1;
    failed |= add_linear(net, &head->layers[0], "contrastive_head.0", d, d);
    failed |= add_linear(net, &head->layers[1], "contrastive_head.2", d, h->features_dim);
  } else if (h->kind == SCAN_HEAD_LINEAR) {
    net->heads[0].layer_count = 1;
    net->heads[0].normalise = 1;
    failed |= add_linear(net, &net->heads[0].layers[0], "contrastive_head", d, h->features_dim);
  } else {
    for (int i = 0; i < net->head_count; i++) {
      char name[64];
      snprintf(name, sizeof name, "cluster_head.%d", i);
      net->heads[i].layer_count = 1;
      failed |= add_linear(net, &net->heads[i].layers[0], name, d, h->num_classes);
    }
  }
  return failed ? scan_fail(SCAN_ERR_INTERNAL, "out of memory for head parameters") : SCAN_OK;
}

static int head_out_dim(const net_head *h) { return h->layers[h->layer_count - 1].out; }

scan_status net_plan_heads(scan_net *net) {
  int widest = net->tensors[net->feature_tensor].c;
  for (int i = 0; i < net->head_count; i++) {
    net_head *h = &net->heads[i];
    int out = head_out_dim(h);
    if (out > widest) widest = out;
    int64_t rows = net->max_batch;
    h->output = scan_malloc((unsigned long)(rows * out) * sizeof(float));
    if (h->layer_count == 2) h->hidden = scan_malloc((unsigned long)(rows * h->layers[0].out) * sizeof(float));
    if (h->normalise) h->pre_norm = scan_malloc((unsigned long)(rows * out) * sizeof(float));
    if (!h->output || (h->layer_count == 2 && !h->hidden) || (h->normalise && !h->pre_norm))
      return scan_fail(SCAN_ERR_INTERNAL, "out of memory for head buffers");
  }
  for (int k = 0; k < 3; k++) {
    net->head_scratch[k] = scan_malloc((unsigned long)((int64_t)net->max_batch * widest) * sizeof(float));
    if (!net->head_scratch[k]) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for head buffers");
  }
  return SCAN_OK;
}

void net_free_heads(scan_net *net) {
  for (int i = 0; i < net->head_count && net->heads; i++) {
    free(net->heads[i].output);
    free(net->heads[i].hidden);
    free(net->heads[i].pre_norm);
  }
  free(net->heads);
  for (int k = 0; k < 3; k++) free(net->head_scratch[k]);
}

static const float *w_of(const scan_net *net, const net_linear *l) { return net->params[l->weight].p.data; }
static const float *b_of(const scan_net *net, const net_linear *l) { return net->params[l->weight + 1].p.data; }

/* Runs every head on the features tensor's first n rows. */
scan_status net_heads_run(scan_net *net, int n) {
  const scan_backend *be = net->backend;
  const float *x = net->tensors[net->feature_tensor].data;
  for (int i = 0; i < net->head_count; i++) {
    net_head *h = &net->heads[i];
    const net_linear *last = &h->layers[h->layer_count - 1];
    const float *last_in = x;
    if (h->layer_count == 2) {
      const net_linear *first = &h->layers[0];
      SCAN_TRY(scan_linear_forward(be, n, first->in, first->out, x, w_of(net, first), b_of(net, first), h->hidden));
      SCAN_TRY(be->relu_forward((int64_t)n * first->out, h->hidden, h->hidden));
      last_in = h->hidden;
    }
    float *z = h->normalise ? h->pre_norm : h->output;
    SCAN_TRY(scan_linear_forward(be, n, last->in, last->out, last_in, w_of(net, last), b_of(net, last), z));
    if (h->normalise) SCAN_TRY(be->l2norm_forward(n, last->out, h->pre_norm, h->output));
  }
  return SCAN_OK;
}

static scan_status linear_grads(scan_net *net, const net_linear *l, int n, const float *x, const float *dy, float *dx) {
  net_param *w = &net->params[l->weight], *b = &net->params[l->weight + 1];
  return scan_linear_backward(net->backend, n, l->in, l->out, x, w->p.data, dy, dx, w->p.grad, b->p.grad);
}

/* Backward through every head with a gradient; the feature gradient is added into the features tensor
 * following the first-writer protocol of net_tensor. */
scan_status net_heads_backprop(scan_net *net, const float *const *d_heads, int n) {
  const scan_backend *be = net->backend;
  net_tensor *features = &net->tensors[net->feature_tensor];
  const int d = features->c;
  for (int i = 0; i < net->head_count; i++) {
    if (!d_heads || !d_heads[i]) continue;
    net_head *h = &net->heads[i];
    const net_linear *last = &h->layers[h->layer_count - 1];
    const float *dz = d_heads[i];
    if (h->normalise) {
      SCAN_TRY(be->l2norm_backward(n, last->out, h->pre_norm, h->output, d_heads[i], net->head_scratch[0]));
      dz = net->head_scratch[0];
    }
    float *dx = features->grad_written ? net->head_scratch[2] : features->grad;
    if (h->layer_count == 2) {
      float *dhidden = net->head_scratch[1];
      SCAN_TRY(linear_grads(net, last, n, h->hidden, dz, dhidden));
      SCAN_TRY(be->relu_backward((int64_t)n * last->in, h->hidden, dhidden, dhidden));
      SCAN_TRY(linear_grads(net, &h->layers[0], n, features->data, dhidden, dx));
    } else {
      SCAN_TRY(linear_grads(net, last, n, features->data, dz, dx));
    }
    if (features->grad_written) SCAN_TRY(be->accumulate((int64_t)n * d, dx, features->grad));
    features->grad_written = 1;
  }
  return SCAN_OK;
}
