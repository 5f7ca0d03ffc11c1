/* SimCLR / NT-Xent loss in the reference's SupCon-style form (spec §6.2). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scan/error.h"
#include "scan/losses.h"

/* One direction of the loss: anchors are the rows of `anchors` [b, d], the contrast set is
 * contrast [2b, d] = [view 1; view 2]. Anchor i is row `self_offset + i` of the contrast set
 * (excluded from the denominator) and its positive is row `positive_offset + i`.
 * Returns the summed (not averaged) loss and adds `scale` * d loss_sum / d contrast into
 * d_contrast [2b, d] (the anchors are contrast rows, so their gradient lands there too).
 * `similarity` (b x 2b) and `row_loss` (b) are caller-owned scratch. */
static double nt_xent_direction(const float *contrast, int b, int d, double inv_temperature, int self_offset,
                                int positive_offset, double scale, double *d_contrast, double *similarity,
                                double *row_loss) {
  const int m = 2 * b;
  /* similarity [b, 2b]: row i = anchor i against every contrast vector; then turned in place into
   * d loss_i / d s(i, .) = softmax over j != i minus the positive's indicator. */
#pragma omp parallel for schedule(static)
  for (int i = 0; i < b; i++) {
    const float *anchor = contrast + (size_t)(self_offset + i) * d;
    double *row = similarity + (size_t)i * m;
    double row_max = -INFINITY;
    for (int j = 0; j < m; j++) {
      const float *other = contrast + (size_t)j * d;
      double dot = 0.0;
      for (int k = 0; k < d; k++) dot += (double)anchor[k] * other[k];
      row[j] = dot * inv_temperature;
      /* The reference takes the max over the whole row (self included); it cancels exactly. */
      if (row[j] > row_max) row_max = row[j];
    }
    const int self = self_offset + i, positive = positive_offset + i;
    double denominator = 0.0;
    for (int j = 0; j < m; j++)
      if (j != self) denominator += exp(row[j] - row_max);
    row_loss[i] = -(row[positive] - row_max) + log(denominator);
    if (d_contrast) {
      for (int j = 0; j < m; j++) {
        double grad = j == self ? 0.0 : exp(row[j] - row_max) / denominator;
        if (j == positive) grad -= 1.0;
        row[j] = grad * scale * inv_temperature; /* d loss / d (anchor . contrast_j) */
      }
    }
  }
  /* Summed in a fixed order: the same bits whatever the thread count or timing. */
  double loss_sum = 0.0;
  for (int i = 0; i < b; i++) loss_sum += row_loss[i];
  if (!d_contrast) return loss_sum;
  /* d/d anchor_i = sum_j g(i,j) c_j and d/d c_j = sum_i g(i,j) anchor_i; rows are split between
   * threads by the destination vector so no two threads write the same row. */
#pragma omp parallel for schedule(static)
  for (int r = 0; r < m; r++) {
    double *out = d_contrast + (size_t)r * d;
    for (int i = 0; i < b; i++) {
      /* r as contrast vector j = r, with anchor i */
      double g = similarity[(size_t)i * m + r];
      if (g != 0.0) {
        const float *anchor = contrast + (size_t)(self_offset + i) * d;
        for (int k = 0; k < d; k++) out[k] += g * anchor[k];
      }
    }
    if (r >= self_offset && r < self_offset + b) {
      /* r as anchor i = r - self_offset, against every contrast vector */
      const double *row = similarity + (size_t)(r - self_offset) * m;
      for (int j = 0; j < m; j++) {
        if (row[j] == 0.0) continue;
        const float *other = contrast + (size_t)j * d;
        for (int k = 0; k < d; k++) out[k] += row[j] * other[k];
      }
    }
  }
  return loss_sum;
}

double scan_loss_simclr(const float *z1, const float *z2, int b, int d, double temperature, int symmetric,
                        float *d_z1, float *d_z2) {
  if (b <= 0 || d <= 0) return 0.0;
  const size_t rows = (size_t)b, dim = (size_t)d;
  /* The contrast set [z1; z2] in one block so a row index names a vector in either view. */
  float *contrast = scan_malloc(2 * rows * dim * sizeof(float));
  double *similarity = scan_malloc(rows * 2 * rows * sizeof(double)), *row_loss = scan_malloc(rows * sizeof(double));
  const int want_grad = d_z1 || d_z2;
  double *d_contrast = want_grad ? scan_calloc(2 * rows * dim, sizeof(double)) : NULL;
  if (!contrast || !similarity || !row_loss || (want_grad && !d_contrast)) {
    free(contrast);
    free(similarity);
    free(row_loss);
    free(d_contrast);
    return NAN; /* out of memory: NaN makes the caller's loss check fail loudly */
  }
  memcpy(contrast, z1, rows * dim * sizeof(float));
  memcpy(contrast + rows * dim, z2, rows * dim * sizeof(float));

  const double inv_temperature = 1.0 / temperature;
  const int directions = symmetric ? 2 : 1;
  const double scale = 1.0 / ((double)b * directions); /* mean over anchors, then over directions */
  double loss = nt_xent_direction(contrast, b, d, inv_temperature, 0, b, scale, d_contrast, similarity, row_loss);
  if (symmetric)
    loss += nt_xent_direction(contrast, b, d, inv_temperature, b, 0, scale, d_contrast, similarity, row_loss);
  loss *= scale;

  if (d_z1)
    for (size_t k = 0; k < rows * dim; k++) d_z1[k] = (float)d_contrast[k];
  if (d_z2)
    for (size_t k = 0; k < rows * dim; k++) d_z2[k] = (float)d_contrast[rows * dim + k];
  free(contrast);
  free(similarity);
  free(row_loss);
  free(d_contrast);
  return loss;
}
