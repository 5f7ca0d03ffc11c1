/* Per-epoch validation of cluster heads: the SCAN loss on the val set (for
 * choosing a head without labels), cluster sizes and, with labels, ACC/NMI/ARI. */
#ifndef SCAN_PIPELINE_HEAD_VALIDATION_H
#define SCAN_PIPELINE_HEAD_VALIDATION_H

#include "scan/neighbors.h"
#include "scan/pipeline.h"

typedef struct {
  double total, consistency, entropy; /* validation SCAN loss (entropy weighted as configured) */
  double acc, nmi, ari;               /* -1 without labels */
  int sizes[1024];                    /* cluster sizes (first num_classes entries) */
} head_validation;

/* probs: caller-owned scratch of heads x [val_count, num_classes]. */
scan_status validate_heads(scan_pipeline *p, scan_net *net, const scan_dataset *val, const neighbor_table *val_neighbors,
                           double entropy_weight, head_validation *out, int *best_head);
/* JSON fragment: [{"head": 0, "loss": .., "consistency": .., "entropy": .., "acc": .., "sizes": [...]}, ...] */
void head_validation_json(const head_validation *v, int heads, int classes, char *buf, size_t size);

#endif
