/* The files of `scan features`: .npy features, a names file, and the reference's CSV (spec §17.1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/csv.h"
#include "scan/curate.h"
#include "scan/knn.h"
#include "scan/npy.h"

scan_status scan_curate_write_features(const char *npy_path, const char *names_path, const char *csv_path,
                                       const float *features, int64_t rows, int dim, const char *const *names) {
  scan_array a = {SCAN_F32, 2, {rows, dim}, (void *)features};
  SCAN_TRY(scan_npy_write(npy_path, &a));
  scan_atomic_file af;
  if (names_path) {
    SCAN_TRY(scan_atomic_open(&af, names_path));
    for (int64_t i = 0; i < rows; i++) fprintf(af.file, "%s\n", names[i]);
    SCAN_TRY(scan_atomic_commit(&af));
  }
  if (csv_path) {
    SCAN_TRY(scan_atomic_open(&af, csv_path));
    for (int64_t i = 0; i < rows; i++) {
      scan_csv_put_field(af.file, names[i]);
      /* %.9g: enough digits that the float reads back exactly. */
      for (int c = 0; c < dim; c++) fprintf(af.file, ",%.9g", (double)features[i * dim + c]);
      fputc('\n', af.file);
    }
    SCAN_TRY(scan_atomic_commit(&af));
  }
  return SCAN_OK;
}

scan_status scan_curate_load_features(const char *path, float **features, int64_t *rows, int *dim) {
  *features = NULL;
  scan_array a;
  SCAN_TRY(scan_npy_read(path, &a));
  scan_status status = SCAN_OK;
  if (a.ndim != 2 || (a.dtype != SCAN_F32 && a.dtype != SCAN_F64))
    status = scan_fail(SCAN_ERR_INPUT, "%s: features must be a 2-D float32 or float64 array [images, dimensions]", path);
  else if (a.shape[0] < 1 || a.shape[1] < 1 || a.shape[1] > (1 << 20))
    status = scan_fail(SCAN_ERR_INPUT, "%s: features of shape [%lld, %lld]: no images or no dimensions", path,
                       (long long)a.shape[0], (long long)a.shape[1]);
  float *out = NULL;
  int64_t count = status == SCAN_OK ? a.shape[0] * a.shape[1] : 0;
  if (status == SCAN_OK && !(out = scan_malloc(sizeof(float) * (size_t)count))) status = SCAN_ERR_INTERNAL;
  for (int64_t i = 0; status == SCAN_OK && i < count; i++) {
    double v = a.dtype == SCAN_F32 ? ((const float *)a.data)[i] : ((const double *)a.data)[i];
    if (!isfinite(v))
      status = scan_fail(SCAN_ERR_INPUT, "%s: row %lld, column %lld is not a finite number", path,
                         (long long)(i / a.shape[1]), (long long)(i % a.shape[1]));
    out[i] = (float)v;
  }
  if (status == SCAN_OK) {
    *rows = a.shape[0];
    *dim = (int)a.shape[1];
    scan_l2_normalize_rows(out, *rows, *dim);
    *features = out;
  } else {
    free(out);
  }
  scan_array_free(&a);
  return status;
}

scan_status scan_curate_load_labels(const char *path, int64_t expected, int32_t **labels, int *num_classes) {
  *labels = NULL;
  scan_array a;
  SCAN_TRY(scan_npy_read(path, &a));
  scan_status status = SCAN_OK;
  if (a.ndim != 1 || (a.dtype != SCAN_I64 && a.dtype != SCAN_I32 && a.dtype != SCAN_U8))
    status = scan_fail(SCAN_ERR_INPUT, "%s: labels must be a 1-D integer array (int64, int32 or uint8)", path);
  else if (a.shape[0] != expected)
    status = scan_fail(SCAN_ERR_INPUT, "%s: %lld labels, but the features have %lld rows", path, (long long)a.shape[0],
                       (long long)expected);
  int32_t *out = NULL;
  if (status == SCAN_OK && !(out = scan_malloc(sizeof(int32_t) * (size_t)(expected > 0 ? expected : 1))))
    status = SCAN_ERR_INTERNAL;
  int largest = -1;
  for (int64_t i = 0; status == SCAN_OK && i < expected; i++) {
    int64_t v = a.dtype == SCAN_I64 ? ((const int64_t *)a.data)[i]
                : a.dtype == SCAN_I32 ? ((const int32_t *)a.data)[i]
                                      : ((const uint8_t *)a.data)[i];
    if (v < -1 || v > 1000000)
      status = scan_fail(SCAN_ERR_INPUT, "%s: label %lld of entry %lld is outside -1..1000000", path, (long long)v,
                         (long long)i);
    out[i] = (int32_t)v;
    if (v > largest) largest = (int)v;
  }
  if (status == SCAN_OK) {
    *labels = out;
    *num_classes = largest + 1;
  } else {
    free(out);
  }
  scan_array_free(&a);
  return status;
}
