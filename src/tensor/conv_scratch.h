/* One scratch buffer for the hand-written convolutions (conv_winograd.c, conv_gemm.c): passes run one at a time
 * (see backend_onednn.c) and each uses the buffer only until it returns, so they share it. Kept between calls:
 * allocating tens of megabytes per call would pay for fresh zeroed pages every time. */
#ifndef SCAN_TENSOR_CONV_SCRATCH_H
#define SCAN_TENSOR_CONV_SCRATCH_H

#include <stddef.h>

/* At least `floats` floats, 64-byte aligned; NULL when out of memory. Valid until the next call. */
float *conv_scratch(size_t floats);

#endif
