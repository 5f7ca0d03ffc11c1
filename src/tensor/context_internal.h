/* The inside of scan_context (include/scan/context.h), for the backends and kernels of src/tensor/. */
#ifndef SCAN_TENSOR_CONTEXT_INTERNAL_H
#define SCAN_TENSOR_CONTEXT_INTERNAL_H

#include <stdatomic.h>

#include <oneapi/dnnl/dnnl.h>

#include "conv_scratch.h"
#include "scan/context.h"

struct scan_context {
  scan_context_settings settings;
  const scan_backend *backend; /* settings.backend, or oneDNN's */
  int block;                   /* backend->preferred_block, asked at creation */
  int threads;
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  conv_scratch scratch;   /* the hand-written convolutions' buffers (conv_winograd.c, conv_gemm.c) */
  conv_scratch workspace; /* oneDNN's reordered activations during one pass (backend_onednn.c) */
  atomic_flag busy;       /* set while a pass uses the two buffers above */
};

/* Marks the start of a pass that uses the context's buffers; fails (SCAN_ERR_INTERNAL) when another pass is using
 * them, i.e. when nets of one context run from two threads at once. Every successful claim is paired with a release. */
scan_status context_claim(scan_context *ctx);
void context_release(scan_context *ctx);

/* The process's ISA cap (cpu_isa.c): the first call applies it (to scan's kernels and oneDNN's); later calls must ask
 * for the same one. */
scan_status isa_cap_apply(int avx2);

/* The oneDNN side (every oneDNN call lives in backend_onednn.c). */
scan_status onednn_context_open(scan_context *ctx); /* the engine and stream */
void onednn_context_close(scan_context *ctx);
/* Caps oneDNN's JIT kernels at AVX2; 0 when oneDNN refused and already runs wider kernels. */
int onednn_limit_to_avx2(void);
/* The instruction set oneDNN's kernels use, e.g. "avx512_core_bf16". */
const char *onednn_isa_name(void);

#endif
