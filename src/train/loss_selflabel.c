/* Self-labelling loss: confidence-based, class-balanced cross-entropy (spec §8.2),
 * and the per-class thresholds of the adaptive mode. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scan/error.h"
#include "scan/losses.h"

/* Max softmax probability of a logit row and its argmax (first maximum, like torch.max). */
static double max_probability(const float *logits, int c, int *argmax) {
  int best = 0;
  for (int k = 1; k < c; k++)
    if (logits[k] > logits[best]) best = k;
  double sum = 0.0;
  for (int k = 0; k < c; k++) sum += exp((double)logits[k] - logits[best]);
  *argmax = best;
  return 1.0 / sum;
}

int scan_selflabel_targets(const float *weak_logits, int b, int c, double threshold, const float *class_thresholds,
                           int32_t *targets, double *top_probability) {
  int n_confident = 0;
  double top = 0.0;
  for (int i = 0; i < b; i++) {
    int target;
    double max_p = max_probability(weak_logits + (size_t)i * c, c, &target);
    double limit = class_thresholds ? class_thresholds[target] : threshold;
    targets[i] = max_p > limit ? target : -1;
    n_confident += targets[i] >= 0;
    if (max_p > top) top = max_p;
  }
  if (top_probability) *top_probability = top;
  return n_confident;
}

double scan_loss_selflabel_shard(const float *strong_logits, const int32_t *targets, int b, int c,
                                 const double *global_counts, int balance, double grad_scale, float *d_strong) {
  if (d_strong) memset(d_strong, 0, (size_t)(b > 0 ? b : 0) * (size_t)(c > 0 ? c : 0) * sizeof(float));
  double n = 0.0;
  int present = 0;
  for (int k = 0; k < c; k++) {
    n += global_counts[k];
    present += global_counts[k] > 0;
  }
  if (n <= 0.0) return 0.0;
  /* The sum of the weights over the global batch: count_k samples of weight n / count_k for each class present. */
  const double weight_sum = balance ? n * present : n;
  double loss = 0.0;
  for (int i = 0; i < b; i++) {
    if (targets[i] < 0) continue;
    const float *row = strong_logits + (size_t)i * c;
    double max = row[0];
    for (int k = 1; k < c; k++)
      if (row[k] > max) max = row[k];
    double sum = 0.0;
    for (int k = 0; k < c; k++) sum += exp(row[k] - max);
    const double log_sum = log(sum) + max;
    const double weight = (balance ? n / global_counts[targets[i]] : 1.0) / weight_sum;
    loss += weight * (log_sum - row[targets[i]]);
    if (d_strong) {
      float *grad = d_strong + (size_t)i * c;
      for (int k = 0; k < c; k++) grad[k] = (float)(grad_scale * weight * exp(row[k] - log_sum));
      grad[targets[i]] -= (float)(grad_scale * weight);
    }
  }
  return loss;
}

double scan_loss_selflabel(const float *weak_logits, const float *strong_logits, int b, int c, double threshold,
                           const float *class_thresholds, int balance, float *d_strong, int *confident,
                           int32_t *targets_out) {
  if (d_strong) memset(d_strong, 0, (size_t)b * c * sizeof(float));
  if (confident) *confident = 0;
  if (b <= 0 || c <= 0) return 0.0;
  int32_t *targets = targets_out ? targets_out : scan_malloc((size_t)b * sizeof(int32_t));
  int *counts = scan_calloc((size_t)c, sizeof(int));
  if (!targets || !counts) {
    if (targets != targets_out) free(targets);
    free(counts);
    return NAN; /* out of memory: NaN stops the caller */
  }

  int n_confident = scan_selflabel_targets(weak_logits, b, c, threshold, class_thresholds, targets, NULL);
  for (int i = 0; i < b; i++)
    if (targets[i] >= 0) counts[targets[i]]++;

  double loss = 0.0;
  if (n_confident > 0) {
    /* Class weight n / count_c for the classes present (absent classes never enter the sum). */
    double weight_sum = 0.0;
    for (int i = 0; i < b; i++)
      if (targets[i] >= 0) weight_sum += balance ? (double)n_confident / counts[targets[i]] : 1.0;
    for (int i = 0; i < b; i++) {
      if (targets[i] < 0) continue;
      const float *row = strong_logits + (size_t)i * c;
      double max = row[0];
      for (int k = 1; k < c; k++)
        if (row[k] > max) max = row[k];
      double sum = 0.0;
      for (int k = 0; k < c; k++) sum += exp(row[k] - max);
      const double log_sum = log(sum) + max;
      const double weight = (balance ? (double)n_confident / counts[targets[i]] : 1.0) / weight_sum;
      loss += weight * (log_sum - row[targets[i]]);
      if (d_strong) {
        float *grad = d_strong + (size_t)i * c;
        for (int k = 0; k < c; k++) grad[k] = (float)(weight * exp(row[k] - log_sum));
        grad[targets[i]] -= (float)weight;
      }
    }
  }
  if (confident) *confident = n_confident;
  if (targets != targets_out) free(targets);
  free(counts);
  return loss;
}

static int compare_floats(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

void scan_adaptive_thresholds(const float *probs, int n, int c, double quantile, double floor_threshold,
                              float *thresholds) {
  for (int k = 0; k < c; k++) thresholds[k] = (float)floor_threshold;
  if (n <= 0 || c <= 0) return;
  /* Max probabilities grouped by predicted class: counting sort into one buffer. */
  int *predicted = scan_malloc((size_t)n * sizeof(int));
  float *max_p = scan_malloc((size_t)n * sizeof(float));
  float *grouped = scan_malloc((size_t)n * sizeof(float));
  int *start = scan_calloc((size_t)c + 1, sizeof(int));
  if (!predicted || !max_p || !grouped || !start) goto done; /* out of memory: floor everywhere */
  for (int i = 0; i < n; i++) {
    const float *row = probs + (size_t)i * c;
    int best = 0;
    for (int k = 1; k < c; k++)
      if (row[k] > row[best]) best = k;
    predicted[i] = best;
    max_p[i] = row[best];
    start[best + 1]++;
  }
  for (int k = 0; k < c; k++) start[k + 1] += start[k];
  {
    int *fill = scan_calloc((size_t)c, sizeof(int));
    if (!fill) goto done;
    for (int i = 0; i < n; i++) grouped[start[predicted[i]] + fill[predicted[i]]++] = max_p[i];
    free(fill);
  }
  for (int k = 0; k < c; k++) {
    const int m = start[k + 1] - start[k];
    if (m == 0) continue;
    float *values = grouped + start[k];
    qsort(values, (size_t)m, sizeof(float), compare_floats);
    /* numpy's default 'linear' quantile: position q (m - 1) between the sorted values. */
    double position = quantile * (m - 1);
    int below = (int)floor(position);
    if (below < 0) below = 0;
    if (below > m - 1) below = m - 1;
    int above = below + 1 < m ? below + 1 : below;
    double value = values[below] + (position - below) * ((double)values[above] - values[below]);
    thresholds[k] = (float)(value > floor_threshold ? value : floor_threshold);
  }
done:
  free(predicted);
  free(max_p);
  free(grouped);
  free(start);
}
