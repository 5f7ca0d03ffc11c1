/* The compute backends behind the nn layers: one table of function pointers per backend (the way ggml separates
 * graph from backend). Every operation a net runs goes through the table, so a backend is complete for whole
 * networks and a device backend plugs in without touching nn/. Buffers are row-major float: activations NCHW or
 * blocked (below), conv weights [OC, IC, KH, KW].
 * "naive" is the obviously-correct reference (plain loops, double accumulation, plain NCHW only) every test compares
 * with; "onednn" runs convolution and GEMM through oneDNN 2.x and scan's own AVX2 kernels, and the memory-bound
 * layers through vectorised OpenMP loops (all oneDNN calls live in src/tensor/). */
#ifndef SCAN_TENSOR_H
#define SCAN_TENSOR_H

#include <stdint.h>

#include "scan/error.h"

/* The compute context (include/scan/context.h): the backends' shared state (scratch, oneDNN's engine and stream). */
typedef struct scan_context scan_context;

/* Activation layouts: block == 1 is plain NCHW; block > 1 is oneDNN's nChw<block>c, channels in groups of `block`
 * (the count padded with zeros up to a multiple of block):
 *   offset(b, c, i) = ((b * scan_channel_blocks(C, block) + c / block) * H*W + i) * block + c % block
 * Nets keep activations in the backend's preferred block from layer to layer, so no layer reorders them. */
static inline int scan_channel_blocks(int channels, int block) { return (channels + block - 1) / block; }

/* Which algorithm a convolution runs (scan_conv_shape.algo). AUTO is the rule (the default): scan's own kernel that
 * applies to the shape, else oneDNN's Winograd when `fast`, the layer has at least 32 input channels and oneDNN has
 * it, else oneDNN direct, each pass on its own (and the weight gradient of a plain-input layer beside scan's kernels,
 * nChw8c: scan's stem kernel). The others name one algorithm for all three passes, chosen by measuring
 * them (conv_algorithm: measure); one that cannot run a shape is refused (scan_backend.conv_algo_check), never replaced.
 * The numbers are stored in no file (plans store the names): they may be renumbered. */
typedef enum {
  SCAN_CONV_AUTO = 0,
  SCAN_CONV_OWN_WINOGRAD,    /* scan's Winograd F(4x4, 3x3): 3x3 stride 1 pad 1, nChw8c, `fast` */
  SCAN_CONV_OWN_WINOGRAD_S2, /* scan's polyphase Winograd: 3x3 stride 2 pad 1, nChw8c, `fast` */
  SCAN_CONV_OWN_GEMM,        /* scan's patch matrix products: nChw8c, kernel <= 7, `fast` */
  SCAN_CONV_ONEDNN_DIRECT,   /* oneDNN direct, all three passes */
  SCAN_CONV_ONEDNN_WINOGRAD, /* oneDNN's Winograd (AVX-512 only in oneDNN 2.x), `fast`: the forward pass must have it;
                                the gradients take it where oneDNN has it for the shape, else direct (fixed by the
                                shape and the CPU, so the same on every run there) */
  SCAN_CONV_ONEDNN_DIRECT_STEM,   /* these two with scan's stem kernel for the weight gradient (plain input, few */
  SCAN_CONV_ONEDNN_WINOGRAD_STEM, /* taps: the first layer); AUTO runs one of them there */
  SCAN_CONV_ALGO_COUNT
} scan_conv_algo;

/* "auto", "own-winograd", "own-winograd-s2", "own-gemm", "onednn-direct", "onednn-winograd", "onednn-direct+stem",
 * "onednn-winograd+stem"; NULL
 * for a number out of range. scan_conv_algo_parse: SCAN_CONV_ALGO_COUNT for a name it does not know. */
const char *scan_conv_algo_name(scan_conv_algo algo);
scan_conv_algo scan_conv_algo_parse(const char *name);

/* One 2-D convolution without bias (every conv in the SCAN models is followed by batch-norm), square kernel. */
typedef struct {
  int n, in_c, in_h, in_w;
  int out_c, out_h, out_w;
  int kernel, stride, pad;
  int fast;                 /* onednn only: 1 = the fastest algorithm that applies (Winograd for 3x3 stride 1, patch matrix
                               products on AVX2; oneDNN's Winograd on AVX-512), ~1e-5 relative rounding difference;
                               0 = oneDNN direct convolution, which rounds like PyTorch's */
  int src_block, dst_block; /* layouts of x/dx and y/dy (above); 0 is read as 1. The naive backend takes 1 only. */
  int algo;                 /* scan_conv_algo; 0 (AUTO) in a zeroed shape. The naive backend takes AUTO only. */
} scan_conv_shape;

/* out size of a conv / pool window along one axis (floor mode, like PyTorch); 0 when the window does not fit. */
static inline int scan_window_out(int in, int kernel, int stride, int pad) {
  return in + 2 * pad < kernel ? 0 : (in + 2 * pad - kernel) / stride + 1;
}

/* Backend-private state kept per conv layer (cached primitives and reordered weights); created on first use,
 * rebuilt when the shape or the context changes, released with conv_state_free. */
typedef struct scan_conv_state scan_conv_state;

/* What a convolution may do to its outputs as it stores them, per output channel k:
 *   y = scale[k] * conv(x, w) + shift[k] (+ residual), then max(0, y) if relu.
 * An inference batch-norm folded into the convolution (and, with residual, ResNet's join after it: residual is a
 * tensor laid out like y), so the outputs are written once instead of written, read and written again. scale and
 * shift cover whole channel blocks, zero-padded. */
typedef struct {
  const float *scale, *shift;
  const float *residual; /* NULL: none */
  int relu;
} scan_conv_epilogue;

/* ---- The memory-bound layers' ops, as function types (each backend defines functions of these types). Activations
 * are [n, c, hw] (hw = H*W) in layout `block` (above; the naive backend takes 1 only and fails otherwise); padded
 * channels of blocked layouts are written as zeros. Per-channel vectors are [c]. Backward passes overwrite dx and
 * accumulate (+=) parameter gradients. ---- */

/* Batch-norm. bn_stats: batch mean and biased variance per channel over n*hw values.
 * bn_apply: y = gamma * (x - mean) / sqrt(var + eps) + beta, then y = max(0, y) when relu (a fused ReLU). */
typedef scan_status scan_bn_stats_op(int n, int c, int hw, int block, const float *x, float *mean, float *var);
typedef scan_status scan_bn_apply_op(int n, int c, int hw, int block, const float *x, const float *mean, const float *var,
                                     double eps, const float *gamma, const float *beta, int relu, float *y);
/* Batch-norm backward: dx, dgamma, dbeta. relu_out: the output of a fused ReLU (the gradient is zero where it is not
 * positive), or NULL. With batch statistics (training) dx includes their dependence on x; with running statistics
 * (eval) dx = dy * gamma / sqrt(var + eps). */
typedef scan_status scan_bn_backward_op(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                                        const float *mean, const float *var, double eps, const float *gamma, float *dx,
                                        float *dgamma, float *dbeta);

/* Synchronised batch-norm (data-parallel training, include/scan/nn.h: scan_net_set_batchnorm_sync): the training-mode
 * forward and backward split where they have reduced the batch to per-channel sums, so that each process computes its
 * shard's sums, the processes add them, and every process finishes with the whole batch's. The sums are double.
 *
 * bn_sums: sum[ch] = sum of x, sum_sq[ch] = sum of x^2 over the shard's n*hw values (overwritten). A process shifts
 * its values by a mean of its own before summing in float over a plane, as bn_stats does, and adds the shift back in
 * double: the float sums see only deviations, and the global variance E[x^2] - E[x]^2, formed in double by
 * scan_bn_stats_from_sums, loses log10(mean^2 / var) of double's 16 digits, not of float's 7.
 * bn_grad_sums: sum_g[ch] = sum of g, sum_gx[ch] = sum of g (x - mean[ch]) over the shard (overwritten), g = dy
 * masked by the fused ReLU, mean the whole batch's; and the shard's parameter gradients, accumulated as bn_backward
 * does: dgamma += sum_gx / sqrt(var + eps), dbeta += sum_g (whoever adds parameter gradients over processes adds
 * these).
 * bn_backward_dx: dx of the shard from the whole batch's totals (every shard's bn_grad_sums added) over `count`
 * values: dx = gamma invstd (g - sum_g / count - xhat invstd sum_gx / count), xhat = (x - mean) invstd, invstd =
 * 1 / sqrt(var + eps). */
typedef scan_status scan_bn_sums_op(int n, int c, int hw, int block, const float *x, double *sum, double *sum_sq);
typedef scan_status scan_bn_grad_sums_op(int n, int c, int hw, int block, const float *x, const float *dy,
                                         const float *relu_out, const float *mean, const float *var, double eps,
                                         double *sum_g, double *sum_gx, float *dgamma, float *dbeta);
typedef scan_status scan_bn_backward_dx_op(int n, int c, int hw, int block, const float *x, const float *dy,
                                           const float *relu_out, const float *mean, const float *var, double eps,
                                           const float *gamma, double count, const double *sum_g, const double *sum_gx,
                                           float *dx);

/* Element-wise over `count` floats (any layout; x may be y, dy may be dx).
 * relu_forward: y = max(0, x). accumulate: y += x (a second gradient contribution). */
typedef scan_status scan_eltwise_op(int64_t count, const float *x, float *y);
/* relu_backward: dx = dy where y > 0 (y: the forward output), else 0. */
typedef scan_status scan_relu_backward_op(int64_t count, const float *y, const float *dy, float *dx);
/* The residual join y = a + b, or max(0, a + b) with relu. Backward in one pass: g = dy, masked to y > 0 when y (the
 * fused ReLU's output) is given; then da = g (da += g when add_a), db = g (db += g when add_b). */
typedef scan_status scan_add_forward_op(int64_t count, const float *a, const float *b, int relu, float *y);
typedef scan_status scan_add_backward_op(int64_t count, const float *y, const float *dy, float *da, int add_a, float *db,
                                         int add_b);

/* Max pool, square window, PyTorch floor mode; padding never wins. x [n, c, ih*iw] -> y [n, c, oh*ow]. argmax
 * (int32, laid out like y) is the backend's record of the winners, read only by its own maxpool_backward. */
typedef scan_status scan_maxpool_forward_op(int n, int c, int block, int ih, int iw, int oh, int ow, int kernel, int stride,
                                            int pad, const float *x, float *y, int32_t *argmax);
typedef scan_status scan_maxpool_backward_op(int n, int c, int block, int ih, int iw, int oh, int ow, const int32_t *argmax,
                                             const float *dy, float *dx);
/* Global average pool: forward x [n, c, hw] in layout `block` -> y plain [n, c]; backward spreads x = dy[n, c] / hw
 * over y = dx. */
typedef scan_status scan_gap_op(int n, int c, int hw, int block, const float *x, float *y);

/* Rows [n, d] (the heads). bias_forward: y[i, j] += x[j] (x: a linear layer's bias); bias_backward: y[j] += sum_i
 * x[i, j] (x: dy, y: dbias); l2norm_forward: y = x / max(|x|, 1e-12) per row (torch.nn.functional.normalize). */
typedef scan_status scan_rows_op(int n, int d, const float *x, float *y);
/* dx from the forward's x and y and dy. */
typedef scan_status scan_l2norm_backward_op(int n, int d, const float *x, const float *y, const float *dy, float *dx);

typedef struct scan_backend {
  const char *name;
  /* The activation layout block this backend runs fastest with in ctx (1: plain NCHW); asked once, when the context
   * is made. */
  int (*preferred_block)(scan_context *ctx);
  /* The convolutions run in a context, whose scratch and oneDNN stream they use (the naive backend needs none: it
   * ignores ctx, which may then be NULL). */
  /* y[n,oc,oh,ow] = conv(x, w) */
  scan_status (*conv_forward)(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s, const float *x,
               const float *w,
                              float *y);
  /* y = the epilogue applied to conv(x, w), for blocked outputs (dst_block 8). NULL when the backend does not offer it
   * (then the net runs the layers one by one). */
  scan_status (*conv_forward_affine)(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s, const float *x,
                                     const float *w, const scan_conv_epilogue *ep, float *y);
  /* dx = conv_transpose(dy, w)   (overwrites dx) */
  scan_status (*conv_backward_data)(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s, const float *dy,
                                    const float *w, float *dx);
  /* dw += correlation(x, dy)     (accumulates into dw, like parameter gradients) */
  scan_status (*conv_backward_weights)(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s, const float *x,
                                       const float *dy, float *dw);
  void (*conv_state_free)(scan_conv_state *state);
  /* SCAN_OK when the backend can run s->algo for s in ctx; otherwise SCAN_ERR_INPUT saying why (the layout, the
   * kernel size, fast_convolution: false, or oneDNN lacking the algorithm on this CPU). AUTO always runs. Sizes do not
   * decide: an algorithm that runs a shape at one batch runs it at any (AUTO's size thresholds are a guess of what is
   * fastest, which a measured choice replaces). */
  scan_status (*conv_algo_check)(scan_context *ctx, const scan_conv_shape *s);
  /* Row-major C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, op = transpose when trans_* is nonzero. */
  void (*gemm)(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc);

  /* The memory-bound layers, paired forward/backward (their types and contracts above). */
  scan_bn_stats_op *bn_stats;
  scan_bn_apply_op *bn_apply;
  scan_bn_backward_op *bn_backward;      /* training mode: mean/var are the batch statistics bn_stats gave */
  scan_bn_backward_op *bn_backward_eval; /* eval mode: mean/var are running statistics, constants */
  scan_bn_sums_op *bn_sums;              /* synchronised batch-norm: bn_stats and bn_backward split at their sums */
  scan_bn_grad_sums_op *bn_grad_sums;
  scan_bn_backward_dx_op *bn_backward_dx;
  scan_eltwise_op *relu_forward;
  scan_relu_backward_op *relu_backward;
  scan_add_forward_op *add_forward;
  scan_add_backward_op *add_backward;
  scan_eltwise_op *accumulate;
  scan_maxpool_forward_op *maxpool_forward;
  scan_maxpool_backward_op *maxpool_backward;
  scan_gap_op *gap_forward;
  scan_gap_op *gap_backward;
  scan_rows_op *bias_forward;
  scan_rows_op *bias_backward;
  scan_rows_op *l2norm_forward;
  scan_l2norm_backward_op *l2norm_backward;
} scan_backend;

/* Batch-norm with fixed statistics as the per-channel y = x * scale + shift that bn_apply computes, for `padded` >= c
 * channels (zeros past c): what a convolution's epilogue folds in (scan_net_infer). */
void scan_bn_fold(int c, int padded, const float *mean, const float *var, double eps, const float *gamma, const float *beta,
                  float *scale, float *shift);

/* The batch mean and biased variance per channel from bn_sums over `count` values (several shards' sums added). */
void scan_bn_stats_from_sums(int c, double count, const double *sum, const double *sum_sq, float *mean, float *var);

/* The two backends; which one nets use is their context's choice (include/scan/context.h: SCAN_BACKEND). */
const scan_backend *scan_backend_naive(void);
const scan_backend *scan_backend_onednn(void);

#endif
