/* NumPy .npy arrays (format version 1.0/2.0, little-endian, C order). */
#ifndef SCAN_NPY_H
#define SCAN_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "scan/error.h"

/* The types up to SCAN_U8 are also safetensors' (F32 ... U8); the narrower and unsigned integers after it are
   read from .npy only, so that label arrays of any integer dtype load (scan metrics). */
typedef enum { SCAN_F32, SCAN_F64, SCAN_I64, SCAN_I32, SCAN_U8, SCAN_I8, SCAN_I16, SCAN_U16, SCAN_U32, SCAN_U64 } scan_dtype;
#define SCAN_DTYPE_LAST SCAN_U64

typedef struct {
  scan_dtype dtype;
  int ndim;          /* 0..8 */
  int64_t shape[8];
  void *data;        /* owned by the array when read with scan_npy_read */
} scan_array;

int64_t scan_array_count(const scan_array *a);   /* product of shape */
int scan_dtype_size(scan_dtype t);
/* Atomic write (temporary file, then rename). */
scan_status scan_npy_write(const char *path, const scan_array *a);
/* Reads and validates the header (magic, version, dtype, order, shape against file size). */
scan_status scan_npy_read(const char *path, scan_array *out);
/* Same, from a buffer already in memory (used by the fuzz target). `name` is for messages. */
scan_status scan_npy_parse(const unsigned char *bytes, size_t size, const char *name, scan_array *out);
void scan_array_free(scan_array *a);
/* Element i of an integer array as int64 (a uint64 above INT64_MAX comes back negative, so range checks catch it);
   0 for float arrays. */
int64_t scan_array_int(const scan_array *a, int64_t i);
int scan_dtype_is_integer(scan_dtype t);

#endif
