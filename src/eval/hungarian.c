/* Rectangular linear assignment by shortest augmenting paths with row/column
 * potentials (the O(r^2 c) form of the Hungarian method, r <= c). A taller
 * matrix is solved transposed. */
#include <math.h>
#include <stdlib.h>

#include "scan/metrics.h"

/* rows <= cols. cost(i, j) read through a stride pair so the transpose needs no copy. */
static scan_status assign_wide(const double *cost, int rows, int cols, long row_stride, long col_stride,
                               int *row_to_col) {
  /* 1-based arrays; column 0 is the virtual start of each augmenting path. */
  double *u = scan_calloc(rows + 1, sizeof(double)), *v = scan_calloc(cols + 1, sizeof(double));
  double *min_slack = scan_malloc(sizeof(double) * (cols + 1));
  int *col_row = scan_calloc(cols + 1, sizeof(int)), *prev_col = scan_calloc(cols + 1, sizeof(int));
  char *visited = scan_malloc(cols + 1);
  scan_status st = SCAN_OK;
  if (!u || !v || !min_slack || !col_row || !prev_col || !visited) {
    st = scan_fail(SCAN_ERR_INTERNAL, "hungarian: out of memory for %d x %d", rows, cols);
    goto done;
  }
  for (int i = 1; i <= rows; i++) {
    col_row[0] = i;
    int j0 = 0;
    for (int j = 0; j <= cols; j++) {
      min_slack[j] = INFINITY;
      visited[j] = 0;
    }
    do { /* grow the shortest-path tree until it reaches a free column */
      visited[j0] = 1;
      int i0 = col_row[j0], j1 = 0;
      double delta = INFINITY;
      for (int j = 1; j <= cols; j++) {
        if (visited[j]) continue;
        double reduced = cost[(i0 - 1) * row_stride + (j - 1) * col_stride] - u[i0] - v[j];
        if (reduced < min_slack[j]) {
          min_slack[j] = reduced;
          prev_col[j] = j0;
        }
        if (min_slack[j] < delta) {
          delta = min_slack[j];
          j1 = j;
        }
      }
      for (int j = 0; j <= cols; j++) {
        if (visited[j]) {
          u[col_row[j]] += delta;
          v[j] -= delta;
        } else {
          min_slack[j] -= delta;
        }
      }
      j0 = j1;
    } while (col_row[j0] != 0);
    do { /* flip the path */
      int j1 = prev_col[j0];
      col_row[j0] = col_row[j1];
      j0 = j1;
    } while (j0);
  }
  for (int i = 0; i < rows; i++) row_to_col[i] = -1;
  for (int j = 1; j <= cols; j++)
    if (col_row[j]) row_to_col[col_row[j] - 1] = j - 1;
done:
  free(u);
  free(v);
  free(min_slack);
  free(col_row);
  free(prev_col);
  free(visited);
  return st;
}

scan_status scan_hungarian(const double *cost, int rows, int cols, int *row_to_col) {
  if (rows < 0 || cols < 0) return scan_fail(SCAN_ERR_INPUT, "hungarian: negative size %d x %d", rows, cols);
  for (long t = 0; t < (long)rows * cols; t++)
    if (!isfinite(cost[t])) return scan_fail(SCAN_ERR_INPUT, "hungarian: cost entry %ld is not finite", t);
  if (rows == 0 || cols == 0) {
    for (int i = 0; i < rows; i++) row_to_col[i] = -1;
    return SCAN_OK;
  }
  if (rows <= cols) return assign_wide(cost, rows, cols, cols, 1, row_to_col);
  /* Taller than wide: assign columns to rows on the transpose, then invert. */
  int *col_to_row = scan_malloc(sizeof(int) * cols);
  if (!col_to_row) return scan_fail(SCAN_ERR_INTERNAL, "hungarian: out of memory");
  scan_status st = assign_wide(cost, cols, rows, 1, cols, col_to_row);
  if (st == SCAN_OK) {
    for (int i = 0; i < rows; i++) row_to_col[i] = -1;
    for (int j = 0; j < cols; j++) row_to_col[col_to_row[j]] = j;
  }
  free(col_to_row);
  return st;
}
