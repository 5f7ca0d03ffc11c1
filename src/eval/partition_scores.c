/* NMI, ARI and AMI of two partitions from their contingency table (spec §9.3;
 * scikit-learn's normalized_mutual_info_score, adjusted_rand_score and
 * adjusted_mutual_info_score with average_method='arithmetic'). */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "eval_internal.h"
#include "scan/error.h"

typedef struct {
  double n;
  double *row_sum, *col_sum;
  int rows_used, cols_used; /* rows / columns with a non-zero sum */
} margins;

static int margins_make(const int64_t *table, int rows, int cols, margins *m) {
  m->row_sum = scan_calloc(rows ? rows : 1, sizeof(double));
  m->col_sum = scan_calloc(cols ? cols : 1, sizeof(double));
  if (!m->row_sum || !m->col_sum) {
    free(m->row_sum);
    free(m->col_sum);
    return 0;
  }
  m->n = 0;
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++) {
      double v = (double)table[(long)i * cols + j];
      m->row_sum[i] += v;
      m->col_sum[j] += v;
      m->n += v;
    }
  m->rows_used = m->cols_used = 0;
  for (int i = 0; i < rows; i++) m->rows_used += m->row_sum[i] > 0;
  for (int j = 0; j < cols; j++) m->cols_used += m->col_sum[j] > 0;
  return 1;
}

static void margins_free(margins *m) {
  free(m->row_sum);
  free(m->col_sum);
}

static double entropy_of(const double *sums, int count, double n) {
  double h = 0;
  for (int i = 0; i < count; i++)
    if (sums[i] > 0) h -= sums[i] / n * log(sums[i] / n);
  return h;
}

static double mutual_information(const int64_t *table, int rows, int cols, const margins *m) {
  double mi = 0;
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++) {
      double nij = (double)table[(long)i * cols + j];
      if (nij > 0) mi += nij / m->n * log(m->n * nij / (m->row_sum[i] * m->col_sum[j]));
    }
  return mi > 0 ? mi : 0; /* rounding can make an independent table slightly negative */
}

double scan_contingency_nmi(const int64_t *table, int rows, int cols) {
  margins m;
  if (!margins_make(table, rows, cols, &m)) return NAN;
  double result;
  if (m.rows_used == m.cols_used && m.rows_used <= 1) {
    result = 1.0; /* both partitions trivial: identical */
  } else {
    double mi = mutual_information(table, rows, cols, &m);
    double mean_h = 0.5 * (entropy_of(m.row_sum, rows, m.n) + entropy_of(m.col_sum, cols, m.n));
    result = mi == 0 ? 0.0 : mi / fmax(mean_h, DBL_EPSILON);
  }
  margins_free(&m);
  return result;
}

static double pairs(double x) { return x * (x - 1) / 2; }

double scan_contingency_ari(const int64_t *table, int rows, int cols) {
  margins m;
  if (!margins_make(table, rows, cols, &m)) return NAN;
  double index = 0, sum_rows = 0, sum_cols = 0;
  for (long t = 0; t < (long)rows * cols; t++) index += pairs((double)table[t]);
  for (int i = 0; i < rows; i++) sum_rows += pairs(m.row_sum[i]);
  for (int j = 0; j < cols; j++) sum_cols += pairs(m.col_sum[j]);
  double expected = m.n > 1 ? sum_rows * sum_cols / pairs(m.n) : 0;
  double max_index = 0.5 * (sum_rows + sum_cols);
  margins_free(&m);
  /* Zero denominator only when both partitions are all-one-cluster or all-singletons
     alike: they agree, and scikit-learn returns 1. */
  if (max_index - expected == 0) return 1.0;
  return (index - expected) / (max_index - expected);
}

/* E[MI] under the hypergeometric model of random partitions with these margins
 * (Vinh, Epps & Bailey 2010), the sum scikit-learn evaluates, in log-gamma form. */
static double expected_mutual_information(const margins *m, int rows, int cols) {
  double n = m->n, emi = 0, lg_n = lgamma(n + 1);
  for (int i = 0; i < rows; i++) {
    double a = m->row_sum[i];
    if (a <= 0) continue;
    for (int j = 0; j < cols; j++) {
      double b = m->col_sum[j];
      if (b <= 0) continue;
      double fixed = lgamma(a + 1) + lgamma(b + 1) + lgamma(n - a + 1) + lgamma(n - b + 1) - lg_n;
      double start = fmax(1, a + b - n), end = fmin(a, b);
      for (double nij = start; nij <= end; nij++) {
        double log_p = fixed - lgamma(nij + 1) - lgamma(a - nij + 1) - lgamma(b - nij + 1) -
                       lgamma(n - a - b + nij + 1);
        emi += nij / n * log(n * nij / (a * b)) * exp(log_p);
      }
    }
  }
  return emi;
}

double scan_contingency_ami(const int64_t *table, int rows, int cols) {
  margins m;
  if (!margins_make(table, rows, cols, &m)) return NAN;
  double result;
  if (m.rows_used == m.cols_used && m.rows_used <= 1) {
    result = 1.0;
  } else {
    double mi = mutual_information(table, rows, cols, &m);
    double emi = expected_mutual_information(&m, rows, cols);
    double mean_h = 0.5 * (entropy_of(m.row_sum, rows, m.n) + entropy_of(m.col_sum, cols, m.n));
    double denominator = mean_h - emi;
    /* as scikit-learn: keep the sign, never divide by less than machine epsilon */
    denominator = denominator < 0 ? fmin(denominator, -DBL_EPSILON) : fmax(denominator, DBL_EPSILON);
    result = (mi - emi) / denominator;
  }
  margins_free(&m);
  return result;
}
