/* tools/bench_libxsmm.sh's timing program (not part of scan): the products inside scan's Winograd convolutions, done by
 * scan's own AVX2 kernel (src/tensor/gemm_panel.c) and by the small-matrix kernels libxsmm generates at run time for the
 * CPU (or for the architecture LIBXSMM_TARGET names: hsw = AVX2, skx/clx/cpx = AVX-512), on the same operands.
 *
 * One Winograd forward block multiplies, for each of the 36 transformed points, the block's tiles by the transformed
 * weights: M[tiles x K] = V[tiles x C] . U[C x K], U stored as 16-wide column panels (C x 16 each), M rows K apart.
 * scan runs gemm_panel_rows over 6 rows x one panel at a time; libxsmm gets one kernel per panel of the shape
 * (16 x tiles x C, column-major: M^T = U^T V^T), so both read and write the same memory.
 *
 *   bench_libxsmm [TILES] [REPEATS]
 *
 * For each (C, K) of the default VGG's and ResNet-18's layers it checks that both results agree within the float
 * bound of a C-term sum (exit 1 when not, or on NaN), then prints the CPU time per block product of each (best of 5
 * trials, thread CPU time, so other load on the machine matters less) and libxsmm's speed relative to scan's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxsmm.h>

#include "gemm_panel.h"

enum { POINTS = 36, PANEL = GEMM_PANEL_WIDTH, HALF = 8 };

static double thread_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void fill(float *x, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    x[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
}

/* scan's way: every point, every panel, 6 rows at a time (conv_winograd.c's run_convolution). */
static void own_products(int tiles, int c, int k, const float *v, const float *u, float *m) {
  for (int point = 0; point < POINTS; point++) {
    const float *vp = v + (size_t)point * tiles * c;
    float *mp = m + (size_t)point * tiles * k;
    for (int p = 0; p < k / PANEL; p++) {
      const float *panel = u + ((size_t)point * (k / PANEL) + p) * c * PANEL;
      for (int r = 0; r < tiles; r += GEMM_PANEL_ROWS)
        gemm_panel_rows(tiles - r < GEMM_PANEL_ROWS ? tiles - r : GEMM_PANEL_ROWS, vp + (size_t)r * c, c, panel, PANEL, c,
                        mp + (size_t)r * k + p * PANEL, k, HALF);
    }
  }
}

/* libxsmm's way: one generated kernel per panel, all tiles at once. */
static void xsmm_products(libxsmm_smmfunction kernel, int tiles, int c, int k, const float *v, const float *u, float *m) {
  for (int point = 0; point < POINTS; point++) {
    const float *vp = v + (size_t)point * tiles * c;
    float *mp = m + (size_t)point * tiles * k;
    for (int p = 0; p < k / PANEL; p++) kernel(u + ((size_t)point * (k / PANEL) + p) * c * PANEL, vp, mp + p * PANEL);
  }
}

/* |own - xsmm| <= 2 * C * eps * sum |v||u| for every output (two sums of C products, each off by at most C eps of
 * that sum); NaN fails. */
static int agree(int tiles, int c, int k, const float *v, const float *u, const float *a, const float *b) {
  for (int point = 0; point < POINTS; point++)
    for (int t = 0; t < tiles; t++)
      for (int j = 0; j < k; j++) {
        double magnitude = 0;
        for (int i = 0; i < c; i++)
          magnitude += fabs((double)v[((size_t)point * tiles + t) * c + i] *
                            (double)u[(((size_t)point * (k / PANEL) + j / PANEL) * c + i) * PANEL + j % PANEL]);
        const size_t at = ((size_t)point * tiles + t) * k + j;
        const double bound = 2.0 * c * 1.1920929e-7 * magnitude;
        if (!(fabs((double)a[at] - (double)b[at]) <= bound)) {
          fprintf(stderr, "bench_libxsmm: C=%d K=%d point %d tile %d col %d: scan %.9g, libxsmm %.9g (bound %.3g)\n", c, k,
                  point, t, j, a[at], b[at], bound);
          return 0;
        }
      }
  return 1;
}

int main(int argc, char **argv) {
  const int tiles = argc > 1 ? atoi(argv[1]) : 24; /* winograd_block_tiles: 24 tiles per block below 16 MB of weights */
  const int repeats = argc > 2 ? atoi(argv[2]) : 200;
  if (tiles < 1 || repeats < 1) {
    fprintf(stderr, "usage: bench_libxsmm [TILES >= 1] [REPEATS >= 1]\n");
    return 2;
  }
  libxsmm_init();
  printf("libxsmm %s, target %s; %d tiles per block, %d points\n", LIBXSMM_VERSION, libxsmm_get_target_arch(), tiles, POINTS);
  printf("%5s %5s %12s %12s %8s\n", "C", "K", "scan us", "libxsmm us", "speedup");
  static const int shapes[][2] = {{16, 16}, {16, 32}, {32, 32}, {32, 64}, {64, 64}, {64, 128}, {128, 128}, {256, 256}, {512, 512}};
  int failed = 0;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    const int c = shapes[s][0], k = shapes[s][1];
    const size_t v_n = (size_t)POINTS * tiles * c, u_n = (size_t)POINTS * c * k, m_n = (size_t)POINTS * tiles * k;
    float *v = malloc(v_n * sizeof *v), *u = malloc(u_n * sizeof *u), *m_own = malloc(m_n * sizeof *m_own),
          *m_xsmm = malloc(m_n * sizeof *m_xsmm);
    if (!v || !u || !m_own || !m_xsmm) {
      fprintf(stderr, "bench_libxsmm: out of memory\n");
      return 1;
    }
    fill(v, v_n, 1u + (unsigned)s);
    fill(u, u_n, 7u + (unsigned)s);
    const libxsmm_blasint lda = PANEL, ldb = c, ldc = k;
    const float alpha = 1.0f, beta = 0.0f;
    const libxsmm_smmfunction kernel = libxsmm_smmdispatch(PANEL, tiles, c, &lda, &ldb, &ldc, &alpha, &beta, NULL, NULL);
    if (!kernel) {
      fprintf(stderr, "bench_libxsmm: libxsmm has no kernel for 16 x %d x %d\n", tiles, c);
      return 1;
    }
    own_products(tiles, c, k, v, u, m_own);
    xsmm_products(kernel, tiles, c, k, v, u, m_xsmm);
    if (!agree(tiles, c, k, v, u, m_own, m_xsmm)) failed = 1;
    double best_own = 1e30, best_xsmm = 1e30;
    for (int trial = 0; trial < 5; trial++) {
      double t0 = thread_seconds();
      for (int r = 0; r < repeats; r++) own_products(tiles, c, k, v, u, m_own);
      double t1 = thread_seconds();
      for (int r = 0; r < repeats; r++) xsmm_products(kernel, tiles, c, k, v, u, m_xsmm);
      double t2 = thread_seconds();
      if (t1 - t0 < best_own) best_own = t1 - t0;
      if (t2 - t1 < best_xsmm) best_xsmm = t2 - t1;
    }
    printf("%5d %5d %12.2f %12.2f %7.2fx\n", c, k, 1e6 * best_own / repeats, 1e6 * best_xsmm / repeats, best_own / best_xsmm);
    free(v);
    free(u);
    free(m_own);
    free(m_xsmm);
  }
  libxsmm_finalize();
  return failed;
}
