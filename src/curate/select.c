/* scan_curate_select: de-duplicate the target, find each unique target's nearest pool images, and write the
 * selections with their evidence (spec §17.2, issue 11). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curate_internal.h"
#include "scan/atomic_file.h"
#include "scan/knn.h"
#include "scan/npy.h"

scan_status curate_path(const scan_curate_request *req, char *buf, size_t size, const char *relative_fmt, ...) {
  char relative[256];
  va_list args;
  va_start(args, relative_fmt);
  vsnprintf(relative, sizeof relative, relative_fmt, args);
  va_end(args);
  return scan_path_join(buf, size, req->out_dir, relative);
}

scan_status scan_curate_union(const int64_t *neighbors, int64_t rows, int cols, int k, int64_t pool_count,
                              int64_t *selected, int64_t *selected_count) {
  *selected_count = 0;
  if (k < 1 || k > cols) return scan_fail(SCAN_ERR_INTERNAL, "union of the first %d of %d neighbour columns", k, cols);
  uint8_t *taken = scan_calloc((unsigned long)(pool_count > 0 ? pool_count : 1), 1);
  if (!taken) return SCAN_ERR_INTERNAL;
  for (int64_t r = 0; r < rows; r++)
    for (int c = 0; c < k; c++) {
      int64_t index = neighbors[r * cols + c];
      if (index < 0 || index >= pool_count) {
        free(taken);
        return scan_fail(SCAN_ERR_INTERNAL, "neighbour %lld of row %lld is outside the pool of %lld", (long long)index,
                         (long long)r, (long long)pool_count);
      }
      taken[index] = 1;
    }
  /* A pass over the flags gives the union de-duplicated and in pool order at once. */
  int64_t count = 0;
  for (int64_t i = 0; i < pool_count; i++)
    if (taken[i]) selected[count++] = i;
  *selected_count = count;
  free(taken);
  return SCAN_OK;
}

static scan_status validate(const scan_curate_request *req) {
  if (req->target_count < 1) return scan_fail(SCAN_ERR_INPUT, "the target set is empty");
  if (req->pool_count < 1) return scan_fail(SCAN_ERR_INPUT, "the pool is empty");
  if (req->dim < 1) return scan_fail(SCAN_ERR_INPUT, "features of dimension %d", req->dim);
  if (req->k_count < 1 || req->k_count > SCAN_CURATE_MAX_K)
    return scan_fail(SCAN_ERR_INPUT, "give 1 to %d values of k, got %d", SCAN_CURATE_MAX_K, req->k_count);
  for (int i = 0; i < req->k_count; i++)
    if (req->ks[i] < 1 || req->ks[i] > req->pool_count)
      return scan_fail(SCAN_ERR_INPUT, "k = %d: each target can take 1 to %lld pool neighbours (the pool size)",
                       req->ks[i], (long long)req->pool_count);
  if (!(req->dedup_threshold > -1)) return scan_fail(SCAN_ERR_INPUT, "de-duplication threshold %g is not above -1", req->dedup_threshold);
  if (!req->target_names || !req->pool_names) return scan_fail(SCAN_ERR_INTERNAL, "curation without names");
  if (req->strips < 0) return scan_fail(SCAN_ERR_INPUT, "--strips %d is negative", req->strips);
  const scan_dataset *images[2] = {req->target_images, req->pool_images};
  const int64_t counts[2] = {req->target_count, req->pool_count};
  const char *what[2] = {"target", "pool"};
  for (int s = 0; s < 2; s++)
    if (images[s] && images[s]->count != counts[s])
      return scan_fail(SCAN_ERR_INPUT, "the %s images (%s) are %d, but its features have %lld rows", what[s],
                       images[s]->name, images[s]->count, (long long)counts[s]);
  return SCAN_OK;
}

/* The unique targets (indices and feature rows) after greedy de-duplication. */
static scan_status unique_targets(curate_state *s) {
  const scan_curate_request *req = s->req;
  uint8_t *keep = scan_malloc((unsigned long)req->target_count);
  if (!keep) return SCAN_ERR_INTERNAL;
  scan_status status = scan_curate_dedup(req->target, req->target_count, req->dim, req->dedup_threshold, keep,
                                         &s->unique_count);
  if (status == SCAN_OK) {
    s->kept = scan_malloc(sizeof(int64_t) * (size_t)s->unique_count);
    s->unique = scan_malloc(sizeof(float) * (size_t)s->unique_count * (size_t)req->dim);
    if (!s->kept || !s->unique) status = SCAN_ERR_INTERNAL;
  }
  for (int64_t i = 0, u = 0; status == SCAN_OK && i < req->target_count; i++)
    if (keep[i]) {
      s->kept[u] = i;
      memcpy(s->unique + u * req->dim, req->target + i * req->dim, sizeof(float) * (size_t)req->dim);
      u++;
    }
  free(keep);
  return status;
}

/* neighbors_nn<K>.npy: the first K columns of the search, one row per unique target. */
static scan_status write_neighbors(const curate_state *s, int k) {
  int64_t *columns = scan_malloc(sizeof(int64_t) * (size_t)s->unique_count * (size_t)k);
  if (!columns) return SCAN_ERR_INTERNAL;
  for (int64_t r = 0; r < s->unique_count; r++)
    memcpy(columns + r * k, s->neighbors + r * s->k_max, sizeof(int64_t) * (size_t)k);
  char path[SCAN_PATH_MAX];
  scan_array a = {SCAN_I64, 2, {s->unique_count, k}, columns};
  scan_status status = curate_path(s->req, path, sizeof path, "neighbors_nn%d.npy", k);
  if (status == SCAN_OK) status = scan_npy_write(path, &a);
  free(columns);
  return status;
}

static scan_status select_for_each_k(curate_state *s, scan_curate_result *result) {
  const scan_curate_request *req = s->req;
  char path[SCAN_PATH_MAX];
  for (int i = 0; i < req->k_count; i++) {
    int k = req->ks[i];
    scan_curate_k_result *r = &result->per_k[i];
    r->k = k;
    r->neighbour_total = s->unique_count * k;
    int64_t room = r->neighbour_total < req->pool_count ? r->neighbour_total : req->pool_count;
    s->selected[i] = scan_malloc(sizeof(int64_t) * (size_t)room);
    if (!s->selected[i]) return SCAN_ERR_INTERNAL;
    SCAN_TRY(scan_curate_union(s->neighbors, s->unique_count, s->k_max, k, req->pool_count, s->selected[i],
                               &s->selected_count[i]));
    r->selected = s->selected_count[i];
    SCAN_TRY(write_neighbors(s, k));
    scan_array a = {SCAN_I64, 1, {s->selected_count[i]}, s->selected[i]};
    SCAN_TRY(curate_path(req, path, sizeof path, "selected_nn%d.npy", k));
    SCAN_TRY(scan_npy_write(path, &a));
    SCAN_TRY(curate_write_image_set(s, i, r));
  }
  return SCAN_OK;
}

scan_status scan_curate_select(const scan_curate_request *req, scan_curate_result *result) {
  memset(result, 0, sizeof *result);
  SCAN_TRY(validate(req));
  char path[SCAN_PATH_MAX];
  SCAN_TRY(curate_path(req, path, sizeof path, "ImageSets"));
  SCAN_TRY(scan_make_dirs(path));
  curate_state s = {.req = req};
  result->target_count = req->target_count;
  result->pool_count = req->pool_count;
  scan_status status = unique_targets(&s);
  result->unique_count = s.unique_count;
  if (status == SCAN_OK) {
    scan_array a = {SCAN_I64, 1, {s.unique_count}, s.kept};
    status = curate_path(req, path, sizeof path, "target_kept.npy");
    if (status == SCAN_OK) status = scan_npy_write(path, &a);
  }
  for (int i = 0; i < req->k_count; i++)
    if (req->ks[i] > s.k_max) s.k_max = req->ks[i];
  if (status == SCAN_OK) {
    s.neighbors = scan_malloc(sizeof(int64_t) * (size_t)s.unique_count * (size_t)s.k_max);
    s.similarities = scan_malloc(sizeof(float) * (size_t)s.unique_count * (size_t)s.k_max);
    status = s.neighbors && s.similarities ? SCAN_OK : SCAN_ERR_INTERNAL;
  }
  if (status == SCAN_OK)
    status = scan_knn(s.unique, s.unique_count, req->pool, req->pool_count, req->dim, s.k_max, 0, s.neighbors,
                      s.similarities);
  if (status == SCAN_OK) status = select_for_each_k(&s, result);
  if (status == SCAN_OK) status = curate_evidence(&s, result);
  if (status == SCAN_OK && req->strips > 0 && req->target_images && req->pool_images)
    status = curate_write_strips(&s, &result->strips_written);
  free(s.kept);
  free(s.unique);
  free(s.neighbors);
  free(s.similarities);
  for (int i = 0; i < SCAN_CURATE_MAX_K; i++) free(s.selected[i]);
  return status;
}
