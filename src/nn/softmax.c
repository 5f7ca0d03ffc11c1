/* Row-wise softmax and log-softmax (max-shifted for stability) with their backward passes. */
#include <math.h>

#include "scan/nn_layers.h"

void scan_softmax_forward(int n, int d, const float *x, float *y) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++) {
    const float *xr = x + (int64_t)i * d;
    float *yr = y + (int64_t)i * d;
    float mx = xr[0];
    for (int j = 1; j < d; j++) mx = xr[j] > mx ? xr[j] : mx;
    double sum = 0;
    for (int j = 0; j < d; j++) sum += exp((double)xr[j] - mx);
    for (int j = 0; j < d; j++) yr[j] = (float)(exp((double)xr[j] - mx) / sum);
  }
}

/* dx = y * (dy - sum_j y_j dy_j) */
void scan_softmax_backward(int n, int d, const float *y, const float *dy, float *dx) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++) {
    const float *yr = y + (int64_t)i * d, *gr = dy + (int64_t)i * d;
    float *dr = dx + (int64_t)i * d;
    double dot = 0;
    for (int j = 0; j < d; j++) dot += (double)yr[j] * gr[j];
    for (int j = 0; j < d; j++) dr[j] = (float)(yr[j] * (gr[j] - dot));
  }
}

void scan_log_softmax_forward(int n, int d, const float *x, float *y) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++) {
    const float *xr = x + (int64_t)i * d;
    float *yr = y + (int64_t)i * d;
    float mx = xr[0];
    for (int j = 1; j < d; j++) mx = xr[j] > mx ? xr[j] : mx;
    double sum = 0;
    for (int j = 0; j < d; j++) sum += exp((double)xr[j] - mx);
    double log_sum = mx + log(sum);
    for (int j = 0; j < d; j++) yr[j] = (float)(xr[j] - log_sum);
  }
}

/* dx = dy - softmax * sum_j dy_j, softmax = exp(y) */
void scan_log_softmax_backward(int n, int d, const float *y, const float *dy, float *dx) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++) {
    const float *yr = y + (int64_t)i * d, *gr = dy + (int64_t)i * d;
    float *dr = dx + (int64_t)i * d;
    double sum = 0;
    for (int j = 0; j < d; j++) sum += gr[j];
    for (int j = 0; j < d; j++) dr[j] = (float)(gr[j] - exp((double)yr[j]) * sum);
  }
}
