/* SCAN clustering loss (spec §7.3) and its validation form for head selection (spec §7.4). */
#include <math.h>
#include <stdlib.h>

#include "scan/error.h"
#include "scan/losses.h"

/* PyTorch's entropy helper clamps probabilities at this value before the log. */
#define SCAN_PROB_EPS 1e-8

/* -log(s) as PyTorch's binary_cross_entropy computes it against target 1: the log is clamped at -100. */
static double bce_against_one(double s) {
  double log_s = s > 0.0 ? log(s) : -100.0;
  return -(log_s < -100.0 ? -100.0 : log_s);
}

/* d bce / d s, PyTorch's formula for target 1: (s - 1) / max(s (1 - s), 1e-12). */
static double bce_against_one_grad(double s) {
  double denominator = s * (1.0 - s);
  return (s - 1.0) / (denominator > 1e-12 ? denominator : 1e-12);
}

/* Entropy of a distribution whose entries are clamped to >= 1e-8 first (the reference's `entropy`). */
static double clamped_entropy(const double *p, int c) {
  double h = 0.0;
  for (int k = 0; k < c; k++) {
    double v = p[k] > SCAN_PROB_EPS ? p[k] : SCAN_PROB_EPS;
    h -= v * log(v);
  }
  return h;
}

static void softmax_row(const float *logits, int c, double *out) {
  double max = logits[0];
  for (int k = 1; k < c; k++)
    if (logits[k] > max) max = logits[k];
  double sum = 0.0;
  for (int k = 0; k < c; k++) sum += out[k] = exp(logits[k] - max);
  for (int k = 0; k < c; k++) out[k] /= sum;
}

/* Softmax backward for one row: d logits = p * (g - <p, g>). */
static void softmax_row_backward(const double *p, const double *grad_p, int c, float *d_logits) {
  double dot = 0.0;
  for (int k = 0; k < c; k++) dot += p[k] * grad_p[k];
  for (int k = 0; k < c; k++) d_logits[k] = (float)(p[k] * (grad_p[k] - dot));
}

/* One process is the one-shard case: the batch's own probability sums, b samples, gradient scale 1 (the same
   operations, in the same order, as the shard form, so the bits are those of the single-process loss). */
scan_scan_loss scan_loss_scan(const float *anchor_logits, const float *neighbor_logits, int b, int c,
                              double entropy_weight, float *d_anchor, float *d_neighbor) {
  if (b <= 0 || c <= 0) return (scan_scan_loss){0, 0, 0};
  double *sums = scan_malloc((size_t)c * sizeof(double));
  if (!sums) return (scan_scan_loss){NAN, NAN, NAN}; /* out of memory: NaN stops the caller */
  scan_scan_prob_sums(anchor_logits, b, c, sums);
  scan_scan_loss result =
      scan_loss_scan_shard(anchor_logits, neighbor_logits, b, c, entropy_weight, sums, b, 1.0, d_anchor, d_neighbor);
  free(sums);
  result.total = result.consistency - entropy_weight * result.entropy;
  return result;
}

void scan_scan_prob_sums(const float *anchor_logits, int b, int c, double *sums) {
  double p[c > 0 ? c : 1];
  for (int k = 0; k < c; k++) sums[k] = 0.0;
  for (int i = 0; i < b; i++) { /* in row order, like scan_loss_scan's mean */
    softmax_row(anchor_logits + (size_t)i * c, c, p);
    for (int k = 0; k < c; k++) sums[k] += p[k];
  }
}

scan_scan_loss scan_loss_scan_shard(const float *anchor_logits, const float *neighbor_logits, int b, int c,
                                    double entropy_weight, const double *global_sums, long global_b, double grad_scale,
                                    float *d_anchor, float *d_neighbor) {
  scan_scan_loss result = {NAN, NAN, NAN};
  if (c <= 0 || global_b <= 0) return (scan_scan_loss){0, 0, 0};
  const size_t count = (size_t)(b > 0 ? b : 1) * c;
  double *p = scan_malloc(count * sizeof(double)), *q = scan_malloc(count * sizeof(double));
  double *similarity = scan_malloc((size_t)(b > 0 ? b : 1) * sizeof(double));
  double *mean_p = scan_malloc((size_t)c * sizeof(double));
  if (!p || !q || !similarity || !mean_p) goto done; /* out of memory: NaN stops the caller */
#pragma omp parallel for schedule(static)
  for (int i = 0; i < b; i++) {
    softmax_row(anchor_logits + (size_t)i * c, c, p + (size_t)i * c);
    softmax_row(neighbor_logits + (size_t)i * c, c, q + (size_t)i * c);
    double s = 0.0;
    for (int k = 0; k < c; k++) s += p[(size_t)i * c + k] * q[(size_t)i * c + k];
    similarity[i] = s;
  }
  double consistency = 0.0;
  for (int i = 0; i < b; i++) consistency += bce_against_one(similarity[i]);
  consistency /= (double)global_b;
  for (int k = 0; k < c; k++) mean_p[k] = global_sums[k] / (double)global_b;
  const double entropy = clamped_entropy(mean_p, c);
  result = (scan_scan_loss){NAN, consistency, entropy};
  if (d_anchor || d_neighbor) {
    /* As scan_loss_scan with b = global_b: each anchor is 1/global_b of the mean and of the consistency. */
    for (int k = 0; k < c; k++)
      mean_p[k] = mean_p[k] >= SCAN_PROB_EPS ? grad_scale * entropy_weight * (log(mean_p[k]) + 1.0) / (double)global_b
                                             : 0.0;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < b; i++) {
      double grad_p[c > 0 ? c : 1], grad_q[c > 0 ? c : 1];
      const double *pi = p + (size_t)i * c, *qi = q + (size_t)i * c;
      const double g = grad_scale * bce_against_one_grad(similarity[i]) / (double)global_b;
      for (int k = 0; k < c; k++) {
        grad_p[k] = g * qi[k] + mean_p[k];
        grad_q[k] = g * pi[k];
      }
      if (d_anchor) softmax_row_backward(pi, grad_p, c, d_anchor + (size_t)i * c);
      if (d_neighbor) softmax_row_backward(qi, grad_q, c, d_neighbor + (size_t)i * c);
    }
  }
done:
  free(p);
  free(q);
  free(similarity);
  free(mean_p);
  return result;
}

void scan_scan_eval_loss(const float *probs, int n, int c, const int64_t *neighbors, int cols, double entropy_weight,
                         double *total, double *consistency, double *entropy) {
  /* Per-row sums in parallel, added in row order so the result is the same for any thread count. */
  double *row_sum = scan_malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
  int *row_pairs = scan_malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
  double *mean_p = scan_calloc((size_t)(c > 0 ? c : 1), sizeof(double));
  if (!row_sum || !row_pairs || !mean_p) {
    free(row_sum);
    free(row_pairs);
    free(mean_p);
    if (total) *total = NAN;
    if (consistency) *consistency = NAN;
    if (entropy) *entropy = NAN;
    return;
  }
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++) {
    const float *pi = probs + (size_t)i * c;
    row_sum[i] = 0.0;
    row_pairs[i] = 0;
    for (int col = 0; col < cols; col++) {
      int64_t j = neighbors[(size_t)i * cols + col];
      if (j < 0 || j >= n) continue;
      const float *pj = probs + (size_t)j * c;
      double s = 0.0;
      for (int k = 0; k < c; k++) s += (double)pi[k] * pj[k];
      row_sum[i] += bce_against_one(s);
      row_pairs[i]++;
    }
  }
  double consistency_sum = 0.0;
  long pairs = 0;
  for (int i = 0; i < n; i++) {
    consistency_sum += row_sum[i];
    pairs += row_pairs[i];
  }
  for (int i = 0; i < n; i++)
    for (int k = 0; k < c; k++) mean_p[k] += probs[(size_t)i * c + k];
  for (int k = 0; k < c; k++) mean_p[k] = n > 0 ? mean_p[k] / n : 0.0;
  const double h = clamped_entropy(mean_p, c);
  free(row_sum);
  free(row_pairs);
  free(mean_p);
  double cons = pairs > 0 ? consistency_sum / pairs : 0.0;
  if (consistency) *consistency = cons;
  if (entropy) *entropy = h;
  if (total) *total = cons - entropy_weight * h;
}
