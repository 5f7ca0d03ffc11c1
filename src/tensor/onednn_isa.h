/* The oneDNN side of include/scan/cpu_isa.h (oneDNN calls stay in backend_onednn.c). */
#ifndef SCAN_TENSOR_ONEDNN_ISA_H
#define SCAN_TENSOR_ONEDNN_ISA_H

/* Caps oneDNN's JIT kernels at AVX2; 0 when oneDNN refused (it already built a kernel). */
int onednn_limit_to_avx2(void);
/* The instruction set oneDNN's kernels use, e.g. "avx512_core_bf16". */
const char *onednn_isa_name(void);

#endif
