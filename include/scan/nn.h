/* Neural networks: the SCAN backbones (VGG, ResNet-18 CIFAR/STL, ResNet-50) with contrastive or cluster heads,
 * explicit forward and backward, and safetensors checkpoints with the reference PyTorch parameter names.
 * All activations and gradients are planned once at creation for `max_batch` images: nothing is allocated
 * inside forward/backward. Layers run on the backend of the net's context (include/scan/context.h; oneDNN unless
 * the context says otherwise), which the net shares with the context's other nets, one pass at a time. */
#ifndef SCAN_NN_H
#define SCAN_NN_H

#include <stdint.h>

#include "scan/context.h"
#include "scan/error.h"

typedef enum { SCAN_BACKBONE_VGG, SCAN_BACKBONE_RESNET18_CIFAR, SCAN_BACKBONE_RESNET18_STL, SCAN_BACKBONE_RESNET50 } scan_backbone_kind;
typedef struct {
  scan_backbone_kind kind;
  int in_channels, height, width;   /* any input size and channel count (1 for Fashion-MNIST) */
  double width_multiplier;          /* scales every channel count; 1.0 = reference widths (0 is read as 1.0) */
  int vgg_widths[8]; int vgg_stages;/* VGG: stage widths, e.g. {16,32,64}, 3 stages */
} scan_backbone_config;
typedef enum { SCAN_HEAD_NONE, SCAN_HEAD_MLP, SCAN_HEAD_LINEAR, SCAN_HEAD_CLUSTER } scan_head_kind;
typedef struct { scan_head_kind kind; int features_dim; int num_heads; int num_classes; } scan_head_config;
typedef struct scan_net scan_net;

/* The net runs in ctx (its backend, layout, buffers and threads) and keeps a pointer to it: ctx must outlive the net.
   A NULL ctx (scan_context_default() failed) is an error that carries the context's message. */
scan_status scan_net_create(scan_net **out, scan_context *ctx, const scan_backbone_config *b, const scan_head_config *h,
                            int max_batch, uint64_t seed);
void scan_net_free(scan_net *net);
int scan_net_feature_dim(const scan_net *net);            /* backbone output dimension D */
int scan_net_num_heads(const scan_net *net);              /* 1 for MLP/LINEAR, num_heads for CLUSTER, 0 for NONE */
int scan_net_head_dim(const scan_net *net);               /* features_dim (contrastive) or num_classes (cluster) */
int scan_net_max_batch(const scan_net *net);

/* input: n images, NCHW float, already normalised; n <= max_batch. training=1: batch-norm uses batch statistics and
   updates running statistics, and activations are kept for backward. training=0: eval mode (running statistics);
   activations are still kept so Grad-CAM can call backward afterwards. */
scan_status scan_net_forward(scan_net *net, const float *input, int n, int training);
/* Eval-mode forward for predictions only: each convolution with an eval batch-norm after it runs as one pass
   (the batch-norm folded into the convolution's output), so no backward can follow (it fails with SCAN_ERR_INPUT).
   Same results as scan_net_forward(net, input, n, 0) up to rounding. */
scan_status scan_net_infer(scan_net *net, const float *input, int n);
const float *scan_net_features(const scan_net *net);             /* [n, D] backbone features after global average pooling */
const float *scan_net_head_output(const scan_net *net, int head);/* MLP/LINEAR: [n, features_dim] L2-normalised; CLUSTER: [n, num_classes] logits */
/* Accumulates parameter gradients. d_heads[h]: gradient w.r.t. head h's output (NULL entries are skipped; d_heads itself may be NULL);
   d_features: optional extra gradient w.r.t. the features (may be NULL). */
scan_status scan_net_backward(scan_net *net, const float *const *d_heads, const float *d_features);
/* Backward from the heads only as far as the named stage's activation (NULL: the last stage), for scan_net_stage's
   gradient (Grad-CAM): the layers before the stage are not visited, so their parameter gradients stay as they were. */
scan_status scan_net_backward_to_stage(scan_net *net, const float *const *d_heads, const char *stage);
/* Gradient w.r.t. the input images [n, C, H, W] of the last backward (for input-space explanations), or NULL when
   it was not computed: backward computes it only after scan_net_want_input_grad(net, 1), because it costs a
   backward-data pass of the stem that training never needs (for grey images, as much as a whole conv layer). */
const float *scan_net_input_grad(const scan_net *net);
void scan_net_want_input_grad(scan_net *net, int enable);
void scan_net_zero_grad(scan_net *net);
/* Heads only, on given (e.g. cached) features [n, D]: used to train cluster heads without the backbone. */
scan_status scan_net_heads_forward(scan_net *net, const float *features, int n);
scan_status scan_net_heads_backward(scan_net *net, const float *const *d_heads);

/* Parameters and buffers with the reference PyTorch names: backbone.conv1.weight, backbone.bn1.running_mean, backbone.layer1.0.conv1.weight,
   contrastive_head.0.weight, contrastive_head.2.bias, cluster_head.3.weight, ... (spec §5). VGG (ours): backbone.features.<i>.weight in
   torch.nn.Sequential numbering of [conv,bn,relu,conv,bn,relu,maxpool,...].
   Buffers (running_mean/var, num_batches_tracked stored as float, ndim 0) have grad == NULL;
   is_head: the parameter belongs to a head (contrastive_head.* or cluster_head.*). */
typedef struct { const char *name; int ndim; int64_t shape[4]; float *data; float *grad; int is_buffer; int is_head; } scan_param;
int scan_net_param_count(const scan_net *net);
const scan_param *scan_net_param(const scan_net *net, int index);
const scan_param *scan_net_find_param(const scan_net *net, const char *name);
int64_t scan_param_numel(const scan_param *p);
/* Every parameter and buffer lies in one allocation (each scan_param's data points into it), every gradient in a
   second of the same length at the same offsets (a buffer's slot there is zero): data-parallel training all-reduces
   the gradient block in one call. *floats receives the length of either. */
float *scan_net_param_block(scan_net *net, int64_t *floats);
float *scan_net_grad_block(scan_net *net, int64_t *floats);

/* safetensors checkpoints. Load checks every name, shape and dtype before it changes the network, and names the key that is
   missing, unexpected, or has the wrong shape or dtype (a refused file leaves the network as it was).
   `skip_prefix` (e.g. "contrastive_head." or "cluster_head.") lists parameters that may be absent in the file or extra in it;
   several prefixes are separated by commas: a pretext model goes into a clustering net with "contrastive_head.,cluster_head."
   (the heads stay as initialised).
   num_batches_tracked is written as I64 like PyTorch. */
scan_status scan_net_save(const scan_net *net, const char *path, const char *const *metadata);
scan_status scan_net_load(scan_net *net, const char *path, const char *skip_prefix);
/* The same from a file already read (e.g. a training checkpoint whose metadata the caller checked first). */
struct scan_safetensors;
scan_status scan_net_load_from(scan_net *net, const struct scan_safetensors *f, const char *path, const char *skip_prefix);
/* Loading under other names, with the same checks: the file's tensors `from` + rest load into the parameters
   `to` + rest, e.g. from "cluster_head.2.", to "cluster_head.0." puts one head of a multi-head file into a one-head
   net. skip: as skip_prefix above. extra: comma-separated prefixes of file tensors that may be present and are not
   loaded (e.g. "cluster_head.": the file's other heads); a tensor under `from` that no parameter takes is still
   unexpected. Any field may be NULL (from and to together); {0} is scan_net_load with no skip_prefix.
   Messages name the file and the file's tensor (and the parameter it was to load into when renamed). */
typedef struct {
  const char *skip, *from, *to, *extra;
} scan_net_load_map;
scan_status scan_net_load_mapped(scan_net *net, const char *path, const scan_net_load_map *map);
scan_status scan_net_load_mapped_from(scan_net *net, const struct scan_safetensors *f, const char *path,
                                      const scan_net_load_map *map);
/* Fails naming the first parameter or batch-norm statistic that is NaN or infinite ("<what>: 'name' holds ...").
   scan_net_save runs it, so no model file ever holds one. */
scan_status scan_net_check_finite(const scan_net *net, const char *what);

/* Grad-CAM support: after forward (+ backward), the activation and its gradient at a named backbone stage
   ("layer1".."layer4" for ResNets, "stage1".."stageN" for VGG; NULL = last stage). Shapes for sample `index` of the batch:
   [C, H, W] plain layout. activation/gradient may be NULL (then only the shape is returned); the gradient is that of the
   last backward, d(output)/d(stage output) as a PyTorch hook on the stage's output sees it: not masked by the ReLU that
   produced the stage (it is nonzero where the activation is 0 too). */
scan_status scan_net_stage(const scan_net *net, const char *name, int index, float *activation, float *gradient, int *channels, int *height, int *width);
/* 1 (the default): the fastest convolution algorithms (include/scan/tensor.h); 0: oneDNN direct everywhere. */
void scan_net_set_fast_convolution(scan_net *net, int enable);
/* Synchronised batch-norm for data-parallel training: `sum` adds `count` doubles in place over every process that
   trains the same net on its shard of one batch, each getting the totals (a collective: every process calls it in
   the same order; scan_dist_sum_doubles). With it, a training-mode forward normalises with the mean and variance of
   the whole batch (one sum per batch-norm layer: its per-channel sums of x and x^2 and the value count), the running
   statistics follow those, and backward gives each process its rows of the whole batch's input gradient (one sum
   per layer: the per-channel sums of g and g (x - mean)). Parameter gradients stay the process's own part, to be
   added over processes like every other parameter gradient. NULL (the default): each process's own statistics. */
typedef void scan_sum_doubles_fn(double *data, long count);
scan_status scan_net_set_batchnorm_sync(scan_net *net, scan_sum_doubles_fn *sum);
/* Gradient readiness, to overlap data-parallel gradient sums with backward: during a backward (scan_net_backward,
   scan_net_backward_to_stage, scan_net_heads_backward) `ready(ctx, from)` says that the gradient block's floats
   [from, end) are final: the rest of this backward adds nothing to them. Parameters lie in the block in the order
   of the layers they belong to, the heads' last, and backward runs the heads first and then the layers from the
   last, so the final part grows from the block's end: the calls come with `from` decreasing, the last one (when the
   backward succeeds) with 0. NULL (the default): no calls. Fails only out of memory. */
typedef void scan_grad_ready_fn(void *ctx, int64_t from);
scan_status scan_net_set_grad_ready(scan_net *net, scan_grad_ready_fn *ready, void *ctx);

/* Where a step's time goes, layer by layer and pass by pass (`scan bench profile_vgg_b256`). While profiling is on,
   scan_net_forward and the backward calls add each op's wall seconds to its totals, the heads as one more entry;
   scan_net_infer (which fuses ops) adds nothing. Turning it on resets the totals; off frees them. Entry i of
   scan_net_profile_count: a label (the op, its channels and size, a convolution's name and algorithm: "auto" is the
   rule), its forward and backward seconds. Fails only out of memory. */
typedef struct {
  char label[160];
  double forward_s, backward_s;
} scan_op_time;
scan_status scan_net_set_profiling(scan_net *net, int enable);
int scan_net_profile_count(const scan_net *net); /* ops + 1 (the heads) */
scan_op_time scan_net_profile_entry(const scan_net *net, int i);

/* The net's convolutions in order, to choose their algorithms (include/scan/conv_tune.h). Layer i at batch n: its
   name (its weight's, without ".weight"), its shape (algo: the current choice, AUTO unless set), and whether backward
   computes its data gradient (not for the layer that reads the images, unless scan_net_want_input_grad). */
typedef struct {
  char name[96];
  scan_conv_shape shape;
  int data_gradient;
} scan_conv_layer;
int scan_net_conv_count(const scan_net *net);
scan_conv_layer scan_net_conv_layer(const scan_net *net, int i, int n);
/* Sets layer i's algorithm once the backend says it runs there (conv_algo_check at the net's max batch and
   fast_convolution setting: set that first); SCAN_ERR_INPUT naming the layer when it does not. */
scan_status scan_net_set_conv_algo(scan_net *net, int i, scan_conv_algo algo);

#endif
