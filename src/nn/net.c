/* scan_net: creation, forward and backward over the layer list, and accessors (include/scan/nn.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

static scan_status check_config(const scan_backbone_config *b, const scan_head_config *h, int max_batch) {
  if (!b || !h) return scan_fail(SCAN_ERR_INPUT, "network: missing backbone or head configuration");
  if (b->in_channels <= 0 || b->height <= 0 || b->width <= 0)
    return scan_fail(SCAN_ERR_INPUT, "network: input shape %dx%dx%d is not positive", b->in_channels, b->height, b->width);
  if (max_batch <= 0) return scan_fail(SCAN_ERR_INPUT, "network: max_batch must be positive, got %d", max_batch);
  if (b->width_multiplier < 0) return scan_fail(SCAN_ERR_INPUT, "network: negative width multiplier %g", b->width_multiplier);
  if (b->kind == SCAN_BACKBONE_VGG) {
    if (b->vgg_stages <= 0 || b->vgg_stages > 8) return scan_fail(SCAN_ERR_INPUT, "VGG: stage count %d is not in 1..8", b->vgg_stages);
    for (int s = 0; s < b->vgg_stages; s++)
      if (b->vgg_widths[s] <= 0) return scan_fail(SCAN_ERR_INPUT, "VGG: stage %d width %d is not positive", s + 1, b->vgg_widths[s]);
  } else if (b->kind != SCAN_BACKBONE_RESNET18_CIFAR && b->kind != SCAN_BACKBONE_RESNET18_STL && b->kind != SCAN_BACKBONE_RESNET50) {
    return scan_fail(SCAN_ERR_INPUT, "network: unknown backbone kind %d", (int)b->kind);
  }
  return SCAN_OK;
}

scan_status scan_net_create(scan_net **out, scan_context *ctx, const scan_backbone_config *b, const scan_head_config *h,
                            int max_batch, uint64_t seed) {
  *out = NULL;
  if (!ctx) return scan_fail_context(SCAN_ERR_INTERNAL, "network: no context");
  SCAN_TRY(check_config(b, h, max_batch));
  scan_net *net = scan_calloc(1, sizeof *net);
  if (!net) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for a network");
  net->ctx = ctx;
  net->backend = scan_context_backend(ctx);
  net->block = scan_context_block(ctx);
  net->backbone = *b;
  net->head_cfg = *h;
  net->max_batch = max_batch;
  net->seed = seed;
  net->fast_convolution = 1; /* scan_net_set_fast_convolution(net, 0): oneDNN direct convolution everywhere */
  int input = net_add_tensor(net, b->in_channels, b->height, b->width);
  if (input >= 0) net->tensors[input].block = 1; /* images arrive as plain NCHW */
  int last = b->kind == SCAN_BACKBONE_VGG ? net_build_vgg(net, input) : net_build_resnet(net, input);
  scan_status st = SCAN_OK;
  for (int i = 0; i < net->tensor_count && st == SCAN_OK; i++)
    if (net->tensors[i].h < 1 || net->tensors[i].w < 1)
      st = scan_fail(SCAN_ERR_INPUT, "network: input %dx%d is too small for this backbone", b->height, b->width);
  net->feature_tensor = net_gap(net, last);
  if (st == SCAN_OK && net->feature_tensor < 0) st = scan_fail(SCAN_ERR_INTERNAL, "out of memory while building the network");
  if (st == SCAN_OK) st = net_build_heads(net);
  if (st == SCAN_OK) st = net_plan(net);
  if (st == SCAN_OK) st = net_plan_heads(net);
  if (st != SCAN_OK) {
    scan_net_free(net);
    return st;
  }
  *out = net;
  return SCAN_OK;
}

void scan_net_free(scan_net *net) {
  if (!net) return;
  for (int i = 0; i < net->op_count; i++)
    if (net->ops[i].conv_state) net->backend->conv_state_free(net->ops[i].conv_state);
  net_free_heads(net);
  free(net->ops);
  free(net->tensors);
  free(net->params);
  free(net->param_block);
  free(net->grad_block);
  free(net->activation_block);
  free(net->bn_sums);
  free(net->grad_final_from);
  free(net->op_seconds);
  free(net);
}

int scan_net_feature_dim(const scan_net *net) { return net->tensors[net->feature_tensor].c; }
int scan_net_num_heads(const scan_net *net) { return net->head_count; }
int scan_net_head_dim(const scan_net *net) {
  if (net->head_count == 0) return 0;
  const net_head *h = &net->heads[0];
  return h->layers[h->layer_count - 1].out;
}
int scan_net_max_batch(const scan_net *net) { return net->max_batch; }
const float *scan_net_features(const scan_net *net) { return net->tensors[net->feature_tensor].data; }
const float *scan_net_head_output(const scan_net *net, int head) {
  return head >= 0 && head < net->head_count ? net->heads[head].output : NULL;
}
const float *scan_net_input_grad(const scan_net *net) { return net->tensors[0].grad_written ? net->tensors[0].grad : NULL; }

static scan_conv_shape conv_shape(const scan_net *net, const net_op *op, int n) {
  const net_tensor *in = &net->tensors[op->in], *out = &net->tensors[op->out];
  scan_conv_shape s = {.n = n, .in_c = in->c, .in_h = in->h, .in_w = in->w, .out_c = out->c, .out_h = out->h,
                       .out_w = out->w, .kernel = op->kernel, .stride = op->stride, .pad = op->pad, .fast = net->fast_convolution,
                       .src_block = in->block, .dst_block = out->block, .algo = op->algo};
  return s;
}

static float *param_data(scan_net *net, int index) { return net->params[index].p.data; }
static float *param_grad(scan_net *net, int index) { return net->params[index].p.grad; }

/* Synchronised batch-norm: the statistics of the whole batch, every process's shard included. Each process's
   per-channel sums of x and x^2 (why sums rather than each process's mean and variance: include/scan/tensor.h,
   bn_sums) and its value count are added over processes in one call, so every process normalises with the same mean
   and variance, those of one process holding the whole batch. */
static scan_status synced_stats(scan_net *net, net_op *op, const net_tensor *in, int n) {
  const int c = in->c, hw = in->h * in->w;
  double *sums = net->bn_sums;
  SCAN_TRY(net->backend->bn_sums(n, c, hw, in->block, in->data, sums, sums + c));
  sums[2 * c] = (double)n * hw;
  net->bn_sum(sums, 2L * c + 1);
  op->batch_count = sums[2 * c];
  scan_bn_stats_from_sums(c, op->batch_count, sums, sums + c, op->batch_mean, op->batch_var);
  return SCAN_OK;
}

static scan_status op_forward(scan_net *net, net_op *op, int n, int training) {
  const scan_backend *be = net->backend;
  net_tensor *in = &net->tensors[op->in], *out = &net->tensors[op->out];
  const int64_t count = (int64_t)n * net_tensor_numel(out);
  switch (op->kind) {
    case OP_CONV: {
      scan_conv_shape s = conv_shape(net, op, n);
      return scan_conv_forward(net->backend, net->ctx, &op->conv_state, &s, in->data, param_data(net, op->param), out->data);
    }
    case OP_BN: {
      float *gamma = param_data(net, op->param), *beta = param_data(net, op->param + 1);
      float *running_mean = param_data(net, op->param + 2), *running_var = param_data(net, op->param + 3);
      const int hw = in->h * in->w;
      if (!training)
        return be->bn_apply(n, in->c, hw, in->block, in->data, running_mean, running_var, SCAN_BN_EPS, gamma, beta, op->relu,
                            out->data);
      if (net->bn_sum) {
        SCAN_TRY(synced_stats(net, op, in, n));
      } else {
        SCAN_TRY(be->bn_stats(n, in->c, hw, in->block, in->data, op->batch_mean, op->batch_var));
        op->batch_count = (double)n * hw;
      }
      SCAN_TRY(be->bn_apply(n, in->c, hw, in->block, in->data, op->batch_mean, op->batch_var, SCAN_BN_EPS, gamma, beta, op->relu,
                            out->data));
      /* running statistics as PyTorch keeps them (SyncBatchNorm too, with the whole batch's count): momentum 0.1,
         unbiased variance */
      const double m = op->batch_count, unbias = m > 1 ? m / (m - 1) : 1.0;
      for (int c = 0; c < in->c; c++) {
        running_mean[c] = (float)((1 - SCAN_BN_MOMENTUM) * running_mean[c] + SCAN_BN_MOMENTUM * op->batch_mean[c]);
        running_var[c] = (float)((1 - SCAN_BN_MOMENTUM) * running_var[c] + SCAN_BN_MOMENTUM * op->batch_var[c] * unbias);
      }
      param_data(net, op->param + 4)[0] += 1.0f;
      return SCAN_OK;
    }
    case OP_RELU: return be->relu_forward(count, in->data, out->data);
    case OP_MAXPOOL:
      return be->maxpool_forward(n, in->c, in->block, in->h, in->w, out->h, out->w, op->kernel, op->stride, op->pad, in->data,
                                 out->data, op->argmax);
    case OP_GAP: return be->gap_forward(n, in->c, in->h * in->w, in->block, in->data, out->data);
    case OP_ADD: return be->add_forward(count, in->data, net->tensors[op->in2].data, op->relu, out->data);
  }
  return scan_fail(SCAN_ERR_INTERNAL, "network: unknown op %d", (int)op->kind);
}

/* What every whole-network forward starts with: check the batch, record the mode, copy the images in. */
static scan_status begin_forward(scan_net *net, const float *input, int n, int training, int inference_only) {
  if (n <= 0 || n > net->max_batch)
    return scan_fail(SCAN_ERR_INPUT, "network forward: batch of %d images, the network was planned for 1..%d", n, net->max_batch);
  net->batch = n;
  net->last_training = training;
  net->heads_only = 0;
  net->inference_only = inference_only;
  memcpy(net->tensors[0].data, input, (size_t)n * net_tensor_numel(&net->tensors[0]) * sizeof(float));
  return SCAN_OK;
}

scan_status scan_net_forward(scan_net *net, const float *input, int n, int training) {
  SCAN_TRY(begin_forward(net, input, n, training, 0));
  for (int i = 0; i < net->op_count; i++) {
    const double start = net_profile_clock(net);
    SCAN_TRY(op_forward(net, &net->ops[i], n, training));
    net_profile_add(net, i, 0, start);
  }
  const double start = net_profile_clock(net);
  SCAN_TRY(net_heads_run(net, n));
  net_profile_add(net, net->op_count, 0, start);
  return SCAN_OK;
}

/* Whether op j reads tensor t. */
static int reads(const net_op *op, int t) { return op->in == t || (op->kind == OP_ADD && op->in2 == t); }

/* Whether tensor t's only reader is op `reader`. */
static int read_only_by(const scan_net *net, int t, int reader) {
  for (int j = 0; j < net->op_count; j++)
    if (j != reader && reads(&net->ops[j], t)) return 0;
  return 1;
}

/* Whether op i is a convolution whose only reader is the batch-norm right after it, which the backend can fold in. */
static int foldable(const scan_net *net, int i) {
  const net_op *conv = &net->ops[i], *bn = i + 1 < net->op_count ? &net->ops[i + 1] : NULL;
  if (conv->kind != OP_CONV || !bn || bn->kind != OP_BN || bn->in != conv->out) return 0;
  if (!net->backend->conv_forward_affine || net->tensors[conv->out].block != 8) return 0;
  return read_only_by(net, conv->out, i + 1);
}

/* The residual join's addend other than the batch-norm bn's output. */
static int other_addend(const net_op *join, const net_op *bn) { return join->in == bn->out ? join->in2 : join->in; }

/* When ops i, i + 1 fold (conv, batch-norm without ReLU) and op i + 2 is a residual join that is the batch-norm
 * output's only reader and whose other addend is made before op i (ResNet's shortcut): that join; else NULL. */
static const net_op *folded_join(const scan_net *net, int i) {
  if (i + 2 >= net->op_count) return NULL;
  const net_op *bn = &net->ops[i + 1], *join = &net->ops[i + 2];
  if (bn->relu || join->kind != OP_ADD || !read_only_by(net, bn->out, i + 2)) return NULL;
  const int other = other_addend(join, bn);
  if (net->tensors[other].block != 8) return NULL;
  for (int j = i; j < net->op_count; j++)
    if (net->ops[j].out == other) return NULL; /* made by the conv, the batch-norm or later */
  return join;
}

/* conv then eval-mode batch-norm (and its ReLU, or the residual join after it) as one convolution writing the
 * output of the last op folded in. */
static scan_status run_folded(scan_net *net, net_op *conv, const net_op *bn, const net_op *join, int n, float *scale, float *shift) {
  const net_tensor *in = &net->tensors[conv->in], *out = &net->tensors[join ? join->out : bn->out];
  const int padded = scan_channel_blocks(out->c, out->block) * out->block;
  scan_bn_fold(out->c, padded, param_data(net, bn->param + 2), param_data(net, bn->param + 3), SCAN_BN_EPS,
               param_data(net, bn->param), param_data(net, bn->param + 1), scale, shift);
  const scan_conv_epilogue ep = {scale, shift, join ? net->tensors[other_addend(join, bn)].data : NULL, join ? join->relu : bn->relu};
  scan_conv_shape s = conv_shape(net, conv, n);
  return net->backend->conv_forward_affine(net->ctx, &conv->conv_state, &s, in->data, param_data(net, conv->param), &ep,
                                           out->data);
}

scan_status scan_net_infer(scan_net *net, const float *input, int n) {
  SCAN_TRY(begin_forward(net, input, n, 0, 1));
  int widest = 0;
  for (int i = 0; i < net->tensor_count; i++)
    if (scan_channel_blocks(net->tensors[i].c, 8) * 8 > widest) widest = scan_channel_blocks(net->tensors[i].c, 8) * 8;
  float *fold = scan_malloc(2 * (size_t)widest * sizeof(float));
  if (!fold) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for batch-norm folding");
  scan_status status = SCAN_OK;
  for (int i = 0; i < net->op_count && status == SCAN_OK; i++) {
    if (foldable(net, i)) {
      const net_op *join = folded_join(net, i);
      status = run_folded(net, &net->ops[i], &net->ops[i + 1], join, n, fold, fold + widest);
      i += join ? 2 : 1; /* the batch-norm (and the join) are done */
    } else {
      status = op_forward(net, &net->ops[i], n, 0);
    }
  }
  free(fold);
  return status == SCAN_OK ? net_heads_run(net, n) : status;
}

scan_status scan_net_heads_forward(scan_net *net, const float *features, int n) {
  if (n <= 0 || n > net->max_batch)
    return scan_fail(SCAN_ERR_INPUT, "heads forward: batch of %d rows, the network was planned for 1..%d", n, net->max_batch);
  net->batch = n;
  net->heads_only = 1;
  memcpy(net->tensors[net->feature_tensor].data, features, (size_t)n * scan_net_feature_dim(net) * sizeof(float));
  return net_heads_run(net, n);
}

/* Where an op writes its input gradient: straight into the tensor's gradient when it is the first contribution,
 * otherwise into scratch, to be added by grad_commit. */
static float *grad_target(scan_net *net, const net_tensor *t) { return t->grad_written ? net->scratch : t->grad; }

static scan_status grad_commit(scan_net *net, net_tensor *t, int n) {
  if (t->grad_written) SCAN_TRY(net->backend->accumulate((int64_t)n * net_tensor_numel(t), net->scratch, t->grad));
  t->grad_written = 1;
  return SCAN_OK;
}

/* Synchronised batch-norm's backward: this shard's parameter gradients (added over processes later, with all the
   others: adding the whole batch's here would count them once per process), then dx from the whole batch's sums of
   g and g (x - mean), added over processes in one call. */
static scan_status synced_backward(scan_net *net, const net_op *op, const net_tensor *in, const net_tensor *out, int n,
                                   const float *relu_out, float *dx) {
  const scan_backend *be = net->backend;
  const int c = in->c, hw = in->h * in->w;
  double *sums = net->bn_sums;
  SCAN_TRY(be->bn_grad_sums(n, c, hw, in->block, in->data, out->grad, relu_out, op->batch_mean, op->batch_var, SCAN_BN_EPS, sums,
                            sums + c, param_grad(net, op->param), param_grad(net, op->param + 1)));
  net->bn_sum(sums, 2L * c);
  return be->bn_backward_dx(n, c, hw, in->block, in->data, out->grad, relu_out, op->batch_mean, op->batch_var, SCAN_BN_EPS,
                            param_data(net, op->param), op->batch_count, sums, sums + c, dx);
}

static scan_status op_backward(scan_net *net, net_op *op, int n, int need_input_grad) {
  const scan_backend *be = net->backend;
  net_tensor *in = &net->tensors[op->in], *out = &net->tensors[op->out];
  if (!out->grad_written) return SCAN_OK; /* nothing downstream depends on this op */
  const int64_t count = (int64_t)n * net_tensor_numel(out);
  switch (op->kind) {
    case OP_CONV: {
      scan_conv_shape s = conv_shape(net, op, n);
      float *dx = need_input_grad ? grad_target(net, in) : NULL;
      SCAN_TRY(scan_conv_backward(be, net->ctx, &op->conv_state, &s, in->data, param_data(net, op->param), out->grad, dx,
                                  param_grad(net, op->param)));
      return dx ? grad_commit(net, in, n) : SCAN_OK;
    }
    case OP_BN: {
      const int hw = in->h * in->w;
      float *dx = grad_target(net, in);
      const float *relu_out = op->relu ? out->data : NULL;
      if (net->last_training && net->bn_sum)
        SCAN_TRY(synced_backward(net, op, in, out, n, relu_out, dx));
      else if (net->last_training)
        SCAN_TRY(be->bn_backward(n, in->c, hw, in->block, in->data, out->grad, relu_out, op->batch_mean, op->batch_var, SCAN_BN_EPS,
                                 param_data(net, op->param), dx, param_grad(net, op->param), param_grad(net, op->param + 1)));
      else
        SCAN_TRY(be->bn_backward_eval(n, in->c, hw, in->block, in->data, out->grad, relu_out, param_data(net, op->param + 2),
                                      param_data(net, op->param + 3), SCAN_BN_EPS, param_data(net, op->param), dx,
                                      param_grad(net, op->param), param_grad(net, op->param + 1)));
      return grad_commit(net, in, n);
    }
    case OP_RELU: {
      SCAN_TRY(be->relu_backward(count, out->data, out->grad, grad_target(net, in)));
      return grad_commit(net, in, n);
    }
    case OP_MAXPOOL: {
      SCAN_TRY(be->maxpool_backward(n, in->c, in->block, in->h, in->w, out->h, out->w, op->argmax, out->grad, grad_target(net, in)));
      return grad_commit(net, in, n);
    }
    case OP_GAP: {
      SCAN_TRY(be->gap_backward(n, in->c, in->h * in->w, in->block, out->grad, grad_target(net, in)));
      return grad_commit(net, in, n);
    }
    case OP_ADD: {
      /* Both addends get the same gradient (masked by the fused ReLU), each added to what it already has. */
      net_tensor *second = &net->tensors[op->in2];
      SCAN_TRY(be->add_backward(count, op->relu ? out->data : NULL, out->grad, in->grad, in->grad_written, second->grad,
                                second->grad_written));
      in->grad_written = second->grad_written = 1;
      return SCAN_OK;
    }
  }
  return scan_fail(SCAN_ERR_INTERNAL, "network: unknown op %d", (int)op->kind);
}

/* Tells the gradient-ready hook that the block is final from `from` on, when that is news (`*reported`: the last
   offset told). */
static void report_final(scan_net *net, int64_t from, int64_t *reported) {
  if (!net->grad_ready || from >= *reported) return;
  *reported = from;
  net->grad_ready(net->grad_ready_ctx, from);
}

static void reset_grad_flags(scan_net *net) {
  for (int i = 0; i < net->tensor_count; i++) net->tensors[i].grad_written = 0;
}

/* Backward from the heads (and d_features) through the ops after op index `first_op - 1`, in reverse. */
static scan_status backward_ops(scan_net *net, const float *const *d_heads, const float *d_features, int first_op) {
  if (net->batch <= 0) return scan_fail(SCAN_ERR_INPUT, "network backward called before forward");
  if (net->heads_only)
    return scan_fail(SCAN_ERR_INPUT, "network backward after scan_net_heads_forward: use scan_net_heads_backward");
  if (net->inference_only)
    return scan_fail(SCAN_ERR_INPUT, "network backward after scan_net_infer, which keeps no convolution outputs: use scan_net_forward");
  const int n = net->batch;
  reset_grad_flags(net);
  const double heads_start = net_profile_clock(net);
  SCAN_TRY(net_heads_backprop(net, d_heads, n));
  net_profile_add(net, net->op_count, 1, heads_start);
  int64_t reported = net->param_floats;
  if (net->grad_ready) report_final(net, net->grad_final_from[net->op_count], &reported);
  net_tensor *features = &net->tensors[net->feature_tensor];
  if (d_features) {
    const int64_t count = (int64_t)n * features->c;
    if (features->grad_written) SCAN_TRY(net->backend->accumulate(count, d_features, features->grad));
    else memcpy(features->grad, d_features, (size_t)count * sizeof(float));
    features->grad_written = 1;
  }
  for (int i = net->op_count - 1; i >= first_op; i--) {
    const double start = net_profile_clock(net);
    SCAN_TRY(op_backward(net, &net->ops[i], n, net->want_input_grad || net->ops[i].in != 0));
    net_profile_add(net, i, 1, start);
    if (net->grad_ready) report_final(net, net->grad_final_from[i], &reported);
  }
  report_final(net, 0, &reported); /* the ops before first_op leave their gradients as they were */
  return SCAN_OK;
}

scan_status scan_net_backward(scan_net *net, const float *const *d_heads, const float *d_features) {
  return backward_ops(net, d_heads, d_features, 0);
}

/* The named stage (NULL: the last one). */
static scan_status find_stage(const scan_net *net, const char *name, const net_stage **out) {
  if (net->stage_count == 0) return scan_fail(SCAN_ERR_INTERNAL, "network has no named stages");
  const net_stage *stage = &net->stages[net->stage_count - 1];
  if (name) {
    stage = NULL;
    for (int i = 0; i < net->stage_count; i++)
      if (strcmp(net->stages[i].name, name) == 0) stage = &net->stages[i];
    if (!stage) return scan_fail(SCAN_ERR_INPUT, "network has no stage named '%s' (ResNets: layer1..layer4, VGG: stage1..stage%d)",
                                 name, net->backbone.vgg_stages);
  }
  *out = stage;
  return SCAN_OK;
}

scan_status scan_net_backward_to_stage(scan_net *net, const float *const *d_heads, const char *stage_name) {
  const net_stage *stage;
  SCAN_TRY(find_stage(net, stage_name, &stage));
  /* ops run in order, so every op that reads the stage's activation (directly or through later ones) comes after
     the op that writes it */
  int producer = -1;
  for (int i = 0; i < net->op_count; i++)
    if (net->ops[i].out == stage->tensor) producer = i;
  return backward_ops(net, d_heads, NULL, producer + 1);
}

scan_status scan_net_heads_backward(scan_net *net, const float *const *d_heads) {
  if (net->batch <= 0) return scan_fail(SCAN_ERR_INPUT, "heads backward called before forward");
  reset_grad_flags(net);
  SCAN_TRY(net_heads_backprop(net, d_heads, net->batch));
  int64_t reported = net->param_floats;
  report_final(net, 0, &reported); /* the backbone's gradients stay as they were */
  return SCAN_OK;
}

void scan_net_zero_grad(scan_net *net) { memset(net->grad_block, 0, (size_t)net->param_floats * sizeof(float)); }

int scan_net_param_count(const scan_net *net) { return net->param_count; }
float *scan_net_param_block(scan_net *net, int64_t *floats) {
  *floats = net->param_floats;
  return net->param_block;
}
float *scan_net_grad_block(scan_net *net, int64_t *floats) {
  *floats = net->param_floats;
  return net->grad_block;
}
const scan_param *scan_net_param(const scan_net *net, int index) {
  return index >= 0 && index < net->param_count ? &net->params[index].p : NULL;
}
const scan_param *scan_net_find_param(const scan_net *net, const char *name) {
  for (int i = 0; i < net->param_count; i++)
    if (strcmp(net->params[i].name, name) == 0) return &net->params[i].p;
  return NULL;
}
int64_t scan_param_numel(const scan_param *p) {
  int64_t count = 1;
  for (int d = 0; d < p->ndim; d++) count *= p->shape[d];
  return count;
}

/* One image of tensor t, from its layout to plain [C, H, W]. */
static void to_plain(const net_tensor *t, const float *src, float *dst) {
  const int hw = t->h * t->w;
  for (int c = 0; c < t->c; c++)
    for (int i = 0; i < hw; i++) dst[(int64_t)c * hw + i] = src[((int64_t)(c / t->block) * hw + i) * t->block + c % t->block];
}

scan_status scan_net_stage(const scan_net *net, const char *name, int index, float *activation, float *gradient, int *channels,
                           int *height, int *width) {
  const net_stage *stage;
  SCAN_TRY(find_stage(net, name, &stage));
  if (index < 0 || index >= net->batch)
    return scan_fail(SCAN_ERR_INPUT, "stage %s: sample %d is outside the last batch of %d", stage->name, index, net->batch);
  const net_tensor *t = &net->tensors[stage->tensor];
  const int64_t numel = net_tensor_numel(t);
  if (channels) *channels = t->c;
  if (height) *height = t->h;
  if (width) *width = t->w;
  if (gradient && !t->grad_written) return scan_fail(SCAN_ERR_INPUT, "stage %s: no gradient, run backward first", stage->name);
  if (activation) to_plain(t, t->data + index * numel, activation);
  if (gradient) to_plain(t, t->grad + index * numel, gradient);
  return SCAN_OK;
}

void scan_net_set_fast_convolution(scan_net *net, int enable) { net->fast_convolution = enable != 0; }
void scan_net_want_input_grad(scan_net *net, int enable) { net->want_input_grad = enable != 0; }

scan_status scan_net_set_batchnorm_sync(scan_net *net, scan_sum_doubles_fn *sum) {
  if (sum && !net->bn_sums) {
    int widest = 0;
    for (int i = 0; i < net->op_count; i++)
      if (net->ops[i].kind == OP_BN && net->tensors[net->ops[i].in].c > widest) widest = net->tensors[net->ops[i].in].c;
    net->bn_sums = scan_malloc((2 * (size_t)widest + 1) * sizeof(double));
    if (!net->bn_sums) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for synchronised batch-norm");
  }
  net->bn_sum = sum;
  return SCAN_OK;
}

/* The parameters whose gradients op i writes in backward: a convolution its weight, a batch-norm its weight and
   bias (its running statistics have none). */
static int op_grad_params(const net_op *op, int *first) {
  *first = op->param;
  return op->kind == OP_CONV ? 1 : op->kind == OP_BN ? 2 : 0;
}

/* A parameter's gradient is final after the last backward step that adds to it: backward runs the heads (step
   op_count) and then the ops from the last to the first (step i), so that is the lowest step among its writers;
   one nothing writes is final from the start (op_count + 1). The block is final from the lowest offset whose
   parameters, and all after it, are final. The model files add each layer's parameters as they add the layer, and
   the heads' last, so these tails shrink with nearly every layer; a parameter added out of step would only hold
   the tail back until its writer has run. */
static scan_status plan_grad_final_from(scan_net *net) {
  int *final_after = scan_malloc(sizeof(int) * (size_t)(net->param_count ? net->param_count : 1));
  net->grad_final_from = scan_malloc(sizeof(int64_t) * ((size_t)net->op_count + 1));
  if (!final_after || !net->grad_final_from) {
    free(final_after);
    free(net->grad_final_from);
    net->grad_final_from = NULL;
    return scan_fail(SCAN_ERR_INTERNAL, "out of memory for the gradient-ready plan");
  }
  for (int p = 0; p < net->param_count; p++) final_after[p] = net->op_count + 1;
  for (int h = 0; h < net->head_count; h++)
    for (int l = 0; l < net->heads[h].layer_count; l++) {
      const int weight = net->heads[h].layers[l].weight;
      final_after[weight] = final_after[weight + 1] = net->op_count;
    }
  for (int i = net->op_count - 1; i >= 0; i--) {
    int first;
    const int count = op_grad_params(&net->ops[i], &first);
    for (int p = first; p < first + count; p++) final_after[p] = i < final_after[p] ? i : final_after[p];
  }
  for (int step = 0; step <= net->op_count; step++) {
    int p = net->param_count; /* parameters are in offset order */
    while (p > 0 && final_after[p - 1] >= step) p--;
    net->grad_final_from[step] = p < net->param_count ? net->params[p].offset : net->param_floats;
  }
  free(final_after);
  return SCAN_OK;
}

scan_status scan_net_set_grad_ready(scan_net *net, scan_grad_ready_fn *ready, void *ctx) {
  if (ready && !net->grad_final_from) SCAN_TRY(plan_grad_final_from(net));
  net->grad_ready = ready;
  net->grad_ready_ctx = ctx;
  return SCAN_OK;
}

/* The i-th convolution op, or NULL. */
static net_op *conv_op(const scan_net *net, int i) {
  for (int k = 0; k < net->op_count; k++)
    if (net->ops[k].kind == OP_CONV && i-- == 0) return &net->ops[k];
  return NULL;
}

int scan_net_conv_count(const scan_net *net) {
  int count = 0;
  for (int k = 0; k < net->op_count; k++) count += net->ops[k].kind == OP_CONV;
  return count;
}

scan_conv_layer scan_net_conv_layer(const scan_net *net, int i, int n) {
  scan_conv_layer layer;
  memset(&layer, 0, sizeof layer);
  const net_op *op = conv_op(net, i);
  if (!op) return layer;
  const char *weight = net->params[op->param].name;
  const size_t length = strlen(weight) - (strlen(weight) >= 7 && strcmp(weight + strlen(weight) - 7, ".weight") == 0 ? 7 : 0);
  snprintf(layer.name, sizeof layer.name, "%.*s", (int)length, weight);
  layer.shape = conv_shape(net, op, n);
  layer.data_gradient = op->in != 0 || net->want_input_grad; /* tensor 0: the images */
  return layer;
}

scan_status scan_net_set_conv_algo(scan_net *net, int i, scan_conv_algo algo) {
  net_op *op = conv_op(net, i);
  if (!op) return scan_fail(SCAN_ERR_INTERNAL, "network: no convolution %d", i);
  scan_conv_layer layer = scan_net_conv_layer(net, i, net->max_batch);
  layer.shape.algo = algo;
  if (net->backend->conv_algo_check(net->ctx, &layer.shape) != SCAN_OK)
    return scan_fail_context(SCAN_ERR_INPUT, "layer %s", layer.name);
  op->algo = algo;
  return SCAN_OK;
}
