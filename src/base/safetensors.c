/* safetensors reader and writer.
 * Layout: u64 little-endian N, N bytes of JSON header (space-padded), then the data section.
 * Each header entry gives dtype, shape and data_offsets [begin, end) relative to the data section. */
#include "scan/safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"

/* The reference library refuses headers over 100 MB; so do we, before trusting N. */
#define SAFETENSORS_MAX_HEADER (100u * 1000u * 1000u)

struct scan_safetensors {
  scan_tensor_view *tensors;
  int count;
  char **metadata; /* key0, value0, key1, value1, ... */
  int metadata_count;
  unsigned char *data;  /* copy of the data section: malloc alignment suits every dtype */
  void **owned_copies;  /* tensors whose offset is not a multiple of their element size get an aligned copy */
  int owned_count;
};

static const char *const dtype_names[] = {"F32", "F64", "I64", "I32", "U8"};

/* ---- writing ---- */

scan_status scan_safetensors_write(const char *path, const scan_tensor_view *tensors, int count,
                                   const char *const *metadata) {
  cJSON *root = cJSON_CreateObject();
  if (!root) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path);
  scan_status st = SCAN_OK;
  if (metadata && metadata[0]) {
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    for (int i = 0; meta && metadata[i]; i += 2) {
      if (!metadata[i + 1]) {
        st = scan_fail(SCAN_ERR_INTERNAL, "%s: metadata key '%s' has no value", path, metadata[i]);
        break;
      }
      cJSON_AddStringToObject(meta, metadata[i], metadata[i + 1]);
    }
  }
  uint64_t offset = 0;
  for (int i = 0; i < count && st == SCAN_OK; i++) {
    const scan_tensor_view *t = &tensors[i];
    uint64_t expected = (uint64_t)scan_dtype_size(t->dtype);
    for (int d = 0; d < t->ndim; d++) expected *= (uint64_t)t->shape[d];
    if ((unsigned)t->dtype > SCAN_U8 || t->ndim < 0 || t->ndim > 8 || expected != t->nbytes) {
      st = scan_fail(SCAN_ERR_INTERNAL, "%s: tensor '%s' has %zu bytes, its dtype and shape need %llu", path, t->name,
                     t->nbytes, (unsigned long long)expected);
      break;
    }
    if (cJSON_GetObjectItemCaseSensitive(root, t->name)) {
      st = scan_fail(SCAN_ERR_INTERNAL, "%s: tensor name '%s' appears twice", path, t->name);
      break;
    }
    cJSON *entry = cJSON_AddObjectToObject(root, t->name);
    cJSON_AddStringToObject(entry, "dtype", dtype_names[t->dtype]);
    cJSON *shape = cJSON_AddArrayToObject(entry, "shape");
    for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
    cJSON *offsets = cJSON_AddArrayToObject(entry, "data_offsets");
    cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)offset));
    cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)(offset + t->nbytes)));
    offset += t->nbytes;
  }
  char *json = st == SCAN_OK ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  if (st != SCAN_OK) return st;
  if (!json) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory building the header", path);

  /* Pad the header with spaces so the data section starts 8-byte aligned, as the reference writer does. */
  size_t json_len = strlen(json);
  size_t header_len = (json_len + 7) / 8 * 8;
  unsigned char prefix[8];
  for (int i = 0; i < 8; i++) prefix[i] = (unsigned char)((uint64_t)header_len >> (8 * i));
  static const char spaces[8] = "        ";

  scan_atomic_file af;
  st = scan_atomic_open(&af, path);
  if (st != SCAN_OK) {
    free(json);
    return st;
  }
  int ok = fwrite(prefix, 1, 8, af.file) == 8 && fwrite(json, 1, json_len, af.file) == json_len &&
           fwrite(spaces, 1, header_len - json_len, af.file) == header_len - json_len;
  free(json);
  for (int i = 0; ok && i < count; i++)
    if (tensors[i].nbytes) ok = fwrite(tensors[i].data, 1, tensors[i].nbytes, af.file) == tensors[i].nbytes;
  if (!ok) {
    return scan_atomic_fail(&af);
  }
  return scan_atomic_commit(&af);
}

/* ---- reading ---- */

void scan_safetensors_free(scan_safetensors *f) {
  if (!f) return;
  for (int i = 0; i < f->metadata_count * 2; i++) free(f->metadata[i]);
  for (int i = 0; i < f->owned_count; i++) free(f->owned_copies[i]);
  free(f->metadata);
  free(f->owned_copies);
  free(f->tensors);
  free(f->data);
  free(f);
}

/* A JSON number that is a whole number in [0, limit]. cJSON stores numbers as doubles,
 * which is exact for every offset below 2^53. */
static int json_whole(const cJSON *item, double limit, uint64_t *out) {
  if (!cJSON_IsNumber(item)) return 0;
  double v = item->valuedouble;
  if (!(v >= 0 && v <= limit) || floor(v) != v) return 0;
  *out = (uint64_t)v;
  return 1;
}

static scan_status parse_metadata(scan_safetensors *f, const cJSON *meta, const char *name) {
  if (!cJSON_IsObject(meta)) return scan_fail(SCAN_ERR_INPUT, "%s: safetensors __metadata__ is not an object", name);
  int n = cJSON_GetArraySize(meta);
  f->metadata = scan_calloc((unsigned long)n * 2 + 1, sizeof(char *));
  if (!f->metadata) return SCAN_ERR_INTERNAL;
  const cJSON *item;
  cJSON_ArrayForEach(item, meta) {
    if (!cJSON_IsString(item))
      return scan_fail(SCAN_ERR_INPUT, "%s: safetensors metadata '%s' is not a string", name, item->string);
    char *k = strdup(item->string), *v = strdup(item->valuestring);
    f->metadata[f->metadata_count * 2] = k;
    f->metadata[f->metadata_count * 2 + 1] = v;
    f->metadata_count++;
    if (!k || !v) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", name);
  }
  return SCAN_OK;
}

static scan_status parse_entry(scan_safetensors *f, const cJSON *entry, const unsigned char *data, uint64_t data_size,
                               const char *name) {
  const char *tname = entry->string;
  if (!cJSON_IsObject(entry)) return scan_fail(SCAN_ERR_INPUT, "%s: safetensors entry '%s' is not an object", name, tname);
  scan_tensor_view *t = &f->tensors[f->count];
  memset(t, 0, sizeof *t);
  if (strlen(tname) >= sizeof t->name)
    return scan_fail(SCAN_ERR_INPUT, "%s: safetensors tensor name '%.40s...' is longer than %zu bytes", name, tname,
                     sizeof t->name - 1);
  strcpy(t->name, tname);

  const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
  if (!cJSON_IsString(dtype)) return scan_fail(SCAN_ERR_INPUT, "%s: tensor '%s' has no dtype", name, tname);
  int found = 0;
  for (int d = 0; d <= SCAN_U8; d++) {
    if (strcmp(dtype->valuestring, dtype_names[d]) == 0) {
      t->dtype = (scan_dtype)d;
      found = 1;
    }
  }
  if (!found)
    return scan_fail(SCAN_ERR_INPUT, "%s: tensor '%s' has unsupported dtype '%s' (supported: F32 F64 I64 I32 U8)",
                     name, tname, dtype->valuestring);

  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
  if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > 8)
    return scan_fail(SCAN_ERR_INPUT, "%s: tensor '%s' needs a shape array of at most 8 dimensions", name, tname);
  uint64_t elements = 1;
  const cJSON *dim;
  cJSON_ArrayForEach(dim, shape) {
    uint64_t v;
    /* Dimensions are bounded by the data section, so the product below cannot overflow before it is compared. */
    if (!json_whole(dim, (double)data_size + 1, &v))
      return scan_fail(SCAN_ERR_INPUT, "%s: tensor '%s' has an invalid shape entry", name, tname);
    t->shape[t->ndim++] = (int64_t)v;
    elements = (elements && v > (UINT64_MAX / elements)) ? UINT64_MAX : elements * v;
  }

  const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
  uint64_t begin, end;
  if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
      !json_whole(cJSON_GetArrayItem(offsets, 0), 9007199254740992.0, &begin) ||
      !json_whole(cJSON_GetArrayItem(offsets, 1), 9007199254740992.0, &end))
    return scan_fail(SCAN_ERR_INPUT, "%s: tensor '%s' needs data_offsets [begin, end]", name, tname);
  if (begin > end || end > data_size)
    return scan_fail(SCAN_ERR_INPUT,
                     "%s: tensor '%s' data_offsets [%llu, %llu] fall outside the %llu-byte data section", name, tname,
                     (unsigned long long)begin, (unsigned long long)end, (unsigned long long)data_size);
  uint64_t elem = (uint64_t)scan_dtype_size(t->dtype);
  if (elements > UINT64_MAX / elem || elements * elem != end - begin)
    return scan_fail(SCAN_ERR_INPUT, "%s: tensor '%s' has %llu bytes, its dtype and shape need %llu", name, tname,
                     (unsigned long long)(end - begin),
                     (unsigned long long)(elements > UINT64_MAX / elem ? UINT64_MAX : elements * elem));
  t->nbytes = (size_t)(end - begin);
  if (begin % elem == 0) {
    t->data = data + begin;
  } else {
    /* The format forbids holes, so a U8 tensor of odd size can misalign what follows; copy those. */
    void *copy = scan_malloc(t->nbytes);
    if (!copy) return SCAN_ERR_INTERNAL;
    memcpy(copy, data + begin, t->nbytes);
    f->owned_copies[f->owned_count++] = copy;
    t->data = copy;
  }
  f->count++;
  return SCAN_OK;
}

static scan_status parse_header(scan_safetensors *f, const cJSON *root, uint64_t data_size, const char *name) {
  if (!cJSON_IsObject(root)) return scan_fail(SCAN_ERR_INPUT, "%s: safetensors header is not a JSON object", name);
  int n = cJSON_GetArraySize(root);
  f->tensors = scan_calloc((unsigned long)n + 1, sizeof *f->tensors);
  f->owned_copies = scan_calloc((unsigned long)n + 1, sizeof *f->owned_copies);
  if (!f->tensors || !f->owned_copies) return SCAN_ERR_INTERNAL;
  const cJSON *entry;
  cJSON_ArrayForEach(entry, root) {
    if (strcmp(entry->string, "__metadata__") == 0) {
      if (f->metadata) return scan_fail(SCAN_ERR_INPUT, "%s: safetensors header repeats __metadata__", name);
      SCAN_TRY(parse_metadata(f, entry, name));
      continue;
    }
    if (scan_safetensors_find(f, entry->string))
      return scan_fail(SCAN_ERR_INPUT, "%s: safetensors tensor '%s' appears twice", name, entry->string);
    SCAN_TRY(parse_entry(f, entry, f->data, data_size, name));
  }
  return SCAN_OK;
}

scan_status scan_safetensors_parse(const unsigned char *bytes, size_t size, const char *name, scan_safetensors **out) {
  *out = NULL;
  if (size < 8) return scan_fail(SCAN_ERR_INPUT, "%s: not a safetensors file (%zu bytes, too short)", name, size);
  uint64_t header_len = 0;
  for (int i = 0; i < 8; i++) header_len |= (uint64_t)bytes[i] << (8 * i);
  if (header_len > SAFETENSORS_MAX_HEADER || header_len > size - 8)
    return scan_fail(SCAN_ERR_INPUT,
                     "%s: not a safetensors file or truncated (header length %llu, file has %zu bytes after it)", name,
                     (unsigned long long)header_len, size - 8);
  if (header_len < 2 || bytes[8] != '{')
    return scan_fail(SCAN_ERR_INPUT, "%s: not a safetensors file (header does not start with '{')", name);

  scan_safetensors *f = scan_calloc(1, sizeof *f);
  if (!f) return SCAN_ERR_INTERNAL;
  uint64_t data_size = size - 8 - header_len;
  f->data = scan_malloc((unsigned long)data_size);
  if (!f->data) {
    scan_safetensors_free(f);
    return SCAN_ERR_INTERNAL;
  }
  if (data_size) memcpy(f->data, bytes + 8 + header_len, (size_t)data_size);

  const char *parse_end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts((const char *)bytes + 8, (size_t)header_len, &parse_end, 0);
  scan_status st;
  if (!root) {
    long at = parse_end ? (long)(parse_end - (const char *)bytes - 8) : -1;
    st = scan_fail(SCAN_ERR_INPUT, "%s: safetensors header is not valid JSON (near header byte %ld)", name, at);
  } else {
    /* Only padding may follow the JSON object. */
    const char *end = (const char *)bytes + 8 + header_len;
    for (const char *p = parse_end; p && p < end; p++) {
      if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r' && *p != '\0') {
        cJSON_Delete(root);
        scan_safetensors_free(f);
        return scan_fail(SCAN_ERR_INPUT, "%s: safetensors header has text after the JSON object", name);
      }
    }
    st = parse_header(f, root, data_size, name);
    cJSON_Delete(root);
  }
  if (st != SCAN_OK) {
    scan_safetensors_free(f);
    return st;
  }
  *out = f;
  return SCAN_OK;
}

scan_status scan_safetensors_read(const char *path, scan_safetensors **out) {
  *out = NULL;
  unsigned char *bytes;
  size_t size;
  SCAN_TRY(scan_read_file(path, &bytes, &size));
  scan_status st = scan_safetensors_parse(bytes, size, path, out);
  free(bytes);
  return st;
}

int scan_safetensors_count(const scan_safetensors *f) { return f->count; }

const scan_tensor_view *scan_safetensors_get(const scan_safetensors *f, int index) {
  return (index >= 0 && index < f->count) ? &f->tensors[index] : NULL;
}

const scan_tensor_view *scan_safetensors_find(const scan_safetensors *f, const char *name) {
  for (int i = 0; i < f->count; i++)
    if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
  return NULL;
}

const char *scan_safetensors_metadata(const scan_safetensors *f, const char *key) {
  for (int i = 0; i < f->metadata_count; i++)
    if (strcmp(f->metadata[2 * i], key) == 0) return f->metadata[2 * i + 1];
  return NULL;
}
