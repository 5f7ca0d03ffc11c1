/* The clustering model's predictions for a set of validation images (spec §14.2 steps 4-5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/nn_layers.h"
#include "scan/query.h"
#include "scan/safetensors.h"

void scan_query_prediction_free(scan_query_prediction *pr) {
  free(pr->indices);
  free(pr->pred);
  free(pr->probs);
  free(pr->features);
  memset(pr, 0, sizeof *pr);
}

scan_status scan_query_predict(scan_pipeline *p, scan_net *net, const int64_t *indices, int n,
                               scan_query_prediction *out) {
  memset(out, 0, sizeof *out);
  const scan_dataset *val;
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  size_t bytes = (size_t)val->height * val->width * val->channels;
  int classes = scan_net_head_dim(net), dim = scan_net_feature_dim(net);
  out->n = n;
  out->num_clusters = classes;
  out->feature_dim = dim;
  out->indices = scan_malloc(sizeof(int64_t) * (size_t)n);
  out->pred = scan_malloc(sizeof(int32_t) * (size_t)n);
  out->probs = scan_malloc(sizeof(float) * (size_t)n * (size_t)classes);
  out->features = scan_malloc(sizeof(float) * (size_t)n * (size_t)dim);
  /* The candidates as a dataset of their own, so the ordinary batched prediction runs over them. */
  scan_dataset subset = {0};
  subset.count = n;
  subset.height = val->height;
  subset.width = val->width;
  subset.channels = val->channels;
  subset.pixels = scan_malloc(bytes * (size_t)n);
  snprintf(subset.name, sizeof subset.name, "query candidates");
  scan_status status = out->indices && out->pred && out->probs && out->features && subset.pixels ? SCAN_OK : SCAN_ERR_INTERNAL;
  for (int i = 0; i < n && status == SCAN_OK; i++) {
    if (indices[i] < 0 || indices[i] >= val->count) {
      status = scan_fail(SCAN_ERR_INPUT, "candidate %d is %lld, not a validation image", i, (long long)indices[i]);
      break;
    }
    out->indices[i] = indices[i];
    status = scan_dataset_copy_image(val, (long)indices[i], subset.pixels + bytes * (size_t)i);
  }
  float *outputs[1] = {out->probs};
  if (status == SCAN_OK) status = scan_pipeline_predict(p, net, &subset, "predict candidates", out->features, outputs);
  if (status == SCAN_OK) {
    scan_softmax_forward(n, classes, out->probs, out->probs); /* in place: each row is read before it is written */
    for (int i = 0; i < n; i++) {
      const float *row = out->probs + (size_t)i * classes;
      int arg = 0;
      for (int c = 1; c < classes; c++)
        if (row[c] > row[arg]) arg = c;
      out->pred[i] = arg;
    }
  }
  free(subset.pixels);
  if (status != SCAN_OK) scan_query_prediction_free(out);
  return status;
}
