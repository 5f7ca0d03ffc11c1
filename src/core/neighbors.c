/* Reading mined neighbour files back, with their shape checked against the data. */
#include <stdio.h>
#include <stdlib.h>

#include "scan/neighbors.h"
#include "scan/npy.h"

scan_status neighbors_load(scan_pipeline *p, const char *split, long expected_rows, int min_neighbors, neighbor_table *out) {
  char rel[128];
  snprintf(rel, sizeof rel, "pretext/neighbors-%s.npy", split);
  return neighbors_load_file(p, rel, split, expected_rows, min_neighbors, out);
}

scan_status neighbors_load_file(scan_pipeline *p, const char *relative, const char *split, long expected_rows,
                                int min_neighbors, neighbor_table *out) {
  char path[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, path, sizeof path, relative));
  scan_array a;
  scan_status status = scan_npy_read(path, &a);
  if (status != SCAN_OK) return scan_fail_context(status, "the mined neighbours are needed (run 'scan mine' first)");
  if (a.dtype != SCAN_I64 || a.ndim != 2 || a.shape[0] != expected_rows || a.shape[1] < 2) {
    scan_array_free(&a);
    return scan_fail(SCAN_ERR_INPUT, "%s: expected int64 [%ld, k+1] neighbours for the %s split", path, expected_rows, split);
  }
  const int64_t *rows = a.data;
  for (int64_t i = 0; i < a.shape[0] * a.shape[1]; i++)
    if (rows[i] < 0 || rows[i] >= expected_rows) {
      long bad_row = (long)(i / a.shape[1]), bad_index = (long)rows[i]; /* read before the array is freed */
      scan_array_free(&a);
      return scan_fail(SCAN_ERR_INPUT, "%s: row %ld holds index %ld, outside 0..%ld", path, bad_row, bad_index,
                       expected_rows - 1);
    }
  out->indices = a.data;
  out->rows = a.shape[0];
  out->cols = (int)a.shape[1];
  out->used = min_neighbors + 1 < out->cols ? min_neighbors + 1 : out->cols;
  if (min_neighbors + 1 > out->cols)
    fprintf(stderr, "%s holds %d neighbours per image, fewer than the %d asked for; using %d\n", path, out->cols - 1,
            min_neighbors, out->cols - 1);
  return SCAN_OK;
}

void neighbors_free(neighbor_table *t) {
  free(t->indices);
  t->indices = NULL;
}
