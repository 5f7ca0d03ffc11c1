/* Helpers shared inside the eval module. */
#ifndef SCAN_EVAL_INTERNAL_H
#define SCAN_EVAL_INTERNAL_H

#include <stdint.h>

/* Scores of a contingency table n_ij ([rows, cols], row-major, any zero rows or
 * columns are ignored) with scikit-learn's definitions and special cases. */
double scan_contingency_nmi(const int64_t *table, int rows, int cols);
double scan_contingency_ari(const int64_t *table, int rows, int cols);
double scan_contingency_ami(const int64_t *table, int rows, int cols);

#endif
