/* The shared convolution scratch buffer (conv_scratch.h). */
#include "conv_scratch.h"

#include <stdlib.h>

static float *g_scratch;
static size_t g_scratch_floats;

float *conv_scratch(size_t floats) {
  if (floats > g_scratch_floats) {
    free(g_scratch);
    g_scratch_floats = 0;
    g_scratch = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
    if (!g_scratch) return NULL;
    g_scratch_floats = floats;
  }
  return g_scratch;
}
