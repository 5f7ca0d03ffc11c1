/* Stage 1b: mine each image's nearest neighbours in the pretext feature space
 * (spec §6.5): val-transform features of the contrastive head (L2-normalised; or the backbone's, or those beside
 * the raw pixels: cluster.neighbor_features), exact inner-product top-k, saved as int64 [N, k+1] with the image
 * itself in column 0. */
#include <stdio.h>
#include <stdlib.h>

#include "scan/stages.h"
#include "scan/dist.h"
#include "scan/knn.h"
#include "scan/neighbors.h"
#include "scan/npy.h"
#include "scan/progress.h"
#include "scan/training.h"

/* Every image's top-k. Under mpirun each rank searches its share of the query rows against all features (which every
   rank holds) and rank 0 gathers the rows: the same bytes as one process (scan_knn_self_rows). */
static scan_status mine_rows(const float *features, long n, int dim, int k, int64_t *neighbors) {
  const int ranks = scan_dist_size();
  if (ranks == 1) return scan_knn_self(features, n, dim, k, neighbors, NULL);
  long *counts = scan_malloc(sizeof(long) * (size_t)ranks);
  if (!counts) return SCAN_ERR_INTERNAL;
  int64_t first = 0, count = 0;
  for (int r = 0; r < ranks; r++) {
    scan_knn_self_share(n, r, ranks, &first, &count);
    counts[r] = (long)count * (k + 1);
  }
  scan_knn_self_share(n, scan_dist_rank(), ranks, &first, &count);
  scan_status status = scan_knn_self_rows(features, n, dim, k, first, count, neighbors, NULL);
  if (scan_dist_any(status != SCAN_OK)) {
    free(counts);
    return status != SCAN_OK ? status : scan_fail(SCAN_ERR_INTERNAL, "mine: another rank failed (its message is above)");
  }
  scan_dist_gather_int64_in_place(neighbors, counts, 0);
  free(counts);
  return SCAN_OK;
}

static scan_status mine_split(scan_pipeline *p, scan_net *net, const scan_dataset *data, const char *split, int k) {
  long n = data->count;
  int dim = 0;
  float *features = NULL;
  int64_t *neighbors = scan_malloc(sizeof(int64_t) * (size_t)n * (size_t)(k + 1));
  scan_status status = neighbors ? SCAN_OK : SCAN_ERR_INTERNAL;
  char label[64], path[SCAN_PATH_MAX], rel[128];
  snprintf(label, sizeof label, "features %s", split);
  if (status == SCAN_OK) status = scan_pipeline_neighbor_features(p, net, data, label, &features, &dim);
  /* A NaN feature comes from the model or from one image: name both instead of a bare row number. */
  int64_t bad = status == SCAN_OK ? scan_knn_first_nonfinite_row(features, n, dim) : -1;
  if (bad >= 0) {
    char number[32];
    snprintf(number, sizeof number, "image %lld", (long long)bad);
    status = scan_pipeline_path(p, path, sizeof path, "pretext/model.safetensors");
    if (status == SCAN_OK)
      status = scan_fail(SCAN_ERR_INPUT, "mine %s: %s: the pretext model (%s) gives it a NaN or infinite feature; retrain "
                         "it ('scan pretext') or check that image", split, data->file_names ? data->file_names[bad] : number,
                         path);
  }
  if (status == SCAN_OK) {
    double start = scan_now_seconds();
    status = mine_rows(features, n, dim, k, neighbors);
    if (status == SCAN_OK && scan_dist_is_root())
      fprintf(stderr, "mine %s: top-%d neighbours of %ld images in %.2f s\n", split, k, n, scan_now_seconds() - start);
  }
  if (!scan_dist_is_root()) { /* rank 0 holds every row now, and writes */
    free(features);
    free(neighbors);
    return status;
  }
  if (status == SCAN_OK) {
    snprintf(rel, sizeof rel, "pretext/features-%s.npy", split);
    scan_array a = {SCAN_F32, 2, {n, dim}, features};
    status = scan_pipeline_path(p, path, sizeof path, rel);
    if (status == SCAN_OK) status = scan_npy_write(path, &a);
  }
  if (status == SCAN_OK) {
    snprintf(rel, sizeof rel, "pretext/neighbors-%s.npy", split);
    scan_array a = {SCAN_I64, 2, {n, k + 1}, neighbors};
    status = scan_pipeline_path(p, path, sizeof path, rel);
    if (status == SCAN_OK) status = scan_npy_write(path, &a);
  }
  if (status == SCAN_OK && data->labels)
    printf("Accuracy of top-%d nearest neighbours on the %s set: %.2f%%\n", k, split,
           scan_neighbor_accuracy(neighbors, n, k + 1, data->labels));
  free(features);
  free(neighbors);
  return status;
}

scan_status scan_stage_mine(scan_pipeline *p) {
  const scan_dataset *train, *val;
  SCAN_TRY(scan_pipeline_train_data(p, &train));
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  /* As many neighbours as the clustering stage will draw from. */
  const int k_train = p->settings.cluster.num_neighbors, k_val = p->settings.cluster.num_neighbors_val;
  SCAN_TRY(scan_pipeline_check_data(p, "mine")); /* k < N; k >= 1 was validated when the configuration was opened */
  char model_path[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, model_path, sizeof model_path, "pretext/model.safetensors"));
  const double start = scan_now_seconds();
  scan_net *net = NULL;
  SCAN_TRY(scan_pipeline_create_net(p, "pretext", 512, &net));
  scan_status status = scan_net_load(net, model_path, NULL);
  if (status != SCAN_OK) scan_fail_context(status, "mine: the pretext model is needed (run 'scan pretext' first)");
  if (status == SCAN_OK) status = mine_split(p, net, train, "train", k_train);
  if (status == SCAN_OK) status = mine_split(p, net, val, "val", k_val);
  scan_net_free(net);
  if (status == SCAN_OK)
    status = scan_pipeline_write_timing(p, "pretext/mine_timing.json", scan_now_seconds() - start,
                                        (long)train->count + val->count);
  return status;
}
