/* Cluster ids, class ids and probabilities read from files that came from anywhere, for `scan metrics`:
 * NumPy arrays of any integer dtype (probabilities float32/float64), or CSV. Every problem names the file
 * (and the line or element), so a person can find the bad value. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/csv.h"
#include "scan/metrics.h"
#include "scan/npy.h"

enum { MAX_FIELDS = 4096 };

static int has_suffix(const char *path, const char *suffix) {
  size_t n = strlen(path), m = strlen(suffix);
  return n >= m && strcmp(path + n - m, suffix) == 0;
}

static scan_status check_id(const char *path, const char *where, int64_t index, int64_t value, int32_t *out) {
  if (value < 0)
    return scan_fail(SCAN_ERR_INPUT, "%s: %s %lld is negative (%lld); ids must be 0, 1, 2, ...", path, where,
                     (long long)index + 1, (long long)value);
  if (value > SCAN_MAX_LABEL_ID)
    return scan_fail(SCAN_ERR_INPUT, "%s: %s %lld is %lld; ids above %d are not supported (renumber them 0, 1, 2, ...)",
                     path, where, (long long)index + 1, (long long)value, SCAN_MAX_LABEL_ID);
  *out = (int32_t)value;
  return SCAN_OK;
}

static scan_status ids_from_npy(const char *path, int32_t **ids, int64_t *n) {
  scan_array a;
  SCAN_TRY(scan_npy_read(path, &a));
  scan_status st = SCAN_OK;
  if (!scan_dtype_is_integer(a.dtype))
    st = scan_fail(SCAN_ERR_INPUT, "%s: ids must be an integer array, not floating point", path);
  else if (!(a.ndim == 1 || (a.ndim == 2 && a.shape[1] == 1)))
    st = scan_fail(SCAN_ERR_INPUT, "%s: ids must be one-dimensional (shape [n] or [n, 1]), got %d dimensions", path, a.ndim);
  int64_t count = st == SCAN_OK ? a.shape[0] : 0;
  if (st == SCAN_OK && count == 0) st = scan_fail(SCAN_ERR_INPUT, "%s: the array is empty", path);
  int32_t *out = st == SCAN_OK ? scan_malloc(sizeof(int32_t) * (size_t)count) : NULL;
  if (st == SCAN_OK && !out) st = SCAN_ERR_INTERNAL;
  for (int64_t i = 0; st == SCAN_OK && i < count; i++) st = check_id(path, "element", i, scan_array_int(&a, i), &out[i]);
  scan_array_free(&a);
  if (st != SCAN_OK) {
    free(out);
    return st;
  }
  *ids = out;
  *n = count;
  return SCAN_OK;
}

/* A growing array of the values read so far. */
typedef struct {
  void *items;
  int64_t count, capacity;
  size_t item_size;
} growing;

static scan_status grow_push(growing *g, const void *item, const char *path) {
  if (g->count == g->capacity) {
    int64_t capacity = g->capacity ? 2 * g->capacity : 1024;
    void *bigger = scan_realloc(g->items, (size_t)capacity * g->item_size);
    if (!bigger) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path);
    g->items = bigger;
    g->capacity = capacity;
  }
  memcpy((char *)g->items + (size_t)g->count * g->item_size, item, g->item_size);
  g->count++;
  return SCAN_OK;
}

static int parse_integer(const char *text, int64_t *value) {
  while (isspace((unsigned char)*text)) text++;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || end == text) return 0;
  while (isspace((unsigned char)*end)) end++;
  if (*end) return 0;
  *value = v;
  return 1;
}

static int parse_number(const char *text, double *value) {
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text) return 0;
  while (isspace((unsigned char)*end)) end++;
  if (*end) return 0;
  *value = v;
  return 1;
}

static int blank_line(const char *line) {
  while (isspace((unsigned char)*line)) line++;
  return *line == '\0' || *line == '#';
}

/* A CSV file read whole (RFC 4180, so a quoted field may hold a line break), blank records and '#' comments
   skipped. */
typedef struct {
  const char *path;
  unsigned char *text;
  scan_csv_reader csv;
  char *fields[MAX_FIELDS];
  int count;  /* fields in the record last read */
  long number; /* line on which that record starts, for messages */
} record_reader;

static scan_status reader_open(record_reader *r, const char *path) {
  r->path = path;
  size_t size = 0;
  SCAN_TRY(scan_read_file_max(path, SCAN_CSV_MAX_BYTES, "a CSV file", &r->text, &size));
  scan_csv_begin(&r->csv, (char *)r->text);
  return SCAN_OK;
}

static void reader_close(record_reader *r) { free(r->text); }

/* The next record that holds something: 1, with its fields in r->fields; 0 at the end; -1 with *st set when
   a quoted field is not closed. */
static int reader_next(record_reader *r, scan_status *st) {
  int count;
  while ((count = scan_csv_next(&r->csv, r->fields, MAX_FIELDS)) > 0) {
    r->number = r->csv.line;
    r->count = count < MAX_FIELDS ? count : MAX_FIELDS;
    if (!blank_line(r->fields[0]) || (count > 1 && !strchr(r->fields[0], '#'))) return 1;
  }
  if (count < 0) {
    *st = scan_fail(SCAN_ERR_INPUT, "%s:%ld: a quoted field is not closed before the end of the file", r->path,
                    r->csv.line);
    return -1;
  }
  return 0;
}

/* The CSV's column: a one-column file is that column; with several, the first line must be a header that
   names `column`. *header_lines = 1 when the first line is a header. */
static scan_status pick_column(const char *path, char **fields, int count, const char *column, int *index,
                               int *header_lines) {
  int64_t value;
  *header_lines = !parse_integer(fields[0], &value);
  *index = 0;
  if (count == 1) return SCAN_OK;
  if (!*header_lines)
    return scan_fail(SCAN_ERR_INPUT, "%s: %d columns but no header line naming them (expected a column '%s')", path,
                     count, column);
  for (int i = 0; i < count; i++)
    if (strcmp(fields[i], column) == 0) {
      *index = i;
      return SCAN_OK;
    }
  return scan_fail(SCAN_ERR_INPUT, "%s: no column '%s' in its header", path, column);
}

static scan_status ids_from_csv(const char *path, const char *column, int32_t **ids, int64_t *n) {
  record_reader r;
  SCAN_TRY(reader_open(&r, path));
  growing values = {NULL, 0, 0, sizeof(int32_t)};
  int column_index = -1;
  scan_status st = SCAN_OK;
  while (st == SCAN_OK && reader_next(&r, &st) == 1) {
    if (column_index < 0) {
      int header = 0;
      st = pick_column(path, r.fields, r.count, column, &column_index, &header);
      if (header || st != SCAN_OK) continue;
    }
    char **fields = r.fields;
    int count = r.count;
    int64_t value;
    int32_t id = 0;
    if (column_index >= count || !parse_integer(fields[column_index], &value))
      st = scan_fail(SCAN_ERR_INPUT, "%s:%ld: '%s' is not an integer id", path, r.number,
                     column_index < count ? fields[column_index] : "(missing field)");
    else if ((st = check_id(path, "line", r.number - 1, value, &id)) == SCAN_OK)
      st = grow_push(&values, &id, path);
  }
  reader_close(&r);
  if (st == SCAN_OK && values.count == 0) st = scan_fail(SCAN_ERR_INPUT, "%s: no ids in the file", path);
  if (st != SCAN_OK) {
    free(values.items);
    return st;
  }
  *ids = values.items;
  *n = values.count;
  return SCAN_OK;
}

scan_status scan_label_file_read(const char *path, const char *column, int32_t **ids, int64_t *n) {
  *ids = NULL;
  *n = 0;
  if (!scan_file_exists(path)) return scan_fail(SCAN_ERR_INPUT, "%s: no such file", path);
  return has_suffix(path, ".npy") ? ids_from_npy(path, ids, n) : ids_from_csv(path, column, ids, n);
}

static scan_status check_probability(const char *path, int64_t row, double value) {
  if (!(value >= 0 && value <= 1 + 1e-6))
    return scan_fail(SCAN_ERR_INPUT, "%s: row %lld holds %g, not a probability in [0, 1]", path, (long long)row + 1, value);
  return SCAN_OK;
}

static scan_status probs_from_npy(const char *path, float **probs, int64_t *n, int *k) {
  scan_array a;
  SCAN_TRY(scan_npy_read(path, &a));
  scan_status st = SCAN_OK;
  if (a.dtype != SCAN_F32 && a.dtype != SCAN_F64)
    st = scan_fail(SCAN_ERR_INPUT, "%s: probabilities must be float32 or float64", path);
  else if (a.ndim != 2 || a.shape[0] < 1 || a.shape[1] < 1 || a.shape[1] > SCAN_MAX_LABEL_ID + 1)
    st = scan_fail(SCAN_ERR_INPUT, "%s: probabilities must be a [n, clusters] array", path);
  int64_t count = st == SCAN_OK ? scan_array_count(&a) : 0;
  float *out = st == SCAN_OK ? scan_malloc(sizeof(float) * (size_t)count) : NULL;
  if (st == SCAN_OK && !out) st = SCAN_ERR_INTERNAL;
  for (int64_t i = 0; st == SCAN_OK && i < count; i++) {
    double v = a.dtype == SCAN_F32 ? ((const float *)a.data)[i] : ((const double *)a.data)[i];
    st = check_probability(path, i / a.shape[1], v);
    out[i] = (float)v;
  }
  if (st == SCAN_OK) {
    *probs = out;
    *n = a.shape[0];
    *k = (int)a.shape[1];
  } else {
    free(out);
  }
  scan_array_free(&a);
  return st;
}

static scan_status probs_from_csv(const char *path, float **probs, int64_t *n, int *k) {
  record_reader r;
  SCAN_TRY(reader_open(&r, path));
  growing values = {NULL, 0, 0, sizeof(float)};
  int columns = 0;
  int64_t rows = 0;
  scan_status st = SCAN_OK;
  while (st == SCAN_OK && reader_next(&r, &st) == 1) {
    char **fields = r.fields;
    int count = r.count;
    double value;
    if (rows == 0 && columns == 0 && !parse_number(fields[0], &value)) continue; /* a header */
    if (columns == 0) columns = count;
    if (count != columns) {
      st = scan_fail(SCAN_ERR_INPUT, "%s:%ld: %d values, but the first row has %d", path, r.number, count, columns);
      break;
    }
    for (int c = 0; st == SCAN_OK && c < count; c++) {
      if (!parse_number(fields[c], &value)) {
        st = scan_fail(SCAN_ERR_INPUT, "%s:%ld: '%s' is not a number", path, r.number, fields[c]);
        break;
      }
      float v = (float)value;
      st = check_probability(path, rows, value);
      if (st == SCAN_OK) st = grow_push(&values, &v, path);
    }
    rows++;
  }
  reader_close(&r);
  if (st == SCAN_OK && rows == 0) st = scan_fail(SCAN_ERR_INPUT, "%s: no probabilities in the file", path);
  if (st != SCAN_OK) {
    free(values.items);
    return st;
  }
  *probs = values.items;
  *n = rows;
  *k = columns;
  return SCAN_OK;
}

scan_status scan_prob_file_read(const char *path, float **probs, int64_t *n, int *k) {
  *probs = NULL;
  *n = 0;
  *k = 0;
  if (!scan_file_exists(path)) return scan_fail(SCAN_ERR_INPUT, "%s: no such file", path);
  return has_suffix(path, ".npy") ? probs_from_npy(path, probs, n, k) : probs_from_csv(path, probs, n, k);
}
