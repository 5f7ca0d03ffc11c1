/* Building a net: tensors, parameters and ops are appended by the model files, then net_plan allocates the
 * parameter block, the gradient block and every activation once, and initialises the parameters. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "scan/rng.h"

/* Grows *array by one element of `size` bytes; returns the new element's index or -1. */
static int grow(void **array, int *count, size_t size, int *failed) {
  void *bigger = scan_realloc(*array, (size_t)(*count + 1) * size);
  if (!bigger) {
    *failed = BUILD_OUT_OF_MEMORY;
    return -1;
  }
  *array = bigger;
  memset((char *)bigger + (size_t)*count * size, 0, size);
  return (*count)++;
}

int64_t net_tensor_numel(const net_tensor *t) { return (int64_t)scan_channel_blocks(t->c, t->block) * t->block * t->h * t->w; }

int net_add_tensor(scan_net *net, int c, int h, int w) {
  int i = grow((void **)&net->tensors, &net->tensor_count, sizeof(net_tensor), &net->build_failed);
  if (i < 0) return -1;
  net->tensors[i].c = c;
  net->tensors[i].h = h;
  net->tensors[i].w = w;
  net->tensors[i].block = net->block > 0 ? net->block : 1;
  return i;
}

int net_add_param(scan_net *net, const char *name, int ndim, const int64_t *shape, int is_buffer, int is_head, net_init init,
                  int fan) {
  int i = grow((void **)&net->params, &net->param_count, sizeof(net_param), &net->build_failed);
  if (i < 0) return -1;
  net_param *p = &net->params[i];
  snprintf(p->name, sizeof p->name, "%s", name);
  p->p.ndim = ndim;
  p->numel = 1;
  for (int d = 0; d < ndim; d++) {
    p->p.shape[d] = shape[d];
    p->numel *= shape[d];
  }
  p->p.is_buffer = is_buffer;
  p->p.is_head = is_head;
  p->init = init;
  p->fan = fan;
  p->offset = net->param_floats;
  net->param_floats += p->numel;
  return i;
}

static int add_op(scan_net *net, net_op_kind kind, int in, int out) {
  if (in < 0 || out < 0) return -1;
  int i = grow((void **)&net->ops, &net->op_count, sizeof(net_op), &net->build_failed);
  if (i < 0) return -1;
  net->ops[i].kind = kind;
  net->ops[i].in = in;
  net->ops[i].in2 = -1;
  net->ops[i].out = out;
  net->ops[i].param = -1;
  return i;
}

int net_conv(scan_net *net, const char *name, int in, int out_c, int kernel, int stride, int pad) {
  if (in < 0) return -1;
  net_tensor src = net->tensors[in];
  char full[96];
  snprintf(full, sizeof full, "%s.weight", name);
  int64_t shape[4] = {out_c, src.c, kernel, kernel};
  int w = net_add_param(net, full, 4, shape, 0, 0, INIT_KAIMING_FAN_OUT, out_c * kernel * kernel);
  int out = net_add_tensor(net, out_c, scan_window_out(src.h, kernel, stride, pad), scan_window_out(src.w, kernel, stride, pad));
  int op = w < 0 ? -1 : add_op(net, OP_CONV, in, out);
  if (op < 0) return -1;
  net->ops[op].param = w;
  net->ops[op].kernel = kernel;
  net->ops[op].stride = stride;
  net->ops[op].pad = pad;
  return out;
}

int net_bn(scan_net *net, const char *name, int in) {
  if (in < 0) return -1;
  net_tensor src = net->tensors[in];
  static const char *const suffix[5] = {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"};
  static const net_init init[5] = {INIT_ONE, INIT_ZERO, INIT_ZERO, INIT_ONE, INIT_ZERO};
  int first = -1;
  for (int k = 0; k < 5; k++) {
    char full[96];
    snprintf(full, sizeof full, "%s.%s", name, suffix[k]);
    int64_t shape[1] = {src.c};
    /* num_batches_tracked is a 0-d tensor in PyTorch */
    int p = net_add_param(net, full, k == 4 ? 0 : 1, shape, k >= 2, 0, init[k], 0);
    if (p < 0) return -1;
    if (k == 0) first = p;
  }
  int out = net_add_tensor(net, src.c, src.h, src.w);
  int op = add_op(net, OP_BN, in, out);
  if (op < 0) return -1;
  net->ops[op].param = first;
  return out;
}

/* A ReLU straight after a batch-norm or a residual addition is fused into it (one pass over memory instead of two,
 * both ways); anywhere else it is an op of its own with its own output tensor. Either way the gradient of the
 * ReLU's output is never overwritten by the masked one: Grad-CAM reads d(score)/d(activation) at stage outputs,
 * unmasked, as a PyTorch hook on the module's output sees it. */
int net_relu(scan_net *net, int in) {
  if (in < 0) return -1;
  net_op *last = net->op_count ? &net->ops[net->op_count - 1] : NULL;
  if (last && (last->kind == OP_BN || last->kind == OP_ADD) && last->out == in && !last->relu) {
    last->relu = 1;
    return in;
  }
  const net_tensor src = net->tensors[in];
  int out = net_add_tensor(net, src.c, src.h, src.w);
  return add_op(net, OP_RELU, in, out) < 0 ? -1 : out;
}

int net_maxpool(scan_net *net, int in, int kernel, int stride, int pad) {
  if (in < 0) return -1;
  net_tensor src = net->tensors[in];
  int out = net_add_tensor(net, src.c, scan_window_out(src.h, kernel, stride, pad), scan_window_out(src.w, kernel, stride, pad));
  int op = add_op(net, OP_MAXPOOL, in, out);
  if (op < 0) return -1;
  net->ops[op].kernel = kernel;
  net->ops[op].stride = stride;
  net->ops[op].pad = pad;
  return out;
}

int net_gap(scan_net *net, int in) {
  if (in < 0) return -1;
  int out = net_add_tensor(net, net->tensors[in].c, 1, 1);
  if (out >= 0) net->tensors[out].block = 1; /* features are plain [n, D] rows for the heads */
  return add_op(net, OP_GAP, in, out) < 0 ? -1 : out;
}

int net_add(scan_net *net, int a, int b) {
  if (a < 0 || b < 0) return -1;
  if (a == b) {
    net->build_failed = BUILD_SELF_JOIN;
    return -1;
  }
  net_tensor src = net->tensors[a];
  int out = net_add_tensor(net, src.c, src.h, src.w);
  int op = add_op(net, OP_ADD, a, out);
  if (op < 0) return -1;
  net->ops[op].in2 = b;
  return out;
}

void net_mark_stage(scan_net *net, const char *name, int tensor) {
  if (tensor < 0 || net->stage_count >= (int)(sizeof net->stages / sizeof net->stages[0])) return;
  net_stage *s = &net->stages[net->stage_count++];
  snprintf(s->name, sizeof s->name, "%s", name);
  s->tensor = tensor;
}

int net_scale_width(const scan_net *net, int channels) {
  double m = net->backbone.width_multiplier > 0 ? net->backbone.width_multiplier : 1.0;
  int c = (int)lround(channels * m);
  return c < 1 ? 1 : c;
}

/* Parameter p's initial values come from its own stream (seed, p): adding a layer never changes the others. */
void net_init_params(scan_net *net) {
  for (int i = 0; i < net->param_count; i++) {
    net_param *p = &net->params[i];
    scan_rng rng = scan_rng_make(net->seed, (uint64_t)i, 0);
    float *d = p->p.data;
    switch (p->init) {
      case INIT_ZERO: memset(d, 0, (size_t)p->numel * sizeof *d); break;
      case INIT_ONE:
        for (int64_t k = 0; k < p->numel; k++) d[k] = 1.0f;
        break;
      case INIT_KAIMING_FAN_OUT: {
        double std = sqrt(2.0 / p->fan); /* relu gain sqrt(2) over sqrt(fan_out) */
        for (int64_t k = 0; k < p->numel; k++) d[k] = (float)(std * scan_rng_normal(&rng));
        break;
      }
      case INIT_UNIFORM_FAN_IN: {
        double bound = 1.0 / sqrt(p->fan);
        for (int64_t k = 0; k < p->numel; k++) d[k] = (float)scan_rng_range(&rng, -bound, bound);
        break;
      }
    }
  }
}

static int is_stage(const scan_net *net, int tensor) {
  for (int s = 0; s < net->stage_count; s++)
    if (net->stages[s].tensor == tensor) return 1;
  return 0;
}

/* Gradient buffers are shared by tensors whose gradients are never alive at the same time. Backward runs the ops
 * in reverse: tensor t's gradient is first written by its last consumer (op index last[t]) and last read by its
 * producer (first[t], the first op writing t). Closed intervals [first, last] that do not
 * overlap can share a slot. Gradients read after backward keep their own slot: the input (input attributions), the
 * features (written by the heads) and the named stages (Grad-CAM). Returns the number of slots. */
static int plan_gradient_slots(scan_net *net, int *slot_of) {
  const int count = net->tensor_count;
  int *first = scan_malloc((size_t)count * sizeof(int) * 3), *last = first + count, *order = first + 2 * count;
  int *slot_free_below = scan_malloc((size_t)count * sizeof(int)); /* a slot is free for t when its occupant's first > last[t] */
  int slots = 0;
  if (!first || !slot_free_below) { /* fall back to one slot per tensor */
    free(first);
    free(slot_free_below);
    for (int t = 0; t < count; t++) slot_of[t] = t;
    return count;
  }
  for (int t = 0; t < count; t++) first[t] = -1, last[t] = -1, order[t] = t;
  for (int i = 0; i < net->op_count; i++) {
    const net_op *op = &net->ops[i];
    if (first[op->out] < 0) first[op->out] = i;
    last[op->in] = i;
    if (op->in2 >= 0) last[op->in2] = i;
  }
  /* by last use, latest first: the order in which gradients come alive during backward (insertion sort: short) */
  for (int a = 1; a < count; a++)
    for (int b = a; b > 0 && last[order[b]] > last[order[b - 1]]; b--) {
      int tmp = order[b];
      order[b] = order[b - 1];
      order[b - 1] = tmp;
    }
  for (int k = 0; k < count; k++) {
    int t = order[k];
    int dedicated = t == 0 || t == net->feature_tensor || is_stage(net, t) || first[t] < 0 || last[t] < 0;
    int chosen = -1;
    for (int s = 0; s < slots && !dedicated && chosen < 0; s++)
      if (slot_free_below[s] > last[t]) chosen = s;
    if (chosen < 0) chosen = slots++;
    slot_of[t] = chosen;
    slot_free_below[chosen] = dedicated ? -1 : first[t];
  }
  free(first);
  free(slot_free_below);
  return slots;
}

scan_status net_plan(scan_net *net) {
  if (net->build_failed == BUILD_SELF_JOIN)
    return scan_fail(SCAN_ERR_INTERNAL, "network: a residual join of a tensor with itself (x + x) is not supported");
  if (net->build_failed) return scan_fail(SCAN_ERR_INTERNAL, "out of memory while building the network");
  net->param_block = scan_calloc((unsigned long)(net->param_floats ? net->param_floats : 1), sizeof(float));
  net->grad_block = scan_calloc((unsigned long)(net->param_floats ? net->param_floats : 1), sizeof(float));
  if (!net->param_block || !net->grad_block) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for %lld parameters", (long long)net->param_floats);
  for (int i = 0; i < net->param_count; i++) {
    net_param *p = &net->params[i];
    p->p.name = p->name;
    p->p.data = net->param_block + p->offset;
    p->p.grad = p->p.is_buffer ? NULL : net->grad_block + p->offset;
  }
  net_init_params(net);

  /* Activations: data of every tensor, gradients (shared where possible), batch-norm statistics, pooling indices
   * and the accumulation scratch. */
  int *grad_slot = scan_malloc((unsigned long)net->tensor_count * sizeof(int));
  int64_t *slot_floats = scan_calloc((unsigned long)net->tensor_count, sizeof(int64_t));
  if (!grad_slot || !slot_floats) {
    free(grad_slot);
    free(slot_floats);
    return scan_fail(SCAN_ERR_INTERNAL, "out of memory while planning activations");
  }
  int slots = plan_gradient_slots(net, grad_slot);
  int64_t floats = 0, largest = 0, bn_floats = 0, argmax_count = 0;
  for (int i = 0; i < net->tensor_count; i++) {
    int64_t numel = net_tensor_numel(&net->tensors[i]) * net->max_batch;
    floats += numel;
    if (numel > slot_floats[grad_slot[i]]) slot_floats[grad_slot[i]] = numel;
    if (numel > largest) largest = numel;
  }
  for (int s = 0; s < slots; s++) floats += slot_floats[s];
  for (int i = 0; i < net->op_count; i++) {
    if (net->ops[i].kind == OP_BN) bn_floats += 2 * net->tensors[net->ops[i].in].c;
    if (net->ops[i].kind == OP_MAXPOOL) argmax_count += net_tensor_numel(&net->tensors[net->ops[i].out]) * net->max_batch;
  }
  net->scratch_floats = largest;
  float *block = scan_malloc((unsigned long)(floats + largest + bn_floats + argmax_count) * sizeof(float));
  if (!block) {
    free(grad_slot);
    free(slot_floats);
    return scan_fail(SCAN_ERR_INTERNAL, "out of memory for activations (%lld MiB)", (long long)((floats + largest) * 4 >> 20));
  }
  net->activation_block = block;
  for (int i = 0; i < net->tensor_count; i++) {
    net->tensors[i].data = block;
    block += net_tensor_numel(&net->tensors[i]) * net->max_batch;
  }
  float *slot_start = block;
  for (int s = 0; s < slots; s++) {
    for (int i = 0; i < net->tensor_count; i++)
      if (grad_slot[i] == s) net->tensors[i].grad = slot_start;
    slot_start += slot_floats[s];
  }
  block = slot_start;
  free(grad_slot);
  free(slot_floats);
  net->scratch = block;
  block += largest;
  for (int i = 0; i < net->op_count; i++) {
    net_op *op = &net->ops[i];
    if (op->kind == OP_BN) {
      int c = net->tensors[op->in].c;
      op->batch_mean = block;
      op->batch_var = block + c;
      block += 2 * c;
    }
  }
  /* int32 indices share the float block: both are 4 bytes */
  for (int i = 0; i < net->op_count; i++) {
    net_op *op = &net->ops[i];
    if (op->kind == OP_MAXPOOL) {
      op->argmax = (int32_t *)block;
      block += net_tensor_numel(&net->tensors[op->out]) * net->max_batch;
    }
  }
  return SCAN_OK;
}
