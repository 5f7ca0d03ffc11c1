/* The oneDNN 2.x backend. Convolutions let oneDNN choose its preferred (blocked) layouts ("any") and reorder
 * our plain NCHW / OIHW buffers in and out; primitives, reorders and the blocked buffers are created once per
 * layer and shape and cached in scan_conv_state. GEMM is dnnl_sgemm. The memory-bound layers are scan's own
 * vectorised loops (cpu_layers.h). Every oneDNN call of the project lives in
 * src/tensor/, because the 3.x API is different. The engine, the stream and the workspace are the context's
 * (include/scan/context.h), shared by its nets one pass at a time (oneDNN parallelises inside each primitive). */
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "context_internal.h"
#include "conv_epilogue.h"
#include "conv_gemm.h"
#include "conv_stem.h"
#include "conv_winograd.h"
#include "conv_winograd_s2.h"
#include "cpu_layers.h"
#include "scan/tensor.h"

#define DNNL_TRY(call)                                                                               \
  do {                                                                                               \
    dnnl_status_t dnnl_try_status_ = (call);                                                         \
    if (dnnl_try_status_ != dnnl_success)                                                            \
      return scan_fail(SCAN_ERR_INTERNAL, "oneDNN: %s failed (status %d)", #call, (int)dnnl_try_status_); \
  } while (0)

scan_status onednn_context_open(scan_context *ctx) {
  dnnl_status_t st = dnnl_engine_create(&ctx->engine, dnnl_cpu, 0);
  if (st == dnnl_success) st = dnnl_stream_create(&ctx->stream, ctx->engine, dnnl_stream_default_flags);
  if (st != dnnl_success) return scan_fail(SCAN_ERR_INTERNAL, "oneDNN: cannot create the CPU engine (status %d)", (int)st);
  return SCAN_OK;
}

void onednn_context_close(scan_context *ctx) {
  if (ctx->stream) dnnl_stream_destroy(ctx->stream);
  if (ctx->engine) dnnl_engine_destroy(ctx->engine);
  ctx->stream = NULL;
  ctx->engine = NULL;
}

/* One argument of a primitive: our plain buffer ("user", handle set at each call) and, when the primitive wants
 * another layout, its own buffer plus the reorder between the two. */
typedef struct {
  dnnl_memory_t user;
  dnnl_memory_t inner;     /* == user when no reorder is needed */
  dnnl_primitive_t reorder; /* user -> inner for inputs, inner -> user for outputs; NULL when layouts match */
  size_t transient_bytes;  /* > 0: inner lives in the shared workspace during a pass, not in its own buffer */
} binding;

/* Reordered activations only live during one pass (one conv at a time), so they share the context's workspace
 * instead of each layer keeping three blocked copies per pass: that would multiply the activation memory several
 * times. */
static scan_status workspace_reserve(scan_context *ctx, size_t bytes, char **out) {
  *out = NULL;
  if (bytes == 0) return SCAN_OK; /* every argument in its own buffer */
  *out = (char *)conv_scratch_reserve(&ctx->workspace, (bytes + sizeof(float) - 1) / sizeof(float));
  if (!*out) return scan_fail(SCAN_ERR_INTERNAL, "oneDNN: out of memory for a %zu-byte workspace", bytes);
  return SCAN_OK;
}

typedef struct {
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t prim;
  binding args[3];
} pass;

struct scan_conv_state {
  const scan_context *ctx; /* whose engine made the primitives */
  scan_conv_shape shape;
  pass fwd, bwd_data, bwd_weights;
  int fwd_ready, bwd_data_ready, bwd_weights_ready;
};

static void binding_free(binding *b) {
  if (b->reorder) dnnl_primitive_destroy(b->reorder);
  if (b->inner && b->inner != b->user) dnnl_memory_destroy(b->inner);
  if (b->user) dnnl_memory_destroy(b->user);
  memset(b, 0, sizeof *b);
}

static void pass_free(pass *p) {
  for (int i = 0; i < 3; i++) binding_free(&p->args[i]);
  if (p->prim) dnnl_primitive_destroy(p->prim);
  if (p->pd) dnnl_primitive_desc_destroy(p->pd);
  memset(p, 0, sizeof *p);
}

static void onednn_conv_state_free(scan_conv_state *state) {
  if (!state) return;
  pass_free(&state->fwd);
  pass_free(&state->bwd_data);
  pass_free(&state->bwd_weights);
  free(state);
}

/* accumulate: the output reorder adds into the user buffer (reorder with a sum post-op), used for gradients.
 * transient: the inner buffer is placed in the shared workspace at each run (activations; weights keep their own). */
static scan_status binding_init(dnnl_engine_t engine, binding *b, const dnnl_memory_desc_t *user_md,
                                const dnnl_primitive_desc_t pd, dnnl_query_t what, int is_output, int accumulate, int transient) {
  const dnnl_memory_desc_t *inner_md = dnnl_primitive_desc_query_md(pd, what, 0);
  DNNL_TRY(dnnl_memory_create(&b->user, user_md, engine, DNNL_MEMORY_NONE));
  if (dnnl_memory_desc_equal(user_md, inner_md) && !accumulate) {
    b->inner = b->user;
    return SCAN_OK;
  }
  if (transient) b->transient_bytes = dnnl_memory_desc_get_size(inner_md);
  DNNL_TRY(dnnl_memory_create(&b->inner, inner_md, engine, transient ? DNNL_MEMORY_NONE : DNNL_MEMORY_ALLOCATE));
  dnnl_primitive_attr_t attr = NULL;
  if (accumulate) {
    dnnl_post_ops_t ops;
    DNNL_TRY(dnnl_primitive_attr_create(&attr));
    DNNL_TRY(dnnl_post_ops_create(&ops));
    DNNL_TRY(dnnl_post_ops_append_sum(ops, 1.0f));
    DNNL_TRY(dnnl_primitive_attr_set_post_ops(attr, ops));
    dnnl_post_ops_destroy(ops);
  }
  dnnl_primitive_desc_t rpd;
  dnnl_status_t st = is_output ? dnnl_reorder_primitive_desc_create(&rpd, inner_md, engine, user_md, engine, attr)
                               : dnnl_reorder_primitive_desc_create(&rpd, user_md, engine, inner_md, engine, attr);
  if (attr) dnnl_primitive_attr_destroy(attr);
  DNNL_TRY(st);
  st = dnnl_primitive_create(&b->reorder, rpd);
  dnnl_primitive_desc_destroy(rpd);
  DNNL_TRY(st);
  return SCAN_OK;
}

static scan_status run_reorder(dnnl_stream_t stream, binding *b) {
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, b->user}, {DNNL_ARG_TO, b->inner}};
  DNNL_TRY(dnnl_primitive_execute(b->reorder, stream, 2, args));
  return SCAN_OK;
}

static scan_status run_reorder_out(dnnl_stream_t stream, binding *b) {
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, b->inner}, {DNNL_ARG_TO, b->user}};
  DNNL_TRY(dnnl_primitive_execute(b->reorder, stream, 2, args));
  return SCAN_OK;
}

/* Runs a pass: args[0], args[1] are inputs, args[2] the output. */
static scan_status pass_run(scan_context *ctx, pass *p, const int arg_ids[3], const float *in0, const float *in1, float *out) {
  const void *handles[3] = {in0, in1, out};
  for (int i = 0; i < 3; i++) DNNL_TRY(dnnl_memory_set_data_handle(p->args[i].user, (void *)handles[i]));
  size_t need = 0;
  for (int i = 0; i < 3; i++) need += (p->args[i].transient_bytes + 63) / 64 * 64;
  char *workspace;
  SCAN_TRY(workspace_reserve(ctx, need, &workspace));
  size_t offset = 0;
  for (int i = 0; i < 3; i++)
    if (p->args[i].transient_bytes) {
      DNNL_TRY(dnnl_memory_set_data_handle(p->args[i].inner, workspace + offset));
      offset += (p->args[i].transient_bytes + 63) / 64 * 64;
    }
  for (int i = 0; i < 2; i++)
    if (p->args[i].reorder) SCAN_TRY(run_reorder(ctx->stream, &p->args[i]));
  dnnl_exec_arg_t args[3];
  for (int i = 0; i < 3; i++) args[i] = (dnnl_exec_arg_t){arg_ids[i], p->args[i].inner};
  DNNL_TRY(dnnl_primitive_execute(p->prim, ctx->stream, 3, args));
  if (p->args[2].reorder) SCAN_TRY(run_reorder_out(ctx->stream, &p->args[2]));
  DNNL_TRY(dnnl_stream_wait(ctx->stream));
  return SCAN_OK;
}

typedef struct {
  dnnl_memory_desc_t src, weights, dst;                /* plain user layouts */
  dnnl_memory_desc_t any_src, any_weights, any_dst;    /* "any": oneDNN picks */
  dnnl_dims_t strides, pad;
  dnnl_alg_kind_t alg;
} conv_descs;

static scan_status layout_tag(int block, dnnl_format_tag_t *tag) {
  switch (block) {
    case 0:
    case 1: *tag = dnnl_nchw; return SCAN_OK;
    case 4: *tag = dnnl_nChw4c; return SCAN_OK;
    case 8: *tag = dnnl_nChw8c; return SCAN_OK;
    case 16: *tag = dnnl_nChw16c; return SCAN_OK;
  }
  return scan_fail(SCAN_ERR_INTERNAL, "oneDNN backend: no layout for channel block %d", block);
}

/* The rule's oneDNN Winograd needs this many input channels. Below it oneDNN's AVX-512 Winograd (a tile transform
 * per input channel, products of depth in_c) loses to its direct convolution: on a Zen 4 at the default VGG's
 * training batch, one step's three passes took 20.2 ms against 2.0 ms for 1->16 channels at 28x28, 27.3 against 26.0
 * for 16->16 and 14.8 against 12.0 for 16->32 at 14x14, while 32->32 was even (23.5 / 23.7) and 32->64 and 64->64 at
 * 7x7 went to Winograd (8.5 / 10.9, 14.9 / 22.2), as did every 64- to 512-channel layer of ResNet-18 (about 2.2x).
 * `conv_algorithm: measure` times both per layer instead. */
#define ONEDNN_WINOGRAD_MIN_IN_CHANNELS 32

static int onednn_winograd(const scan_conv_shape *s) {
  return s->algo == SCAN_CONV_ONEDNN_WINOGRAD || s->algo == SCAN_CONV_ONEDNN_WINOGRAD_STEM;
}

static scan_status make_descs(const scan_conv_shape *s, conv_descs *d) {
  dnnl_dims_t src = {s->n, s->in_c, s->in_h, s->in_w};
  dnnl_dims_t wei = {s->out_c, s->in_c, s->kernel, s->kernel};
  dnnl_dims_t dst = {s->n, s->out_c, s->out_h, s->out_w};
  dnnl_format_tag_t src_tag = dnnl_nchw, dst_tag = dnnl_nchw;
  SCAN_TRY(layout_tag(s->src_block, &src_tag));
  SCAN_TRY(layout_tag(s->dst_block, &dst_tag));
  DNNL_TRY(dnnl_memory_desc_init_by_tag(&d->src, 4, src, dnnl_f32, src_tag));
  DNNL_TRY(dnnl_memory_desc_init_by_tag(&d->weights, 4, wei, dnnl_f32, dnnl_oihw));
  DNNL_TRY(dnnl_memory_desc_init_by_tag(&d->dst, 4, dst, dnnl_f32, dst_tag));
  DNNL_TRY(dnnl_memory_desc_init_by_tag(&d->any_src, 4, src, dnnl_f32, dnnl_format_tag_any));
  DNNL_TRY(dnnl_memory_desc_init_by_tag(&d->any_weights, 4, wei, dnnl_f32, dnnl_format_tag_any));
  DNNL_TRY(dnnl_memory_desc_init_by_tag(&d->any_dst, 4, dst, dnnl_f32, dnnl_format_tag_any));
  d->strides[0] = d->strides[1] = s->stride;
  d->pad[0] = d->pad[1] = s->pad;
  /* AUTO asks for Winograd when fast and the layer is wide enough, and falls back (below); an explicit algorithm is
     what it says, without fallback */
  const int winograd = s->algo == SCAN_CONV_AUTO ? s->fast && s->in_c >= ONEDNN_WINOGRAD_MIN_IN_CHANNELS : onednn_winograd(s);
  d->alg = winograd ? dnnl_convolution_winograd : dnnl_convolution_direct;
  return SCAN_OK;
}

/* PyTorch pads only on the left/top when the window does not tile the input exactly; oneDNN wants the right
 * padding that makes (in + pl + pr - k) / stride + 1 == out hold exactly. */
static void right_pad(const scan_conv_shape *s, dnnl_dims_t pr) {
  pr[0] = (int64_t)(s->out_h - 1) * s->stride + s->kernel - s->in_h - s->pad;
  pr[1] = (int64_t)(s->out_w - 1) * s->stride + s->kernel - s->in_w - s->pad;
}

static scan_status no_winograd(const scan_conv_shape *s) {
  return scan_fail(SCAN_ERR_INPUT, "convolution algorithm %s: oneDNN has no Winograd convolution for %d->%d channels, "
                                   "%dx%d, kernel %d stride %d on this CPU (%s)", scan_conv_algo_name((scan_conv_algo)s->algo), s->in_c, s->out_c, s->in_h, s->in_w,
                   s->kernel, s->stride, onednn_isa_name());
}

/* Forward pd (needed as the hint for both backward passes). AUTO falls back to direct when Winograd is unavailable. */
static scan_status create_fwd_pd(dnnl_engine_t engine, const scan_conv_shape *s, conv_descs *d, dnnl_primitive_desc_t *pd) {
  dnnl_dims_t pr;
  right_pad(s, pr);
  dnnl_convolution_desc_t cd;
  DNNL_TRY(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, d->alg, &d->any_src, &d->any_weights, NULL,
                                              &d->any_dst, d->strides, d->pad, pr));
  if (dnnl_primitive_desc_create(pd, &cd, NULL, engine, NULL) == dnnl_success) return SCAN_OK;
  if (d->alg == dnnl_convolution_direct) return scan_fail(SCAN_ERR_INTERNAL, "oneDNN: no convolution implementation");
  if (s->algo != SCAN_CONV_AUTO) return no_winograd(s);
  d->alg = dnnl_convolution_direct;
  return create_fwd_pd(engine, s, d, pd);
}

static scan_status state_prepare(const scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s) {
  if (*state && (*state)->ctx == ctx && memcmp(&(*state)->shape, s, sizeof *s) == 0) return SCAN_OK;
  onednn_conv_state_free(*state);
  *state = scan_calloc(1, sizeof **state);
  if (!*state) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for a convolution state");
  (*state)->ctx = ctx;
  (*state)->shape = *s;
  return SCAN_OK;
}

static scan_status build_fwd(scan_conv_state *st) {
  const dnnl_engine_t engine = st->ctx->engine;
  conv_descs d;
  SCAN_TRY(make_descs(&st->shape, &d));
  pass *p = &st->fwd;
  SCAN_TRY(create_fwd_pd(engine, &st->shape, &d, &p->pd));
  DNNL_TRY(dnnl_primitive_create(&p->prim, p->pd));
  SCAN_TRY(binding_init(engine, &p->args[0], &d.src, p->pd, dnnl_query_src_md, 0, 0, 1));
  SCAN_TRY(binding_init(engine, &p->args[1], &d.weights, p->pd, dnnl_query_weights_md, 0, 0, 0));
  SCAN_TRY(binding_init(engine, &p->args[2], &d.dst, p->pd, dnnl_query_dst_md, 1, 0, 1));
  st->fwd_ready = 1;
  return SCAN_OK;
}

/* Backward pd, hinted by the forward one. Falls back to direct when Winograd has no backward implementation (for AUTO
 * and ONEDNN_WINOGRAD alike: include/scan/tensor.h). */
static scan_status create_bwd_pd(dnnl_engine_t engine, const scan_conv_shape *s, conv_descs *d, int weights,
                                 dnnl_primitive_desc_t *pd) {
  dnnl_primitive_desc_t hint;
  SCAN_TRY(create_fwd_pd(engine, s, d, &hint));
  dnnl_dims_t pr;
  right_pad(s, pr);
  dnnl_convolution_desc_t cd;
  dnnl_status_t rc =
      weights ? dnnl_convolution_backward_weights_desc_init(&cd, d->alg, &d->any_src, &d->any_weights, NULL, &d->any_dst,
                                                            d->strides, d->pad, pr)
              : dnnl_convolution_backward_data_desc_init(&cd, d->alg, &d->any_src, &d->any_weights, &d->any_dst, d->strides,
                                                         d->pad, pr);
  if (rc == dnnl_success) rc = dnnl_primitive_desc_create(pd, &cd, NULL, engine, hint);
  dnnl_primitive_desc_destroy(hint);
  if (rc != dnnl_success && d->alg != dnnl_convolution_direct) {
    d->alg = dnnl_convolution_direct;
    return create_bwd_pd(engine, s, d, weights, pd);
  }
  DNNL_TRY(rc);
  return SCAN_OK;
}

static scan_status build_bwd(scan_conv_state *st, int weights) {
  const dnnl_engine_t engine = st->ctx->engine;
  conv_descs d;
  SCAN_TRY(make_descs(&st->shape, &d));
  pass *p = weights ? &st->bwd_weights : &st->bwd_data;
  SCAN_TRY(create_bwd_pd(engine, &st->shape, &d, weights, &p->pd));
  DNNL_TRY(dnnl_primitive_create(&p->prim, p->pd));
  if (weights) {
    SCAN_TRY(binding_init(engine, &p->args[0], &d.src, p->pd, dnnl_query_src_md, 0, 0, 1));
    SCAN_TRY(binding_init(engine, &p->args[1], &d.dst, p->pd, dnnl_query_diff_dst_md, 0, 0, 1));
    SCAN_TRY(binding_init(engine, &p->args[2], &d.weights, p->pd, dnnl_query_diff_weights_md, 1, 1, 0));
    st->bwd_weights_ready = 1;
  } else {
    SCAN_TRY(binding_init(engine, &p->args[0], &d.dst, p->pd, dnnl_query_diff_dst_md, 0, 0, 1));
    SCAN_TRY(binding_init(engine, &p->args[1], &d.weights, p->pd, dnnl_query_weights_md, 0, 0, 0));
    SCAN_TRY(binding_init(engine, &p->args[2], &d.src, p->pd, dnnl_query_diff_src_md, 1, 0, 1));
    st->bwd_data_ready = 1;
  }
  return SCAN_OK;
}

/* Whether scan's kernels (or oneDNN) can run s->algo for s, without asking oneDNN: oneDNN's Winograd may still be
 * missing on this CPU, which creating its primitives finds out. */
static scan_status algo_fits(const scan_conv_shape *s) {
  const char *name = scan_conv_algo_name((scan_conv_algo)s->algo), *why = NULL;
  if (!name) return scan_fail(SCAN_ERR_INPUT, "convolution algorithm number %d does not exist", s->algo);
  const int own = s->algo == SCAN_CONV_OWN_WINOGRAD || s->algo == SCAN_CONV_OWN_WINOGRAD_S2 || s->algo == SCAN_CONV_OWN_GEMM;
  const int stem = s->algo == SCAN_CONV_ONEDNN_DIRECT_STEM || s->algo == SCAN_CONV_ONEDNN_WINOGRAD_STEM;
  if ((own || onednn_winograd(s)) && !s->fast) why = "fast_convolution is false (oneDNN direct only)";
  else if (own && (s->src_block != 8 || s->dst_block != 8)) why = "scan's kernels need nChw8c activations on both sides";
  else if (s->algo == SCAN_CONV_OWN_WINOGRAD && !winograd_conv_fits(s)) why = "it is not a 3x3 stride 1 pad 1 convolution";
  else if (s->algo == SCAN_CONV_OWN_WINOGRAD_S2 && !winograd_s2_conv_fits(s)) why = "it is not a 3x3 stride 2 pad 1 convolution";
  else if (s->algo == SCAN_CONV_OWN_GEMM && !conv_gemm_fits(s)) why = "the kernel is larger than 7";
  else if (stem && !stem_conv_applies(s))
    why = "the stem kernel takes plain-layout input, 8- or 16-channel blocked output and at most 196 taps";
  if (!why) return SCAN_OK;
  return scan_fail(SCAN_ERR_INPUT, "convolution algorithm %s does not apply to %d->%d channels, %dx%d, kernel %d stride %d pad %d "
                                   "(nChw%dc in, nChw%dc out): %s", name, s->in_c, s->out_c, s->in_h, s->in_w, s->kernel,
                   s->stride, s->pad, s->src_block ? s->src_block : 1, s->dst_block ? s->dst_block : 1, why);
}

/* The kernel that runs one pass of s: scan's own (OWN_*), the stem kernel (returned as ONEDNN_DIRECT_STEM: the
 * weight gradient of the *_STEM algorithms), or oneDNN (anything else: make_descs reads which from s->algo). AUTO is
 * the rule (include/scan/tensor.h). */
static scan_conv_algo kernel_for(const scan_conv_shape *s, int weight_gradient) {
  switch (s->algo) {
    case SCAN_CONV_AUTO:
      /* the stem kernel only beside scan's kernels (nChw8c): with nChw16c oneDNN's own direct weight gradient was
         4x faster (the 1->16 layer above: direct 2.0 ms for all passes, with the stem kernel 8.2) */
      if (weight_gradient && s->dst_block == 8 && stem_conv_applies(s)) return SCAN_CONV_ONEDNN_DIRECT_STEM;
      if (winograd_conv_applies(s)) return SCAN_CONV_OWN_WINOGRAD;
      if (winograd_s2_conv_applies(s)) return SCAN_CONV_OWN_WINOGRAD_S2;
      if (conv_gemm_applies(s)) return SCAN_CONV_OWN_GEMM;
      return SCAN_CONV_AUTO;
    case SCAN_CONV_ONEDNN_DIRECT_STEM:
    case SCAN_CONV_ONEDNN_WINOGRAD_STEM: return weight_gradient ? SCAN_CONV_ONEDNN_DIRECT_STEM : SCAN_CONV_ONEDNN_WINOGRAD;
    default: return (scan_conv_algo)s->algo;
  }
}

/* The passes, once the context's buffers are claimed for them. */
static scan_status conv_forward(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s, const float *x,
                                const float *w, float *y) {
  switch (kernel_for(s, 0)) {
    case SCAN_CONV_OWN_WINOGRAD: return winograd_conv_forward(&ctx->scratch, s, x, w, y);
    case SCAN_CONV_OWN_WINOGRAD_S2: return winograd_s2_conv_forward(&ctx->scratch, s, x, w, y);
    case SCAN_CONV_OWN_GEMM: return conv_gemm_forward(&ctx->scratch, s, x, w, y);
    default: break;
  }
  SCAN_TRY(state_prepare(ctx, state, s));
  if (!(*state)->fwd_ready) SCAN_TRY(build_fwd(*state));
  static const int ids[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
  return pass_run(ctx, &(*state)->fwd, ids, x, w, y);
}

/* Winograd and patch products apply the epilogue as they store; oneDNN's direct convolution gets a pass after it. */
static scan_status conv_forward_affine(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s, const float *x,
                                       const float *w, const scan_conv_epilogue *ep, float *y) {
  if (s->dst_block != 8) return scan_fail(SCAN_ERR_INTERNAL, "conv_forward_affine: outputs must be nChw8c");
  switch (kernel_for(s, 0)) {
    case SCAN_CONV_OWN_WINOGRAD: return winograd_conv_forward_affine(&ctx->scratch, s, x, w, ep, y);
    case SCAN_CONV_OWN_WINOGRAD_S2: return winograd_s2_conv_forward_affine(&ctx->scratch, s, x, w, ep, y);
    case SCAN_CONV_OWN_GEMM: return conv_gemm_forward_affine(&ctx->scratch, s, x, w, ep, y);
    default: break;
  }
  SCAN_TRY(conv_forward(ctx, state, s, x, w, y));
  const int blocks = scan_channel_blocks(s->out_c, 8);
  const int64_t plane = (int64_t)s->out_h * s->out_w;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < s->n; b++)
    for (int kb = 0; kb < blocks; kb++) conv_epilogue_run(ep, kb, y, ((int64_t)b * blocks + kb) * plane * 8, plane);
  return SCAN_OK;
}

static scan_status conv_backward_data(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s, const float *dy,
                                      const float *w, float *dx) {
  switch (kernel_for(s, 0)) {
    case SCAN_CONV_OWN_WINOGRAD: return winograd_conv_backward_data(&ctx->scratch, s, dy, w, dx);
    case SCAN_CONV_OWN_WINOGRAD_S2: return winograd_s2_conv_backward_data(&ctx->scratch, s, dy, w, dx);
    case SCAN_CONV_OWN_GEMM: return conv_gemm_backward_data(&ctx->scratch, s, dy, w, dx);
    default: break;
  }
  SCAN_TRY(state_prepare(ctx, state, s));
  if (!(*state)->bwd_data_ready) SCAN_TRY(build_bwd(*state, 0));
  static const int ids[3] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
  return pass_run(ctx, &(*state)->bwd_data, ids, dy, w, dx);
}

static scan_status conv_backward_weights(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s, const float *x,
                                         const float *dy, float *dw) {
  switch (kernel_for(s, 1)) {
    case SCAN_CONV_ONEDNN_DIRECT_STEM: stem_conv_backward_weights(s, x, dy, dw); return SCAN_OK;
    case SCAN_CONV_OWN_WINOGRAD: return winograd_conv_backward_weights(&ctx->scratch, s, x, dy, dw);
    case SCAN_CONV_OWN_WINOGRAD_S2: return winograd_s2_conv_backward_weights(&ctx->scratch, s, x, dy, dw);
    case SCAN_CONV_OWN_GEMM: return conv_gemm_backward_weights(&ctx->scratch, s, x, dy, dw);
    default: break;
  }
  SCAN_TRY(state_prepare(ctx, state, s));
  if (!(*state)->bwd_weights_ready) SCAN_TRY(build_bwd(*state, 1));
  static const int ids[3] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS};
  return pass_run(ctx, &(*state)->bwd_weights, ids, x, dy, dw);
}

/* The table's entries: each pass holds the context's buffers while it runs (context_claim). */
static scan_status no_context(void) { return scan_fail(SCAN_ERR_INTERNAL, "oneDNN backend: a convolution without a context"); }

/* An explicit algorithm is checked at every pass (cheap), so a shape it cannot run fails instead of reaching a
 * kernel that would read it wrongly. */
#define CLAIMED(call)                   \
  do {                                  \
    if (!ctx) return no_context();      \
    SCAN_TRY(algo_fits(s));             \
    SCAN_TRY(context_claim(ctx));       \
    scan_status claimed_status_ = call; \
    context_release(ctx);               \
    return claimed_status_;             \
  } while (0)

static scan_status onednn_conv_forward(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s, const float *x,
                                       const float *w, float *y) {
  CLAIMED(conv_forward(ctx, state, s, x, w, y));
}

static scan_status onednn_conv_forward_affine(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s,
                                              const float *x, const float *w, const scan_conv_epilogue *ep, float *y) {
  CLAIMED(conv_forward_affine(ctx, state, s, x, w, ep, y));
}

static scan_status onednn_conv_backward_data(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s,
                                             const float *dy, const float *w, float *dx) {
  CLAIMED(conv_backward_data(ctx, state, s, dy, w, dx));
}

static scan_status onednn_conv_backward_weights(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s,
                                                const float *x, const float *dy, float *dw) {
  CLAIMED(conv_backward_weights(ctx, state, s, x, dy, dw));
}

/* algo_fits, then, for oneDNN's Winograd, whether oneDNN has its forward pass for s on this CPU (it has none in
 * oneDNN 2.x's AVX2 kernels): the primitive descriptor is made and dropped. */
static scan_status onednn_conv_algo_check(scan_context *ctx, const scan_conv_shape *s) {
  SCAN_TRY(algo_fits(s));
  if (!onednn_winograd(s)) return SCAN_OK;
  if (!ctx) return no_context();
  conv_descs d;
  dnnl_primitive_desc_t pd = NULL;
  SCAN_TRY(make_descs(s, &d));
  SCAN_TRY(create_fwd_pd(ctx->engine, s, &d, &pd));
  dnnl_primitive_desc_destroy(pd);
  return SCAN_OK;
}

/* The channel block oneDNN picks for activations of a typical 3x3 conv (16 with AVX-512, 8 with AVX2), or 1 when it
 * prefers plain layouts; the context's settings may name one instead (SCAN_ONEDNN_BLOCK, to compare layouts). Asked
 * once, when the context is made. */
static int onednn_preferred_block(scan_context *ctx) {
  if (ctx->settings.onednn_block) return ctx->settings.onednn_block;
  int preferred = 1;
  scan_conv_shape s = {.n = 2, .in_c = 64, .in_h = 8, .in_w = 8, .out_c = 64, .out_h = 8, .out_w = 8, .kernel = 3, .stride = 1, .pad = 1};
  conv_descs d;
  dnnl_primitive_desc_t pd;
  if (make_descs(&s, &d) != SCAN_OK || create_fwd_pd(ctx->engine, &s, &d, &pd) != SCAN_OK) return preferred;
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
  const dnnl_blocking_desc_t *blk = &md->format_desc.blocking;
  if (md->format_kind == dnnl_blocked && blk->inner_nblks == 1 && blk->inner_idxs[0] == 1) {
    int block = (int)blk->inner_blks[0];
    if (block == 4 || block == 8 || block == 16) preferred = block;
  }
  dnnl_primitive_desc_destroy(pd);
  return preferred;
}

static void onednn_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                        const float *b, int ldb, float beta, float *c, int ldc) {
  /* dnnl_sgemm is row-major like our callers; it only fails on invalid arguments, which callers never pass. */
  (void)dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

const scan_backend *scan_backend_onednn(void) {
  static const scan_backend backend = {
      .name = "onednn",
      .preferred_block = onednn_preferred_block,
      .conv_forward = onednn_conv_forward,
      .conv_forward_affine = onednn_conv_forward_affine,
      .conv_backward_data = onednn_conv_backward_data,
      .conv_backward_weights = onednn_conv_backward_weights,
      .conv_state_free = onednn_conv_state_free,
      .conv_algo_check = onednn_conv_algo_check,
      .gemm = onednn_gemm,
      .bn_stats = cpu_bn_stats,
      .bn_apply = cpu_bn_apply,
      .bn_backward = cpu_bn_backward,
      .bn_backward_eval = cpu_bn_backward_eval,
      .bn_sums = cpu_bn_sums,
      .bn_grad_sums = cpu_bn_grad_sums,
      .bn_backward_dx = cpu_bn_backward_dx,
      .relu_forward = cpu_relu_forward,
      .relu_backward = cpu_relu_backward,
      .add_forward = cpu_add_forward,
      .add_backward = cpu_add_backward,
      .accumulate = cpu_accumulate,
      .maxpool_forward = cpu_maxpool_forward,
      .maxpool_backward = cpu_maxpool_backward,
      .gap_forward = cpu_gap_forward,
      .gap_backward = cpu_gap_backward,
      .bias_forward = rows_bias_forward,
      .bias_backward = rows_bias_backward,
      .l2norm_forward = rows_l2norm_forward,
      .l2norm_backward = rows_l2norm_backward,
  };
  return &backend;
}

/* oneDNN refuses a cap after its first kernel; the cap still holds when that kernel was AVX2 already (ONEDNN_MAX_CPU_ISA,
 * or a CPU without AVX-512). */
int onednn_limit_to_avx2(void) {
  if (dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx2) == dnnl_success) return 1;
  const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  return isa == dnnl_cpu_isa_sse41 || isa == dnnl_cpu_isa_avx || isa == dnnl_cpu_isa_avx2;
}

const char *onednn_isa_name(void) {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}
