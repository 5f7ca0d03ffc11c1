/* k-means recovers well-separated blobs, and is the same for 1 and 2 threads. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "scan/metrics.h"
#include "scan/rng.h"
#include "testlib.h"

int main(void) {
  enum { K = 4, D = 5 };
  int per = test_light() ? 60 : 600, n = K * per;
  float *x = malloc(sizeof(float) * n * D), centers[K * D], found[K * D];
  int32_t *truth = malloc(sizeof(int32_t) * n), *assign = malloc(sizeof(int32_t) * n),
          *assign1 = malloc(sizeof(int32_t) * n);
  scan_rng r = scan_rng_make(9, 0, 0);
  for (int c = 0; c < K; c++)
    for (int j = 0; j < D; j++) centers[c * D + j] = (float)(20 * ((c >> (j % 2)) & 1) + 7 * (j == c));
  for (int i = 0; i < n; i++) {
    truth[i] = i % K;
    for (int j = 0; j < D; j++) x[i * D + j] = centers[truth[i] * D + j] + (float)scan_rng_normal(&r);
  }
  scan_kmeans_options opt;
  scan_kmeans_default_options(&opt, K, 42);
  double inertia = 0, inertia1 = 0;
  CHECK(scan_kmeans(x, n, D, &opt, found, assign, &inertia) == SCAN_OK);
  scan_metrics m;
  CHECK(scan_cluster_metrics(assign, truth, n, K, K, NULL, &m) == SCAN_OK);
  CHECK_NEAR(m.acc, 1.0, 1e-12, 0);
  /* each found centroid is near its blob's true centre: the mean of `per` unit
     normal points is off by about sqrt(D / per); allow 3 times that */
  double worst = 0, naive_inertia = 0;
  for (int c = 0; c < K; c++) {
    int y = m.match[c];
    double dist = 0;
    for (int j = 0; j < D; j++) dist += pow(found[c * D + j] - centers[y * D + j], 2);
    worst = test_worse(worst, sqrt(dist));
  }
  CHECK_MSG(worst < 3 * sqrt((double)D / per), "centroid off by %g", worst);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < D; j++) naive_inertia += pow(x[i * D + j] - found[assign[i] * D + j], 2);
  CHECK_NEAR(inertia, naive_inertia, 1e-3, 1e-4);
  scan_metrics_free(&m);

  omp_set_num_threads(1);
  CHECK(scan_kmeans(x, n, D, &opt, centers, assign1, &inertia1) == SCAN_OK);
  omp_set_num_threads(2);
  CHECK(memcmp(assign, assign1, sizeof(int32_t) * n) == 0);
  CHECK(memcmp(found, centers, sizeof found) == 0 && inertia == inertia1);

  opt.k = n + 1;
  CHECK(scan_kmeans(x, n, D, &opt, found, assign, NULL) == SCAN_ERR_INPUT);
  free(x);
  free(truth);
  free(assign);
  free(assign1);
  return test_main_end();
}
