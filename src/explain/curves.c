/* The arithmetic of the faithfulness measures: areas under deletion/insertion curves (trapezoid
 * rule), curves resampled onto a common grid so they can be averaged over images, and Spearman's
 * rank correlation for the model-randomisation check. */
#include <math.h>
#include <stdlib.h>

#include "scan/explain.h"

double scan_curve_auc(const double *x, const double *y, int n) {
  double area = 0;
  for (int i = 1; i < n; i++) area += 0.5 * (x[i] - x[i - 1]) * (y[i] + y[i - 1]);
  return area;
}

void scan_curve_resample(const double *x, const double *y, int n, int points, double *out) {
  int segment = 0;
  for (int i = 0; i < points; i++) {
    const double at = points > 1 ? (double)i / (points - 1) : 0;
    while (segment + 2 < n && x[segment + 1] < at) segment++;
    if (n == 1) {
      out[i] = y[0];
      continue;
    }
    const double x0 = x[segment], x1 = x[segment + 1];
    double t = x1 > x0 ? (at - x0) / (x1 - x0) : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t; /* outside [x[0], x[n-1]]: the end value */
    out[i] = y[segment] + t * (y[segment + 1] - y[segment]);
  }
}

typedef struct {
  double value;
  int index;
} ranked_value;

static int by_value(const void *a, const void *b) {
  const ranked_value *p = a, *q = b;
  if (p->value != q->value) return p->value < q->value ? -1 : 1;
  return p->index - q->index;
}

/* ranks[i] = 1-based rank of v[i], tied values sharing the average of their ranks. */
static int average_ranks(const double *v, int n, double *ranks) {
  ranked_value *sorted = scan_malloc(sizeof *sorted * (size_t)(n > 0 ? n : 1));
  if (!sorted) return 0;
  for (int i = 0; i < n; i++) sorted[i] = (ranked_value){v[i], i};
  qsort(sorted, (size_t)n, sizeof *sorted, by_value);
  for (int first = 0; first < n;) {
    int last = first;
    while (last + 1 < n && sorted[last + 1].value == sorted[first].value) last++;
    const double rank = 0.5 * (first + last) + 1;
    for (int k = first; k <= last; k++) ranks[sorted[k].index] = rank;
    first = last + 1;
  }
  free(sorted);
  return 1;
}

double scan_rank_correlation(const double *a, const double *b, int n) {
  double *ra = scan_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)), *rb = scan_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  double result = 0;
  if (ra && rb && n > 1 && average_ranks(a, n, ra) && average_ranks(b, n, rb)) {
    const double mean = 0.5 * (n + 1); /* of ranks 1..n, ties included */
    double sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
      sab += (ra[i] - mean) * (rb[i] - mean);
      saa += (ra[i] - mean) * (ra[i] - mean);
      sbb += (rb[i] - mean) * (rb[i] - mean);
    }
    result = saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
  }
  free(ra);
  free(rb);
  return result;
}
