/* k-means (Lloyd) with greedy k-means++ seeding and restarts, the scikit-learn
 * recipe. Squared distances |x|^2 - 2 x.c + |c|^2 come from single-threaded GEMM
 * tiles of fixed size inside an OpenMP loop, and every sum runs in a fixed order,
 * so the result is the same for any thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "scan/knn.h"
#include "scan/metrics.h"
#include "scan/rng.h"

enum { POINT_BLOCK = 1024 };

void scan_kmeans_default_options(scan_kmeans_options *opt, int k, uint64_t seed) {
  opt->k = k;
  opt->n_init = 10;
  opt->max_iter = 300;
  opt->tol = 1e-4;
  opt->seed = seed;
}

typedef struct {
  const float *x;
  int64_t n;
  int d, k;
  float *x_sq;        /* [n] */
  float *scratch;     /* [n] candidate distances while seeding */
  double *block_cost; /* [blocks] */
  double *sums;       /* [k * d] */
  int64_t *counts;    /* [k] */
  float *min_dist;    /* [n] squared distance to the assigned centre */
} kmeans_work;

/* Assigns every point to its nearest centre (smaller id on a tie); returns the
 * inertia and how many assignments changed, or -1 when GEMM failed. */
static double assign_points(kmeans_work *w, const float *centers, int32_t *assign, int64_t *changed) {
  int k = w->k, d = w->d;
  float *c_sq = scan_malloc(sizeof(float) * k);
  if (!c_sq) return -1;
  for (int c = 0; c < k; c++) {
    double s = 0;
    for (int j = 0; j < d; j++) s += (double)centers[(long)c * d + j] * centers[(long)c * d + j];
    c_sq[c] = (float)s;
  }
  int64_t blocks = (w->n + POINT_BLOCK - 1) / POINT_BLOCK, moved = 0;
  int failed = 0;
#pragma omp parallel reduction(+ : moved)
  {
    float *tile = scan_malloc(sizeof(float) * POINT_BLOCK * k);
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < blocks; b++) {
      int64_t i0 = b * POINT_BLOCK, rows = w->n - i0 < POINT_BLOCK ? w->n - i0 : POINT_BLOCK;
      if (!tile ||
          dnnl_sgemm('N', 'T', rows, k, d, 1.0f, w->x + i0 * d, d, centers, d, 0.0f, tile, k) != dnnl_success) {
#pragma omp atomic write
        failed = 1;
        continue;
      }
      double cost = 0;
      for (int64_t r = 0; r < rows; r++) {
        int best = 0;
        float best_d = INFINITY;
        for (int c = 0; c < k; c++) {
          float dist = w->x_sq[i0 + r] - 2 * tile[r * k + c] + c_sq[c];
          if (dist < best_d) {
            best_d = dist;
            best = c;
          }
        }
        best_d = best_d > 0 ? best_d : 0;
        moved += assign[i0 + r] != best;
        assign[i0 + r] = best;
        w->min_dist[i0 + r] = best_d;
        cost += best_d;
      }
      w->block_cost[b] = cost;
    }
    free(tile);
  }
  free(c_sq);
  if (failed) return -1;
  double inertia = 0;
  for (int64_t b = 0; b < blocks; b++) inertia += w->block_cost[b];
  *changed = moved;
  return inertia;
}

/* New centres = member means; an empty cluster takes the point farthest from its
 * centre (as scikit-learn relocates empty clusters). Returns the total squared shift. */
static double update_centers(kmeans_work *w, const int32_t *assign, float *centers) {
  int k = w->k, d = w->d;
  memset(w->sums, 0, sizeof(double) * k * d);
  memset(w->counts, 0, sizeof(int64_t) * k);
  for (int64_t i = 0; i < w->n; i++) w->counts[assign[i]]++;
  /* Parallel over feature columns: each column is summed over points in order. */
#pragma omp parallel for schedule(static)
  for (int j = 0; j < d; j++)
    for (int64_t i = 0; i < w->n; i++) w->sums[(long)assign[i] * d + j] += w->x[i * d + j];
  double shift = 0;
  for (int c = 0; c < k; c++) {
    float *center = centers + (long)c * d;
    if (w->counts[c] == 0) {
      int64_t far = 0;
      for (int64_t i = 1; i < w->n; i++)
        if (w->min_dist[i] > w->min_dist[far]) far = i;
      w->min_dist[far] = -1; /* not chosen again for another empty cluster */
      shift += scan_squared_distance(center, w->x + far * d, d);
      memcpy(center, w->x + far * d, sizeof(float) * d);
      continue;
    }
    for (int j = 0; j < d; j++) {
      float v = (float)(w->sums[(long)c * d + j] / (double)w->counts[c]);
      shift += ((double)v - center[j]) * ((double)v - center[j]);
      center[j] = v;
    }
  }
  return shift;
}

/* Greedy k-means++: each new centre is the best (lowest potential) of 2 + ln k
 * candidates drawn with probability proportional to D(x)^2. */
static void seed_centers(kmeans_work *w, scan_rng *rng, float *centers) {
  int k = w->k, d = w->d, trials = 2 + (int)log(k);
  int64_t n = w->n;
  float *closest = w->min_dist;
  float *candidate_dist = w->scratch;
  int64_t first = (int64_t)(scan_rng_uniform(rng) * n);
  memcpy(centers, w->x + first * d, sizeof(float) * d);
  double potential = 0;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) closest[i] = (float)scan_squared_distance(w->x + i * d, centers, d);
  for (int64_t i = 0; i < n; i++) potential += closest[i];
  for (int c = 1; c < k; c++) {
    int64_t best_candidate = -1;
    double best_potential = INFINITY;
    for (int t = 0; t < trials; t++) {
      double target = scan_rng_uniform(rng) * potential, running = 0;
      int64_t candidate = n - 1;
      for (int64_t i = 0; i < n; i++) {
        running += closest[i];
        if (running > target) {
          candidate = i;
          break;
        }
      }
      const float *cx = w->x + candidate * d;
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; i++) candidate_dist[i] = fminf(closest[i], (float)scan_squared_distance(w->x + i * d, cx, d));
      double pot = 0;
      for (int64_t i = 0; i < n; i++) pot += candidate_dist[i];
      if (pot < best_potential) {
        best_potential = pot;
        best_candidate = candidate;
      }
    }
    const float *bx = w->x + best_candidate * d;
    memcpy(centers + (long)c * d, bx, sizeof(float) * d);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) closest[i] = fminf(closest[i], (float)scan_squared_distance(w->x + i * d, bx, d));
    potential = best_potential;
  }
}

scan_status scan_kmeans(const float *x, int64_t n, int d, const scan_kmeans_options *opt, float *centroids,
                        int32_t *assign, double *inertia) {
  int k = opt->k;
  if (k < 1 || k > n || d < 1 || opt->n_init < 1 || opt->max_iter < 1)
    return scan_fail(SCAN_ERR_INPUT, "kmeans: need 1 <= k <= n, d >= 1, n_init >= 1, max_iter >= 1 (k=%d n=%lld)",
                     k, (long long)n);
  for (int64_t t = 0; t < n * d; t++)
    if (!isfinite(x[t])) return scan_fail(SCAN_ERR_INPUT, "kmeans: row %lld has a non-finite value", (long long)(t / d));
  int64_t blocks = (n + POINT_BLOCK - 1) / POINT_BLOCK;
  kmeans_work w = {.x = x, .n = n, .d = d, .k = k};
  w.x_sq = scan_malloc(sizeof(float) * n);
  w.scratch = scan_malloc(sizeof(float) * n);
  w.block_cost = scan_malloc(sizeof(double) * blocks);
  w.sums = scan_malloc(sizeof(double) * (size_t)k * d);
  w.counts = scan_malloc(sizeof(int64_t) * k);
  w.min_dist = scan_malloc(sizeof(float) * n);
  float *centers = scan_malloc(sizeof(float) * (size_t)k * d);
  int32_t *labels = scan_malloc(sizeof(int32_t) * n);
  scan_status st = SCAN_OK;
  if (!w.x_sq || !w.scratch || !w.block_cost || !w.sums || !w.counts || !w.min_dist || !centers || !labels) {
    st = scan_fail(SCAN_ERR_INTERNAL, "kmeans: out of memory (n=%lld, k=%d)", (long long)n, k);
    goto done;
  }
  /* Tolerance relative to the data's spread, as scikit-learn: tol * mean per-feature variance. */
  double mean_var = 0;
  for (int j = 0; j < d; j++) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) {
      s += x[i * d + j];
      s2 += (double)x[i * d + j] * x[i * d + j];
    }
    mean_var += s2 / n - (s / n) * (s / n);
  }
  double tol = opt->tol * mean_var / d;
  for (int64_t i = 0; i < n; i++) {
    double s = 0;
    for (int j = 0; j < d; j++) s += (double)x[i * d + j] * x[i * d + j];
    w.x_sq[i] = (float)s;
  }
  double best_inertia = INFINITY;
  for (int run = 0; run < opt->n_init; run++) {
    scan_rng rng = scan_rng_make(opt->seed, (uint64_t)run, 0x6b6d65616e73ull);
    seed_centers(&w, &rng, centers);
    for (int64_t i = 0; i < n; i++) labels[i] = -1;
    double cost = 0;
    int64_t changed = 0;
    for (int iter = 0; iter < opt->max_iter; iter++) {
      cost = assign_points(&w, centers, labels, &changed);
      if (cost < 0 || changed == 0) break;
      if (update_centers(&w, labels, centers) <= tol) break;
    }
    /* Final assignment so labels and inertia belong to the final centres. */
    if (cost >= 0) cost = assign_points(&w, centers, labels, &changed);
    if (cost < 0) {
      st = scan_fail(SCAN_ERR_INTERNAL, "kmeans: assigning points failed (out of memory, or dnnl_sgemm failed)");
      goto done;
    }
    if (cost < best_inertia) {
      best_inertia = cost;
      memcpy(centroids, centers, sizeof(float) * (size_t)k * d);
      memcpy(assign, labels, sizeof(int32_t) * n);
    }
  }
  if (inertia) *inertia = best_inertia;
done:
  free(w.x_sq);
  free(w.scratch);
  free(w.block_cost);
  free(w.sums);
  free(w.counts);
  free(w.min_dist);
  free(centers);
  free(labels);
  return st;
}
