/* The convolution algorithms' names (include/scan/tensor.h), as plan files and `scan bench` spell them. */
#include <string.h>

#include "scan/tensor.h"

static const char *const names[SCAN_CONV_ALGO_COUNT] = {
    [SCAN_CONV_AUTO] = "auto",
    [SCAN_CONV_OWN_WINOGRAD] = "own-winograd",
    [SCAN_CONV_OWN_WINOGRAD_S2] = "own-winograd-s2",
    [SCAN_CONV_OWN_GEMM] = "own-gemm",
    [SCAN_CONV_ONEDNN_DIRECT] = "onednn-direct",
    [SCAN_CONV_ONEDNN_WINOGRAD] = "onednn-winograd",
    [SCAN_CONV_ONEDNN_DIRECT_STEM] = "onednn-direct+stem",
    [SCAN_CONV_ONEDNN_WINOGRAD_STEM] = "onednn-winograd+stem",
};

const char *scan_conv_algo_name(scan_conv_algo algo) {
  return (int)algo >= 0 && algo < SCAN_CONV_ALGO_COUNT ? names[algo] : NULL;
}

scan_conv_algo scan_conv_algo_parse(const char *name) {
  for (int a = 0; a < SCAN_CONV_ALGO_COUNT; a++)
    if (name && strcmp(names[a], name) == 0) return (scan_conv_algo)a;
  return SCAN_CONV_ALGO_COUNT;
}
