/* Packed datasets (scan data pack): one file holding a dataset's decoded images, so that a large folder is decoded
 * once instead of every epoch. Layout, in the writing machine's byte order (checked by a marker):
 *   "SCANPACK", u32 version (1), u32 byte-order marker 0x01020304,
 *   u32 count, height, width, channels, num_classes, flags (1 = labels, 2 = file names), u64 data offset,
 *   [labels: count x i32], class names and [file names]: each u32 length then its bytes,
 *   zeros up to the data offset (a multiple of 4096), then count images of height x width x channels bytes (HWC).
 * Every error names the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data_internal.h"
#include "scan/atomic_file.h"

enum { HEADER_BYTES = 48, VERSION = 1, ALIGN = 4096, FLAG_LABELS = 1, FLAG_NAMES = 2, NAME_MAX_BYTES = 4096 };
static const char magic[8] = {'S', 'C', 'A', 'N', 'P', 'A', 'C', 'K'};
static const uint32_t byte_order = 0x01020304u;

static int write_u32(FILE *f, uint32_t v) { return fwrite(&v, sizeof v, 1, f) == 1; }

static int write_string(FILE *f, const char *text) {
  uint32_t n = (uint32_t)strlen(text);
  return write_u32(f, n) && fwrite(text, 1, n, f) == n;
}

static unsigned long long names_bytes(char **names, long n) {
  unsigned long long total = 0;
  for (long i = 0; names && i < n; i++) total += 4 + strlen(names[i] ? names[i] : "");
  return total;
}

scan_status scan_dataset_pack(const scan_dataset *d, const char *path) {
  if (d->count <= 0) return scan_fail(SCAN_ERR_INPUT, "%s: nothing to pack (the dataset is empty)", path);
  const int labelled = d->labels != NULL, named = d->file_names != NULL;
  unsigned long long offset = HEADER_BYTES + (labelled ? 4ull * (unsigned long long)d->count : 0) +
                              names_bytes(d->class_names, d->num_classes) +
                              (named ? names_bytes(d->file_names, d->count) : 0);
  offset = (offset + ALIGN - 1) / ALIGN * ALIGN;
  const size_t bytes = scan_dataset_image_bytes(d);
  uint8_t *scratch = scan_malloc(bytes);
  if (!scratch) return SCAN_ERR_INTERNAL;
  scan_atomic_file af;
  scan_status st = scan_atomic_open(&af, path);
  if (st != SCAN_OK) {
    free(scratch);
    return st;
  }
  FILE *f = af.file;
  uint32_t fields[6] = {(uint32_t)d->count, (uint32_t)d->height, (uint32_t)d->width, (uint32_t)d->channels,
                        (uint32_t)d->num_classes, (uint32_t)((labelled ? FLAG_LABELS : 0) | (named ? FLAG_NAMES : 0))};
  int ok = fwrite(magic, 1, sizeof magic, f) == sizeof magic && write_u32(f, VERSION) && write_u32(f, byte_order) &&
           fwrite(fields, sizeof fields[0], 6, f) == 6 && fwrite(&offset, sizeof offset, 1, f) == 1;
  if (ok && labelled) ok = fwrite(d->labels, sizeof *d->labels, (size_t)d->count, f) == (size_t)d->count;
  for (int k = 0; ok && k < d->num_classes; k++)
    ok = write_string(f, d->class_names && d->class_names[k] ? d->class_names[k] : "");
  for (long i = 0; ok && named && i < d->count; i++) ok = write_string(f, d->file_names[i] ? d->file_names[i] : "");
  for (long at = ftell(f); ok && at < (long)offset; at++) ok = fputc(0, f) != EOF;
  for (long i = 0; ok && st == SCAN_OK && i < d->count; i++) {
    const uint8_t *image;
    st = scan_dataset_read(d, i, scratch, &image);
    if (st == SCAN_OK) ok = fwrite(image, 1, bytes, f) == bytes;
  }
  free(scratch);
  if (st != SCAN_OK) {
    scan_atomic_abort(&af);
    return st;
  }
  if (!ok) return scan_atomic_fail(&af);
  return scan_atomic_commit(&af);
}

/* ---- reading ---- */

typedef struct {
  const unsigned char *data;
  size_t size, at;
  const char *path;
} cursor;

static scan_status take(cursor *c, void *out, size_t n, const char *what) {
  if (n > c->size - c->at) return scan_fail(SCAN_ERR_INPUT, "%s: not a packed dataset: truncated in %s", c->path, what);
  memcpy(out, c->data + c->at, n);
  c->at += n;
  return SCAN_OK;
}

static scan_status take_strings(cursor *c, char **out, long n, const char *what) {
  for (long i = 0; i < n; i++) {
    uint32_t len = 0;
    SCAN_TRY(take(c, &len, sizeof len, what));
    if (len > NAME_MAX_BYTES) return scan_fail(SCAN_ERR_INPUT, "%s: %s entry %ld is %u bytes long", c->path, what, i, len);
    out[i] = scan_malloc(len + 1u);
    if (!out[i]) return SCAN_ERR_INTERNAL;
    SCAN_TRY(take(c, out[i], len, what));
    out[i][len] = '\0';
    if (strlen(out[i]) != len) return scan_fail(SCAN_ERR_INPUT, "%s: %s entry %ld holds a NUL byte", c->path, what, i);
  }
  return SCAN_OK;
}

static scan_status read_header(scan_dataset *out, int fd, const char *path, size_t file_size, unsigned long long *offset) {
  unsigned char head[HEADER_BYTES];
  if (file_size < HEADER_BYTES) return scan_fail(SCAN_ERR_INPUT, "%s: not a packed dataset (too short)", path);
  SCAN_TRY(scan_read_exact(fd, path, head, sizeof head));
  uint32_t version, order, fields[6];
  memcpy(&version, head + 8, 4);
  memcpy(&order, head + 12, 4);
  memcpy(fields, head + 16, sizeof fields);
  memcpy(offset, head + 40, 8);
  if (memcmp(head, magic, sizeof magic) != 0)
    return scan_fail(SCAN_ERR_INPUT, "%s: not a packed dataset (written by scan data pack)", path);
  if (order != byte_order) return scan_fail(SCAN_ERR_INPUT, "%s: packed on a machine of the other byte order", path);
  if (version != VERSION) return scan_fail(SCAN_ERR_INPUT, "%s: packed dataset version %u (this scan reads 1)", path, version);
  const uint32_t count = fields[0], h = fields[1], w = fields[2], c = fields[3], classes = fields[4], flags = fields[5];
  if (count == 0 || count > 0x7fffffffu || h == 0 || w == 0 || h > 65536 || w > 65536 || (c != 1 && c != 3) ||
      classes > 100000 || (flags & ~3u))
    return scan_fail(SCAN_ERR_INPUT, "%s: packed dataset header is damaged (%u images of %ux%ux%u, %u classes)", path,
                     count, w, h, c, classes);
  out->count = (int)count;
  out->height = (int)h;
  out->width = (int)w;
  out->channels = (int)c;
  const unsigned long long images = (unsigned long long)count * h * w * c;
  if (*offset < HEADER_BYTES || *offset > file_size || file_size - *offset != images)
    return scan_fail(SCAN_ERR_INPUT, "%s: packed dataset is %zu bytes, expected %llu (%u images of %ux%ux%u); truncated?",
                     path, file_size, *offset + images, count, w, h, c);
  unsigned char *meta = scan_malloc(*offset - HEADER_BYTES);
  if (!meta) return SCAN_ERR_INTERNAL;
  scan_status st = scan_read_exact(fd, path, meta, *offset - HEADER_BYTES);
  cursor cur = {meta, *offset - HEADER_BYTES, 0, path};
  if (st == SCAN_OK && (flags & FLAG_LABELS)) {
    out->labels = scan_malloc(sizeof(int32_t) * count);
    st = out->labels ? take(&cur, out->labels, sizeof(int32_t) * count, "labels") : SCAN_ERR_INTERNAL;
    for (uint32_t i = 0; st == SCAN_OK && i < count; i++)
      if (out->labels[i] < -1 || out->labels[i] >= (int32_t)classes)
        st = scan_fail(SCAN_ERR_INPUT, "%s: image %u has label %d, outside -1..%u", path, i, out->labels[i], classes - 1);
  }
  if (st == SCAN_OK && classes) {
    out->class_names = scan_calloc(classes, sizeof(char *));
    out->num_classes = (int)classes;
    st = out->class_names ? take_strings(&cur, out->class_names, classes, "class names") : SCAN_ERR_INTERNAL;
  }
  if (st == SCAN_OK && (flags & FLAG_NAMES)) {
    out->file_names = scan_calloc(count, sizeof(char *));
    st = out->file_names ? take_strings(&cur, out->file_names, count, "file names") : SCAN_ERR_INTERNAL;
  }
  free(meta);
  return st;
}

scan_status data_load_packed(scan_dataset *out, const scan_dataset_spec *spec) {
  int fd;
  size_t size;
  SCAN_TRY(scan_open_regular(spec->root, &fd, &size));
  unsigned long long offset = 0;
  scan_status st = read_header(out, fd, spec->root, size, &offset);
  const double bytes = (double)out->count * (double)scan_dataset_image_bytes(out);
  if (st == SCAN_OK && (spec->streaming == SCAN_STREAM_ON ||
                        (spec->streaming == SCAN_STREAM_AUTO && bytes > (double)data_cache_budget(spec))))
    return data_source_open_packed(out, fd, spec->root, offset); /* takes fd */
  if (st == SCAN_OK) { /* in memory: read the images whole */
    out->pixels = scan_malloc((unsigned long)bytes);
    st = out->pixels ? scan_read_exact(fd, spec->root, out->pixels, (size_t)bytes) : SCAN_ERR_INTERNAL;
  }
  close(fd);
  return st;
}
