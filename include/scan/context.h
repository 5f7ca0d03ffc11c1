/* The compute context: what every layer of every net shares and what used to be process-wide state. One holds
 *   - the backend table its nets use and the activation layout (channel block) they keep between layers;
 *   - the instruction-set cap;
 *   - oneDNN's engine and stream;
 *   - the scratch buffers of the hand-written convolutions and of oneDNN's reordered activations;
 *   - the compute thread count.
 * The settings come from the environment once, when the context is made (scan_context_settings_from_env), never
 * from a lookup inside a kernel. A net keeps a pointer to the context it was created in (scan_net_create).
 *
 * One pass at a time: a context's scratch is sized for the largest pass seen and reused by the next, so any number of
 * nets share a context as long as they run alternately from one thread (as the pipeline's do). Two passes on one
 * context at once (nets of one context driven from two threads) are refused with an error; nets run concurrently
 * need a context each.
 *
 * The program makes one context, the process's default: src/cli/main.c opens it before any command runs (a bad
 * SCAN_* value is an exit-2 error there) and closes it at exit; the pipeline, the benchmarks and the tests take it
 * from scan_context_default(). */
#ifndef SCAN_CONTEXT_H
#define SCAN_CONTEXT_H

#include "scan/error.h"
#include "scan/tensor.h"

typedef struct {
  const scan_backend *backend; /* NULL: oneDNN's (scan_backend_onednn) */
  int isa_avx2;                /* 1: scan's kernels and oneDNN's at most AVX2 + FMA; 0: whatever the CPU has */
  int onednn_block;            /* the oneDNN backend's activation block: 0 = the one oneDNN prefers; 1, 4, 8 or 16 = that
                                  one (to compare layouts) */
} scan_context_settings;

/* The settings the environment asks for; SCAN_ERR_INPUT names a variable with a value it does not know.
 *   SCAN_BACKEND       onednn (the default) or naive (the reference loops: slow, for checking);
 *   SCAN_ISA           avx2 (the cap), avx512 or native (no cap, the default);
 *   SCAN_ONEDNN_BLOCK  1, 4, 8 or 16 (unset: oneDNN's choice). */
scan_status scan_context_settings_from_env(scan_context_settings *out);

/* Applies the ISA cap, creates oneDNN's engine and stream and asks the backend for its layout. The cap is the
 * process's, because oneDNN takes one cap per process (before its first kernel): every context must ask for the cap
 * the first one applied, and one that asks for another is refused (SCAN_ERR_INPUT). The thread count starts as
 * OpenMP's (OMP_NUM_THREADS, else every core). */
scan_status scan_context_create(scan_context **out, const scan_context_settings *settings);
/* After every net created in it. */
void scan_context_free(scan_context *ctx);

const scan_backend *scan_context_backend(const scan_context *ctx);
/* The activation layout block the context's nets keep between layers (include/scan/tensor.h). */
int scan_context_block(const scan_context *ctx);
/* The ISA cap's setting (scan_context_settings.isa_avx2). */
int scan_context_isa_avx2(const scan_context *ctx);

/* The compute thread count: the team every OpenMP region and oneDNN primitive of this program uses. OpenMP keeps the
 * count per calling thread, not per object, so setting it applies it to OpenMP for the thread that runs the nets (the
 * main thread); the program sets it once it has read its configuration (scan_pipeline_open, scan bench --threads).
 * threads <= 0 keeps the current count. Some sums are split by thread (the convolutions' weight gradients add
 * per-thread shares in thread order), so the same seed gives the same bits with the same count. */
void scan_context_set_threads(scan_context *ctx, int threads);
int scan_context_threads(const scan_context *ctx);

/* The process's default context. scan_context_open_default makes it from the environment (nothing when it is
 * already open); scan_context_default returns it, opening it on first use where nobody did (tests and tools that
 * link the library), and NULL when opening failed (the message says why). scan_context_close_default frees it, after
 * every net that uses it. */
scan_status scan_context_open_default(void);
scan_context *scan_context_default(void);
void scan_context_close_default(void);

#endif
