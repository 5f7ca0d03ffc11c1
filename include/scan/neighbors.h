#ifndef SCAN_PIPELINE_NEIGHBORS_H
#define SCAN_PIPELINE_NEIGHBORS_H

#include "scan/pipeline.h"

typedef struct {
  int64_t *indices; /* [rows, cols], the image itself in column 0 */
  long rows;
  int cols;
  int used;         /* columns to use: 1 + the configured number of neighbours */
} neighbor_table;

/* pretext/neighbors-<split>.npy, validated against the number of images. */
scan_status neighbors_load(scan_pipeline *p, const char *split, long expected_rows, int min_neighbors, neighbor_table *out);
void neighbors_free(neighbor_table *t);

#endif
