/* A grow-only scratch buffer, owned by a context (include/scan/context.h): the hand-written convolutions
 * (conv_winograd.c, conv_gemm.c) take theirs, and the oneDNN backend keeps its reordered activations in another.
 * A context runs one pass at a time and each pass uses the buffer only until it returns, so every net of the context
 * shares it, sized for the largest pass seen. Kept between calls: allocating tens of megabytes per call would pay for
 * fresh zeroed pages every time. */
#ifndef SCAN_TENSOR_CONV_SCRATCH_H
#define SCAN_TENSOR_CONV_SCRATCH_H

#include <stddef.h>

typedef struct {
  float *data;
  size_t floats;
} conv_scratch;

/* At least `floats` floats, 64-byte aligned; NULL when out of memory. Valid until the next call on the same buffer. */
float *conv_scratch_reserve(conv_scratch *s, size_t floats);
void conv_scratch_release(conv_scratch *s);

#endif
