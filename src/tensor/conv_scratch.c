/* The grow-only scratch buffer (conv_scratch.h). */
#include "conv_scratch.h"

#include <stdlib.h>

float *conv_scratch_reserve(conv_scratch *s, size_t floats) {
  if (floats > s->floats) {
    free(s->data);
    s->floats = 0;
    s->data = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
    if (!s->data) return NULL;
    s->floats = floats;
  }
  return s->data;
}

void conv_scratch_release(conv_scratch *s) {
  free(s->data);
  s->data = NULL;
  s->floats = 0;
}
