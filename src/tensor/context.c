/* scan_context: creation from settings, the environment's settings, and the process's default context
 * (include/scan/context.h). */
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "context_internal.h"

/* An unset or empty variable reads as its default. */
static const char *env_value(const char *name) {
  const char *value = getenv(name);
  return value && value[0] ? value : NULL;
}

scan_status scan_context_settings_from_env(scan_context_settings *out) {
  memset(out, 0, sizeof *out);
  const char *backend = env_value("SCAN_BACKEND"), *isa = env_value("SCAN_ISA"), *block = env_value("SCAN_ONEDNN_BLOCK");
  if (backend && strcmp(backend, "naive") == 0) out->backend = scan_backend_naive();
  else if (backend && strcmp(backend, "onednn") != 0)
    return scan_fail(SCAN_ERR_INPUT, "SCAN_BACKEND='%s': expected onednn or naive", backend);
  if (isa && strcmp(isa, "avx2") == 0) out->isa_avx2 = 1;
  else if (isa && strcmp(isa, "avx512") != 0 && strcmp(isa, "native") != 0)
    return scan_fail(SCAN_ERR_INPUT, "SCAN_ISA='%s': expected avx2, avx512 or native", isa);
  if (block) {
    static const char *const known[] = {"1", "4", "8", "16"};
    for (int i = 0; i < 4 && !out->onednn_block; i++)
      if (strcmp(block, known[i]) == 0) out->onednn_block = atoi(block);
    if (!out->onednn_block) return scan_fail(SCAN_ERR_INPUT, "SCAN_ONEDNN_BLOCK='%s': expected 1, 4, 8 or 16", block);
  }
  return SCAN_OK;
}

scan_status scan_context_create(scan_context **out, const scan_context_settings *settings) {
  *out = NULL;
  const int block = settings->onednn_block;
  if (block && block != 1 && block != 4 && block != 8 && block != 16)
    return scan_fail(SCAN_ERR_INPUT, "context: oneDNN activation block %d is not 1, 4, 8 or 16", block);
  /* before oneDNN's first kernel, which the layout question below already builds */
  SCAN_TRY(isa_cap_apply(settings->isa_avx2));
  scan_context *ctx = scan_calloc(1, sizeof *ctx);
  if (!ctx) return SCAN_ERR_INTERNAL;
  ctx->settings = *settings;
  ctx->backend = settings->backend ? settings->backend : scan_backend_onednn();
  atomic_flag_clear(&ctx->busy);
  scan_status st = onednn_context_open(ctx);
  if (st != SCAN_OK) {
    scan_context_free(ctx);
    return st;
  }
  ctx->block = ctx->backend->preferred_block(ctx);
  ctx->threads = omp_get_max_threads();
  *out = ctx;
  return SCAN_OK;
}

void scan_context_free(scan_context *ctx) {
  if (!ctx) return;
  onednn_context_close(ctx);
  conv_scratch_release(&ctx->scratch);
  conv_scratch_release(&ctx->workspace);
  free(ctx);
}

const scan_backend *scan_context_backend(const scan_context *ctx) { return ctx->backend; }
int scan_context_block(const scan_context *ctx) { return ctx->block; }
int scan_context_isa_avx2(const scan_context *ctx) { return ctx->settings.isa_avx2; }

void scan_context_set_threads(scan_context *ctx, int threads) {
  if (threads > 0) omp_set_num_threads(threads);
  ctx->threads = omp_get_max_threads();
}

int scan_context_threads(const scan_context *ctx) { return ctx->threads; }

scan_status context_claim(scan_context *ctx) {
  if (atomic_flag_test_and_set(&ctx->busy))
    return scan_fail(SCAN_ERR_INTERNAL, "context: two convolutions at once in one context (nets that share a context run one "
                                        "at a time, from one thread; nets run concurrently need a context each)");
  return SCAN_OK;
}

void context_release(scan_context *ctx) { atomic_flag_clear(&ctx->busy); }

/* ---- the process's default context ---- */

static scan_context *g_default;
static pthread_mutex_t g_default_lock = PTHREAD_MUTEX_INITIALIZER;

scan_status scan_context_open_default(void) {
  pthread_mutex_lock(&g_default_lock);
  scan_status st = SCAN_OK;
  if (!g_default) {
    scan_context_settings settings;
    st = scan_context_settings_from_env(&settings);
    if (st == SCAN_OK) st = scan_context_create(&g_default, &settings);
  }
  pthread_mutex_unlock(&g_default_lock);
  return st;
}

scan_context *scan_context_default(void) { return scan_context_open_default() == SCAN_OK ? g_default : NULL; }

void scan_context_close_default(void) {
  pthread_mutex_lock(&g_default_lock);
  scan_context_free(g_default);
  g_default = NULL;
  pthread_mutex_unlock(&g_default_lock);
}
