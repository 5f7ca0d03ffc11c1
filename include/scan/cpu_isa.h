/* Which instruction sets scan's own kernels and oneDNN may use on this CPU.
 *
 * One binary serves every machine: it is built for AVX2 + FMA (x86-64-v3, every CPU scan supports) and picks
 * wider kernels at run time by CPUID. A cap limits the choice, so the AVX2 path can be tested and timed on an
 * AVX-512 machine too: the environment variable SCAN_ISA, read when the context is made (include/scan/context.h):
 *   SCAN_ISA=avx2     AVX2 + FMA only (what a Zen 3 runs), for scan's kernels and oneDNN's;
 *   SCAN_ISA=avx512   everything the CPU has (the default; also accepted: native).
 * The cap is process-wide because the CPU and oneDNN's cap are (oneDNN takes it once, before its first kernel): the
 * first context applies it, at program start, and later contexts must ask for the same. Before any context exists
 * there is no cap; oneDNN there follows its own variable ONEDNN_MAX_CPU_ISA. */
#ifndef SCAN_CPU_ISA_H
#define SCAN_CPU_ISA_H

#include <stddef.h>

#include "scan/context.h"
#include "scan/error.h"

typedef struct {
  int avx512;      /* AVX-512 F, BW, VL and DQ */
  int avx512_vnni; /* AVX-512 VNNI (with VL: 256-bit vpdpbusd); Zen 4 and later */
  int avx_vnni;    /* the VEX-encoded AVX-VNNI; Zen 5, Intel since Alder Lake */
} scan_cpu_features;

/* What this CPU has, within the process's cap. */
scan_cpu_features scan_cpu_features_get(void);

/* One line for `scan bench`: the CPU's model name, its extensions, the cap, and which kernels ctx's nets run. */
void scan_isa_describe(const scan_context *ctx, char *out, size_t size);

#endif
