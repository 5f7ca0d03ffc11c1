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
/* The same from another file of the run (a path relative to it) holding neighbours of `split`. */
scan_status neighbors_load_file(scan_pipeline *p, const char *relative, const char *split, long expected_rows,
                                int min_neighbors, neighbor_table *out);
void neighbors_free(neighbor_table *t);

/* The vectors mining compares, one row per image of `data` (held in memory), of unit length: the pretext net's
   (`net`) head output, its backbone features, or the backbone features beside the raw pixels, as
   p->settings.cluster.neighbor_features says; *out is allocated [count, *dim]. Mining and a query image's candidates
   use this one definition, so that a query lands in the space the validation features were mined in. Under mpirun
   the images are shared out over the ranks and every rank gets every row. */
scan_status scan_pipeline_neighbor_features(scan_pipeline *p, scan_net *net, const scan_dataset *data, const char *label,
                                            float **out, int *dim);

#endif
