/* Private to module curate: the steps scan_curate_select runs after the neighbour search. */
#ifndef SCAN_CURATE_INTERNAL_H
#define SCAN_CURATE_INTERNAL_H

#include "scan/curate.h"

/* What the selection computed, handed to the writers. */
typedef struct {
  const scan_curate_request *req;
  int64_t unique_count;
  int64_t *kept;            /* [unique_count] target row of each unique target */
  float *unique;            /* [unique_count, dim] their features */
  int k_max;                /* columns of neighbors / similarities */
  int64_t *neighbors;       /* [unique_count, k_max] pool indices, nearest first */
  float *similarities;      /* [unique_count, k_max] */
  int64_t *selected[SCAN_CURATE_MAX_K]; /* per K: pool indices in increasing order */
  int64_t selected_count[SCAN_CURATE_MAX_K];
} curate_state;

/* "<out_dir>/<relative>" into buf[size] (scan_path_join: a path too long is refused, naming it). The relative
   names are this module's own ("strips/strip_%03lld.png"), well under 256 bytes. */
scan_status curate_path(const scan_curate_request *req, char *buf, size_t size, const char *relative_fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ImageSets/scan_nn<K>.txt, and with voc_root the annotation check (missing names listed in a file). */
scan_status curate_write_image_set(const curate_state *s, int which_k, scan_curate_k_result *out);
/* M strips: a target (spread evenly over the unique targets) followed by its first-K neighbours. */
scan_status curate_write_strips(const curate_state *s, int *written);
/* MMD, nearest-neighbour similarities and class histograms; evidence.json and the figures. */
scan_status curate_evidence(const curate_state *s, scan_curate_result *result);

#endif
