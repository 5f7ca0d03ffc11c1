/* Candidate mining for query clustering (spec §14.1, §15.1): the largest N once,
 * every smaller N as a prefix; the query and its byte-identical copies never
 * appear among its own candidates (§18.13). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/knn.h"
#include "scan/npy.h"
#include "scan/query.h"

int scan_query_default_counts(int *counts, int max) {
  int n = 0;
  for (int c = 50; c <= 1000 && n < max; c += 50) counts[n++] = c;
  return n;
}

scan_status scan_query_parse_counts(const char *text, int *counts, int max, int *num) {
  *num = 0;
  const char *s = text;
  while (*s) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || errno || v < 1 || v > INT_MAX || (*end && *end != ','))
      return scan_fail(SCAN_ERR_INPUT, "candidate counts '%s': item %d is not a positive integer", text, *num + 1);
    if (*num == max) return scan_fail(SCAN_ERR_INPUT, "candidate counts '%s': more than %d counts", text, max);
    if (*num > 0 && v <= counts[*num - 1])
      return scan_fail(SCAN_ERR_INPUT, "candidate counts '%s': counts must increase (%ld after %d)", text, v,
                       counts[*num - 1]);
    counts[(*num)++] = (int)v;
    s = *end ? end + 1 : end;
    if (*end && !*s) return scan_fail(SCAN_ERR_INPUT, "candidate counts '%s': trailing comma", text);
  }
  if (*num == 0) return scan_fail(SCAN_ERR_INPUT, "candidate counts: empty list");
  return SCAN_OK;
}

/* 64-bit FNV-1a: only a bucket key, equality is always confirmed with memcmp. */
static uint64_t image_hash(const uint8_t *p, size_t bytes) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

typedef struct { uint64_t hash; int64_t index; } hashed_image;

static int compare_hashed(const void *a, const void *b) {
  const hashed_image *x = a, *y = b;
  if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

/* group[i] = the smallest index of the images byte-identical to image i (i itself when unique);
 * *largest = the size of the biggest group. Images are read one at a time, so a streamed set stays streamed. */
static scan_status duplicate_groups(const scan_dataset *images, int64_t n, int64_t *group, int64_t *largest) {
  const size_t bytes = scan_dataset_image_bytes(images);
  hashed_image *order = scan_malloc(sizeof *order * (size_t)n);
  uint8_t *scratch_a = scan_malloc(bytes), *scratch_b = scan_malloc(bytes);
  scan_status status = order && scratch_a && scratch_b ? SCAN_OK : scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  for (int64_t i = 0; i < n && status == SCAN_OK; i++) {
    const uint8_t *image = NULL;
    status = scan_dataset_read(images, (long)i, scratch_a, &image);
    if (status == SCAN_OK) order[i] = (hashed_image){image_hash(image, bytes), i};
    group[i] = i;
  }
  if (status == SCAN_OK) qsort(order, (size_t)n, sizeof *order, compare_hashed);
  *largest = n > 0;
  for (int64_t start = 0; start < n && status == SCAN_OK;) {
    int64_t end = start + 1;
    while (end < n && order[end].hash == order[start].hash) end++;
    /* Within one hash bucket (almost always a single image), link each image to the first identical one. */
    for (int64_t a = start; a < end && status == SCAN_OK; a++) {
      if (group[order[a].index] != order[a].index) continue; /* already linked to an earlier image */
      int64_t size = 1;
      const uint8_t *image_a = NULL, *image_b = NULL;
      if (end - a > 1) status = scan_dataset_read(images, (long)order[a].index, scratch_a, &image_a);
      for (int64_t b = a + 1; b < end && status == SCAN_OK; b++) {
        status = scan_dataset_read(images, (long)order[b].index, scratch_b, &image_b);
        if (status == SCAN_OK && memcmp(image_a, image_b, bytes) == 0) {
          group[order[b].index] = order[a].index; /* buckets are sorted by index, so a's index is the smallest */
          size++;
        }
      }
      if (size > *largest) *largest = size;
    }
    start = end;
  }
  free(order);
  free(scratch_a);
  free(scratch_b);
  return status;
}

scan_status scan_query_mine(const float *features, int64_t n, int d, const scan_dataset *images, int k,
                            int64_t *candidates) {
  if (k < 1 || k > n - 1)
    return scan_fail(SCAN_ERR_INPUT, "%d candidates asked for, but there are only %lld other images", k, (long long)(n - 1));
  int64_t *group = scan_malloc(sizeof(int64_t) * (size_t)n);
  if (!group) return SCAN_ERR_INTERNAL;
  int64_t largest = 1;
  scan_status status = images ? duplicate_groups(images, n, group, &largest) : SCAN_OK;
  if (!images)
    for (int64_t i = 0; i < n; i++) group[i] = i;
  /* Search deep enough that every row still has k candidates after its copies are dropped. */
  int64_t depth = k + largest - 1;
  if (depth > n - 1) depth = n - 1;
  int64_t *found = status == SCAN_OK ? scan_malloc(sizeof(int64_t) * (size_t)n * (size_t)depth) : NULL;
  if (status == SCAN_OK && !found) status = SCAN_ERR_INTERNAL;
  if (status == SCAN_OK) status = scan_knn(features, n, features, n, d, (int)depth, 1, found, NULL);
  for (int64_t i = 0; i < n && status == SCAN_OK; i++) {
    const int64_t *row = found + i * depth;
    int64_t *out = candidates + i * k;
    int taken = 0;
    for (int64_t j = 0; j < depth && taken < k; j++)
      if (group[row[j]] != group[i]) out[taken++] = row[j];
    if (taken < k)
      status = scan_fail(SCAN_ERR_INPUT, "image %lld has only %d images that are not copies of it, %d candidates asked for",
                         (long long)i, taken, k);
  }
  free(found);
  free(group);
  return status;
}

scan_status scan_query_candidate_accuracy(const int64_t *candidates, int64_t n, int k, const int32_t *labels,
                                          const int *counts, int num_counts, double *accuracy) {
  int64_t *hits = scan_calloc((size_t)num_counts, sizeof *hits);
  if (!hits) return SCAN_ERR_INTERNAL;
  int64_t rows = 0;
  for (int64_t i = 0; i < n; i++) {
    if (labels[i] < 0) continue;
    rows++;
    const int64_t *row = candidates + i * k;
    int64_t running = 0;
    int next = 0;
    for (int j = 0; j < k && next < num_counts; j++) {
      if (row[j] >= 0 && row[j] < n && labels[row[j]] == labels[i]) running++;
      while (next < num_counts && counts[next] == j + 1) hits[next++] += running;
    }
  }
  for (int c = 0; c < num_counts; c++)
    accuracy[c] = rows ? 100.0 * (double)hits[c] / ((double)rows * counts[c]) : 0.0;
  free(hits);
  return SCAN_OK;
}

scan_status scan_query_read_val_features(scan_pipeline *p, const scan_dataset *val, int dim, scan_array *features) {
  char path[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, path, sizeof path, "pretext/features-val.npy"));
  scan_status status = scan_npy_read(path, features);
  if (status != SCAN_OK) return scan_fail_context(status, "the pretext features are needed (run 'scan mine' first)");
  if (features->dtype != SCAN_F32 || features->ndim != 2 || features->shape[0] != val->count || features->shape[1] < 1 ||
      (dim > 0 && features->shape[1] != dim)) {
    scan_array_free(features);
    if (dim > 0)
      return scan_fail(SCAN_ERR_INPUT, "%s: expected float32 [%d, %d] (the pretext model's feature size); rerun 'scan mine'",
                       path, val->count, dim);
    return scan_fail(SCAN_ERR_INPUT, "%s: expected float32 [%d, D] features of the validation set", path, val->count);
  }
  int64_t bad = scan_knn_first_nonfinite_row(features->data, features->shape[0], (int)features->shape[1]);
  if (bad >= 0) {
    scan_array_free(features);
    return scan_fail(SCAN_ERR_INPUT, "%s: row %lld holds a NaN or infinite value; rerun 'scan mine'", path, (long long)bad);
  }
  return SCAN_OK;
}

scan_status scan_query_write_candidates(scan_pipeline *p, const int *counts, int num_counts, double *accuracy) {
  const scan_dataset *val;
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  if (num_counts < 1) return scan_fail(SCAN_ERR_INPUT, "no candidate count given");
  for (int c = 1; c < num_counts; c++)
    if (counts[c] <= counts[c - 1]) return scan_fail(SCAN_ERR_INPUT, "candidate counts must increase");
  int k = counts[num_counts - 1];
  if (counts[0] < 1 || k > val->count - 1)
    return scan_fail(SCAN_ERR_INPUT, "%d candidates asked for, but the validation set has only %d other images", k,
                     val->count - 1);
  scan_array features;
  SCAN_TRY(scan_query_read_val_features(p, val, 0, &features));
  int64_t n = val->count;
  int d = (int)features.shape[1];
  int64_t *table = scan_malloc(sizeof(int64_t) * (size_t)n * (size_t)k);
  int64_t *prefix = scan_malloc(sizeof(int64_t) * (size_t)n * (size_t)k);
  scan_status status = table && prefix ? SCAN_OK : SCAN_ERR_INTERNAL;
  if (status == SCAN_OK)
    status = scan_query_mine(features.data, n, d, val, k, table);
  for (int c = 0; c < num_counts && status == SCAN_OK; c++) {
    for (int64_t i = 0; i < n; i++)
      memcpy(prefix + i * counts[c], table + i * k, sizeof(int64_t) * (size_t)counts[c]);
    char rel[64], path[SCAN_PATH_MAX];
    snprintf(rel, sizeof rel, "pretext/candidates-N%d.npy", counts[c]);
    scan_array a = {SCAN_I64, 2, {n, counts[c]}, prefix};
    status = scan_pipeline_path(p, path, sizeof path, rel);
    if (status == SCAN_OK) status = scan_npy_write(path, &a);
  }
  if (status == SCAN_OK && accuracy) {
    if (val->labels)
      status = scan_query_candidate_accuracy(table, n, k, val->labels, counts, num_counts, accuracy);
    else
      for (int c = 0; c < num_counts; c++) accuracy[c] = -1;
  }
  free(table);
  free(prefix);
  scan_array_free(&features);
  return status;
}

/* The width N of "candidates-N<N>.npy", or 0 for other names. */
static int candidate_file_width(const char *name) {
  int width = 0, used = 0;
  if (sscanf(name, "candidates-N%d.npy%n", &width, &used) != 1 || used != (int)strlen(name)) return 0;
  return width;
}

scan_status scan_query_candidates_of(scan_pipeline *p, int query, int n, int64_t *indices) {
  const scan_dataset *val;
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  if (query < 0 || query >= val->count)
    return scan_fail(SCAN_ERR_INPUT, "query index %d is out of range: the validation set has %d images (0..%d)", query,
                     val->count, val->count - 1);
  if (n < 1) return scan_fail(SCAN_ERR_INPUT, "the number of candidates must be >= 1, got %d", n);
  char dir[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, dir, sizeof dir, "pretext"));
  DIR *listing = opendir(dir);
  int best = 0, widest = 0;
  for (struct dirent *e; listing && (e = readdir(listing)) != NULL;) {
    int width = candidate_file_width(e->d_name);
    if (width > widest) widest = width;
    if (width >= n && (best == 0 || width < best)) best = width;
  }
  if (listing) closedir(listing);
  if (widest == 0)
    return scan_fail(SCAN_ERR_INPUT, "%s has no candidates-N<N>.npy files (run 'scan candidates' first)", dir);
  if (best == 0)
    return scan_fail(SCAN_ERR_INPUT, "%d candidates asked for, but the widest candidate file has %d (run 'scan candidates --n-list ...,%d')",
                     n, widest, n);
  char rel[64], path[SCAN_PATH_MAX];
  snprintf(rel, sizeof rel, "pretext/candidates-N%d.npy", best);
  scan_array a;
  SCAN_TRY(scan_pipeline_path(p, path, sizeof path, rel));
  SCAN_TRY(scan_npy_read(path, &a));
  scan_status status = SCAN_OK;
  if (a.dtype != SCAN_I64 || a.ndim != 2 || a.shape[0] != val->count || a.shape[1] != best)
    status = scan_fail(SCAN_ERR_INPUT, "%s: expected int64 [%d, %d] (rerun 'scan candidates')", path, val->count, best);
  const int64_t *row = status == SCAN_OK ? (const int64_t *)a.data + (int64_t)query * best : NULL;
  for (int j = 0; j < n && status == SCAN_OK; j++) {
    if (row[j] < 0 || row[j] >= val->count || row[j] == query)
      status = scan_fail(SCAN_ERR_INPUT, "%s: row %d column %d holds %lld, not another validation image", path, query, j,
                         (long long)row[j]);
    else
      indices[j] = row[j];
  }
  scan_array_free(&a);
  return status;
}
