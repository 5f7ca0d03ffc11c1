/* safetensors files: an 8-byte little-endian header length, a JSON header
 * {"name": {"dtype","shape","data_offsets"}, "__metadata__": {str: str}}, then the raw data.
 * Model weights use the reference PyTorch parameter names, so PyTorch can load them. */
#ifndef SCAN_SAFETENSORS_H
#define SCAN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "scan/error.h"
#include "scan/npy.h"

typedef struct {
  char name[160];
  scan_dtype dtype; /* F32, F64, I64, I32, U8 */
  int ndim;
  int64_t shape[8];
  const void *data;
  size_t nbytes;
} scan_tensor_view;

/* metadata: NULL, or pairs {key0, value0, key1, value1, ..., NULL}. Atomic write. */
scan_status scan_safetensors_write(const char *path, const scan_tensor_view *tensors, int count,
                                   const char *const *metadata);

typedef struct scan_safetensors scan_safetensors;
scan_status scan_safetensors_read(const char *path, scan_safetensors **out);
scan_status scan_safetensors_parse(const unsigned char *bytes, size_t size, const char *name, scan_safetensors **out);
int scan_safetensors_count(const scan_safetensors *f);
const scan_tensor_view *scan_safetensors_get(const scan_safetensors *f, int index);
const scan_tensor_view *scan_safetensors_find(const scan_safetensors *f, const char *name); /* NULL if absent */
const char *scan_safetensors_metadata(const scan_safetensors *f, const char *key);        /* NULL if absent */
void scan_safetensors_free(scan_safetensors *f);

#endif
