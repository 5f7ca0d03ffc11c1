/* cpu_isa: CPUID-based features within the user's cap (include/scan/cpu_isa.h). */
#include "scan/cpu_isa.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onednn_isa.h"
#include "scan/tensor.h"

/* The cap, read from SCAN_ISA once: by scan_isa_init at program start, or by the first scan_cpu_features_get (tests
 * that run library code in-process). */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_capped_to_avx2, g_bad_value;

static void read_cap(void) {
  const char *name = getenv("SCAN_ISA");
  if (!name || !name[0] || strcmp(name, "avx512") == 0 || strcmp(name, "native") == 0) return;
  if (strcmp(name, "avx2") == 0) g_capped_to_avx2 = 1;
  else g_bad_value = 1;
}

scan_status scan_isa_init(void) {
  pthread_once(&g_once, read_cap);
  if (g_bad_value) return scan_fail(SCAN_ERR_INPUT, "SCAN_ISA='%s': expected avx2, avx512 or native", getenv("SCAN_ISA"));
  if (g_capped_to_avx2 && !onednn_limit_to_avx2())
    return scan_fail(SCAN_ERR_INTERNAL, "SCAN_ISA=avx2: oneDNN refused the cap (it must come before its first kernel)");
  return SCAN_OK;
}

scan_cpu_features scan_cpu_features_get(void) {
  scan_cpu_features f = {0};
  pthread_once(&g_once, read_cap);
  if (g_capped_to_avx2) return f;
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

void scan_isa_describe(char *out, size_t size) {
  char model[256];
  cpu_model(model, sizeof model);
  __builtin_cpu_init();
  int has_avx512 = __builtin_cpu_supports("avx512f");
  scan_cpu_features f = scan_cpu_features_get();
  /* scan's Winograd and patch kernels take nChw8c activations; with another preferred block the nets' convolutions
   * all run in oneDNN */
  int block = scan_backend_default()->preferred_block();
  snprintf(out, size, "cpu: %s (%s); cap: %s; convolutions: %s (nChw%dc); oneDNN: %s; kNN int8 screen: %s", model,
           has_avx512 ? "avx512f" : "no avx512f", g_capped_to_avx2 ? "SCAN_ISA=avx2" : "none",
           block == 8 ? "scan's avx2+fma Winograd and patch kernels, oneDNN for the rest" : "oneDNN", block,
           onednn_isa_name(), f.avx512_vnni ? "avx512-vnni" : f.avx_vnni ? "avx-vnni" : "avx2");
}
