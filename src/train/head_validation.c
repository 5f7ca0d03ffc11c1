#include "scan/head_validation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/losses.h"
#include "scan/metrics.h"
#include "scan/nn_layers.h"

scan_status validate_heads(scan_pipeline *p, scan_net *net, const scan_dataset *val, const neighbor_table *val_neighbors,
                           double entropy_weight, head_validation *out, int *best_head) {
  int heads = scan_net_num_heads(net), classes = scan_net_head_dim(net);
  long n = val->count;
  float **logits = scan_calloc((size_t)heads, sizeof *logits);
  int32_t *pred = scan_malloc(sizeof(int32_t) * (size_t)n);
  scan_status status = logits && pred ? SCAN_OK : SCAN_ERR_INTERNAL;
  for (int h = 0; h < heads && status == SCAN_OK; h++) {
    logits[h] = scan_malloc(sizeof(float) * (size_t)n * (size_t)classes);
    if (!logits[h]) status = SCAN_ERR_INTERNAL;
  }
  if (status == SCAN_OK) status = scan_pipeline_predict_sharded(p, net, val, "validate heads", NULL, logits);
  *best_head = 0;
  for (int h = 0; h < heads && status == SCAN_OK; h++) {
    head_validation *v = &out[h];
    memset(v, 0, sizeof *v);
    float *probs = logits[h];
    scan_softmax_forward((int)n, classes, probs, probs); /* in place: each row is read before it is written */
    scan_scan_eval_loss(probs, (int)n, classes, val_neighbors->indices, val_neighbors->cols, entropy_weight, &v->total,
                        &v->consistency, &v->entropy);
    for (long i = 0; i < n; i++) {
      const float *row = probs + i * classes;
      int arg = 0;
      for (int c = 1; c < classes; c++)
        if (row[c] > row[arg]) arg = c;
      pred[i] = arg;
      if (arg < 1024) v->sizes[arg]++;
    }
    v->acc = v->nmi = v->ari = -1;
    if (val->labels) {
      scan_metrics m;
      status = scan_cluster_metrics(pred, val->labels, (int)n, classes, val->num_classes, probs, &m);
      if (status != SCAN_OK) break;
      v->acc = m.acc;
      v->nmi = m.nmi;
      v->ari = m.ari;
      scan_metrics_free(&m);
    }
    if (v->total < out[*best_head].total) *best_head = h;
  }
  for (int h = 0; h < heads && logits; h++) free(logits[h]);
  free(logits);
  free(pred);
  return status;
}

void head_validation_json(const head_validation *v, int heads, int classes, char *buf, size_t size) {
  size_t used = 0;
  used += (size_t)snprintf(buf + used, size - used, "[");
  for (int h = 0; h < heads && used < size; h++) {
    used += (size_t)snprintf(buf + used, size - used,
                             "%s{\"head\": %d, \"loss\": %.6f, \"consistency\": %.6f, \"entropy\": %.6f", h ? ", " : "", h,
                             v[h].total, v[h].consistency, v[h].entropy);
    if (v[h].acc >= 0 && used < size)
      used += (size_t)snprintf(buf + used, size - used, ", \"acc\": %.5f, \"nmi\": %.5f, \"ari\": %.5f", v[h].acc, v[h].nmi,
                               v[h].ari);
    if (used < size) used += (size_t)snprintf(buf + used, size - used, ", \"sizes\": [");
    for (int c = 0; c < classes && c < 1024 && used < size; c++)
      used += (size_t)snprintf(buf + used, size - used, "%s%d", c ? ", " : "", v[h].sizes[c]);
    if (used < size) used += (size_t)snprintf(buf + used, size - used, "]}");
  }
  if (used < size) snprintf(buf + used, size - used, "]");
}
