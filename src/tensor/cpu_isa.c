/* cpu_isa: CPUID-based features within the process's cap (include/scan/cpu_isa.h). */
#include "scan/cpu_isa.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "context_internal.h"

/* The cap, set by the first context (isa_cap_apply) and fixed from then on, as oneDNN's is. */
static pthread_mutex_t g_cap_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_cap_applied, g_capped_to_avx2;

scan_status isa_cap_apply(int avx2) {
  pthread_mutex_lock(&g_cap_lock);
  scan_status st = SCAN_OK;
  if (g_cap_applied && g_capped_to_avx2 != (avx2 != 0))
    st = scan_fail(SCAN_ERR_INPUT, "SCAN_ISA: this process already runs %s, and a context cannot change it (oneDNN takes one "
                                   "cap per process)", g_capped_to_avx2 ? "capped at avx2" : "uncapped");
  else if (!g_cap_applied && avx2 && !onednn_limit_to_avx2())
    st = scan_fail(SCAN_ERR_INTERNAL, "SCAN_ISA=avx2: oneDNN refused the cap (it must come before its first kernel)");
  else if (!g_cap_applied) {
    g_cap_applied = 1;
    g_capped_to_avx2 = avx2 != 0;
  }
  pthread_mutex_unlock(&g_cap_lock);
  return st;
}

static int capped_to_avx2(void) {
  pthread_mutex_lock(&g_cap_lock);
  const int capped = g_capped_to_avx2;
  pthread_mutex_unlock(&g_cap_lock);
  return capped;
}

scan_cpu_features scan_cpu_features_get(void) {
  scan_cpu_features f = {0};
  if (capped_to_avx2()) return f;
  __builtin_cpu_init();
  f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  f.avx512_vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
  /* GCC 12's __builtin_cpu_supports does not know AVX-VNNI: CPUID leaf 7 subleaf 1, EAX bit 4. */
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(7), "c"(1));
  f.avx_vnni = (eax >> 4) & 1;
  return f;
}

/* The "model name" line of /proc/cpuinfo, or "unknown CPU". */
static void cpu_model(char *out, size_t size) {
  snprintf(out, size, "unknown CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "model name", 10) == 0) {
      const char *value = strchr(line, ':');
      if (value) snprintf(out, size, "%s", value + 1 + (value[1] == ' '));
      out[strcspn(out, "\n")] = 0;
      break;
    }
  fclose(f);
}

void scan_isa_describe(const scan_context *ctx, char *out, size_t size) {
  char model[256];
  cpu_model(model, sizeof model);
  __builtin_cpu_init();
  int has_avx512 = __builtin_cpu_supports("avx512f");
  scan_cpu_features f = scan_cpu_features_get();
  /* scan's Winograd and patch kernels take nChw8c activations; with another preferred block the nets' convolutions
   * all run in oneDNN */
  int block = ctx->block;
  snprintf(out, size, "cpu: %s (%s); cap: %s; convolutions: %s (nChw%dc); oneDNN: %s; kNN int8 screen: %s", model,
           has_avx512 ? "avx512f" : "no avx512f", ctx->settings.isa_avx2 ? "SCAN_ISA=avx2" : "none",
           block == 8 ? "scan's avx2+fma Winograd and patch kernels, oneDNN for the rest" : "oneDNN", block,
           onednn_isa_name(), f.avx512_vnni ? "avx512-vnni" : f.avx_vnni ? "avx-vnni" : "avx2");
}
