/* The inside of scan_net: a fixed list of layers over planned activation tensors (darknet-style), built once by
 * the model files (model_vgg.c, model_resnet.c, heads.c) and run forward in order, backward in reverse.
 * Not an autograd: every op is an explicit forward/backward pair of the backend table (include/scan/tensor.h). */
#ifndef SCAN_NN_NET_INTERNAL_H
#define SCAN_NN_NET_INTERNAL_H

#include <stdint.h>

#include "scan/nn.h"
#include "scan/nn_layers.h"
#include "scan/safetensors.h"

#define SCAN_BN_EPS 1e-5
#define SCAN_BN_MOMENTUM 0.1

/* One activation [max_batch, c, h, w] and its gradient. grad_written: set when the first consumer's backward has
 * written the gradient in this backward pass; later consumers add theirs. */
typedef struct {
  int c, h, w;
  int block; /* layout (include/scan/tensor.h): the net's block, except the input and the features (plain) */
  float *data, *grad;
  int grad_written;
} net_tensor;

typedef enum { OP_CONV, OP_BN, OP_RELU, OP_MAXPOOL, OP_GAP, OP_ADD } net_op_kind;

typedef struct {
  net_op_kind kind;
  int in, in2, out;  /* tensor indices (in2: second addend of OP_ADD) */
  int param;         /* OP_CONV: weight; OP_BN: weight, then bias, running_mean, running_var, num_batches_tracked */
  int kernel, stride, pad;
  int algo;          /* OP_CONV: scan_conv_algo (AUTO unless a plan set it) */
  int relu;          /* OP_BN, OP_ADD: a ReLU fused in (the output holds max(0, result); its gradient stays unmasked,
                        the gradient w.r.t. the activation, as Grad-CAM wants) */
  scan_conv_state *conv_state;
  float *batch_mean, *batch_var; /* OP_BN: statistics of the last training forward [c] */
  double batch_count;            /* OP_BN: the values they were taken over (the whole batch's when synchronised) */
  int32_t *argmax;               /* OP_MAXPOOL: [max_batch, c, oh, ow] */
} net_op;

/* How a parameter starts: Kaiming-normal fan_out (convs), constants (batch-norm), or PyTorch's default Linear
 * init uniform(+-1/sqrt(fan_in)) for weight and bias. */
typedef enum { INIT_ZERO, INIT_ONE, INIT_KAIMING_FAN_OUT, INIT_UNIFORM_FAN_IN } net_init;

typedef struct {
  scan_param p;
  char name[96];
  int64_t numel, offset; /* offset into the parameter (and gradient) block */
  net_init init;
  int fan; /* fan_out (Kaiming) or fan_in (uniform) */
} net_param;

/* A linear layer of a head, parameters by index (bias = weight + 1). */
typedef struct { int weight, in, out; } net_linear;

/* One head: Linear [-> ReLU -> Linear] [-> L2 normalise]. */
typedef struct {
  net_linear layers[2];
  int layer_count, normalise;
  float *hidden;   /* [max_batch, layers[0].out] after ReLU (two-layer heads) */
  float *pre_norm; /* [max_batch, out] before normalisation (normalised heads) */
  float *output;   /* [max_batch, out] */
} net_head;

typedef struct { char name[16]; int tensor; } net_stage;

/* Why building a net failed. A residual join of a tensor with itself is refused because the join's backward writes
 * both addends' gradients in one pass (the backend's add_backward), which needs two distinct tensors. */
enum { BUILD_OUT_OF_MEMORY = 1, BUILD_SELF_JOIN = 2 };

struct scan_net {
  scan_context *ctx;              /* where it runs: not owned */
  const scan_backend *backend;    /* the context's */
  scan_backbone_config backbone;
  scan_head_config head_cfg;
  int max_batch, batch, last_training, fast_convolution;
  int heads_only; /* the last forward was scan_net_heads_forward: the backbone activations are stale */
  int inference_only; /* the last forward was scan_net_infer: convolution outputs folded into batch-norms are stale */
  int want_input_grad; /* backward also computes the gradient w.r.t. the input images */
  int block; /* activation layout between layers: the context's (its backend's preferred block) */
  int build_failed; /* building failed (BUILD_OUT_OF_MEMORY or BUILD_SELF_JOIN): net_plan reports it */
  uint64_t seed;

  net_tensor *tensors;
  int tensor_count;
  net_op *ops;
  int op_count;
  net_param *params;
  int param_count;
  int64_t param_floats;

  net_stage stages[8];
  int stage_count;
  int feature_tensor; /* output of global average pooling: [n, D] */

  net_head *heads;
  int head_count;

  float *param_block, *grad_block; /* one allocation each for all parameters and gradients */
  float *activation_block;         /* every tensor's data and grad, planned at creation */
  float *scratch;                  /* largest tensor: second and later gradient contributions land here first */
  float *head_scratch[3];          /* [max_batch, widest head layer]: gradients inside the heads */
  int64_t scratch_floats;

  scan_sum_doubles_fn *bn_sum; /* synchronised batch-norm (scan_net_set_batchnorm_sync), or NULL */
  double *bn_sums;             /* its per-channel sums: 2 x the widest batch-norm + 1 (the value count) */

  scan_grad_ready_fn *grad_ready; /* scan_net_set_grad_ready, or NULL */
  void *grad_ready_ctx;
  int64_t *grad_final_from; /* [op_count + 1]: the grad block is final from here on once backward has done op i
                               (index i), or the heads (index op_count) */
  double *op_seconds; /* scan_net_set_profiling: [op_count + 1][2], each op's forward and backward seconds summed
                         over the passes since profiling began (index op_count: the heads); NULL when off */
};

/* Adds the seconds since `since` to entry `entry`'s pass (0 forward, 1 backward) when profiling is on (net_profile.c). */
void net_profile_add(scan_net *net, int entry, int pass, double since);
double net_profile_clock(const scan_net *net); /* the time now when profiling is on, else 0 (no clock read) */

/* Building (net_build.c). Each returns an index or -1 when out of memory (the net records the failure). */
int net_add_tensor(scan_net *net, int c, int h, int w);
int net_add_param(scan_net *net, const char *name, int ndim, const int64_t *shape, int is_buffer, int is_head, net_init init,
                  int fan);
int net_conv(scan_net *net, const char *name, int in, int out_c, int kernel, int stride, int pad);
int net_bn(scan_net *net, const char *name, int in);
int net_relu(scan_net *net, int in);
int net_maxpool(scan_net *net, int in, int kernel, int stride, int pad);
int net_gap(scan_net *net, int in);
int net_add(scan_net *net, int a, int b);
void net_mark_stage(scan_net *net, const char *name, int tensor);
scan_status net_plan(scan_net *net); /* allocate parameters and activations, initialise parameters */
int64_t net_tensor_numel(const net_tensor *t); /* floats per image, padded channels included */

/* Model definitions. Each appends the backbone to an empty net and returns its last tensor (or -1). */
int net_build_vgg(scan_net *net, int input);
int net_build_resnet(scan_net *net, int input);
/* Heads (heads.c): appends head parameters; net_plan_heads allocates head buffers after net_plan. */
scan_status net_build_heads(scan_net *net);
scan_status net_plan_heads(scan_net *net);
void net_free_heads(scan_net *net);
scan_status net_heads_run(scan_net *net, int n);
scan_status net_heads_backprop(scan_net *net, const float *const *d_heads, int n);
void net_init_params(scan_net *net);

int net_scale_width(const scan_net *net, int channels);

/* The optimiser's state (moments, step counters) as safetensors views named "<prefix><param>.<moment>"; `views` holds
   optim_state_max_views(opt) entries. Returns how many were filled. */
struct scan_optimizer;
int optim_state_views(const struct scan_optimizer *opt, scan_tensor_view *views, const char *prefix);
int optim_state_max_views(const struct scan_optimizer *opt);

#endif
