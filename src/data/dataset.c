/* scan_dataset_load: picks the reader for a dataset name, checks the split,
 * and names the result "<name>/<split>". Also the helpers every reader shares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "scan/atomic_file.h"

static const char *const two_splits[] = {"train", "test", NULL};
static const char *const stl_splits[] = {"train", "test", "unlabeled", "train+unlabeled", NULL};
static const char *const no_splits[] = {NULL};

typedef struct {
  const char *name;
  const char *const *splits;
  scan_status (*load)(scan_dataset *, const scan_dataset_spec *);
  int (*present)(const scan_dataset_spec *);
} dataset_format;

static const dataset_format formats[] = {
    {"fashion-mnist", two_splits, data_load_idx, data_idx_present},
    {"mnist", two_splits, data_load_idx, data_idx_present},
    {"cifar-10", two_splits, data_load_cifar, data_cifar_present},
    {"cifar-20", two_splits, data_load_cifar, data_cifar_present},
    {"cifar-100", two_splits, data_load_cifar, data_cifar_present},
    {"stl-10", stl_splits, data_load_stl, data_stl_present},
    {"folder", no_splits, data_load_files, NULL},
    {"list", no_splits, data_load_files, NULL},
    {"packed", no_splits, data_load_packed, NULL},
};

static const dataset_format *find_format(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
    if (strcmp(formats[i].name, name) == 0) return &formats[i];
  return NULL;
}

int scan_dataset_name_valid(const char *name) { return find_format(name) != NULL; }

const char *const *scan_dataset_splits(const char *name) {
  const dataset_format *f = find_format(name);
  return f ? f->splits : NULL;
}

/* Fills in the default root and split; fails on unknown names and splits. */
static scan_status resolve_spec(const scan_dataset_spec *spec, scan_dataset_spec *resolved, const dataset_format **fmt) {
  *resolved = *spec;
  *fmt = find_format(spec->name);
  if (!*fmt)
    return scan_fail(SCAN_ERR_INPUT,
                     "unknown dataset '%s' (known: fashion-mnist, mnist, cifar-10, cifar-20, cifar-100, stl-10, folder, list, packed)",
                     spec->name ? spec->name : "(none)");
  if (!resolved->root || !resolved->root[0]) {
    if (strcmp(spec->name, "fashion-mnist") != 0)
      return scan_fail(SCAN_ERR_INPUT, "dataset %s needs a root %s (--root)", spec->name,
                       strcmp(spec->name, "list") == 0     ? "list file"
                       : strcmp(spec->name, "packed") == 0 ? "packed file"
                                                           : "directory");
    resolved->root = SCAN_DEFAULT_FASHION_MNIST_ROOT;
  }
  if ((*fmt)->splits[0] == NULL) {
    resolved->split = NULL;
    return SCAN_OK;
  }
  if (!resolved->split || !resolved->split[0]) resolved->split = "train";
  for (const char *const *s = (*fmt)->splits; *s; s++)
    if (strcmp(*s, resolved->split) == 0) return SCAN_OK;
  return scan_fail(SCAN_ERR_INPUT, "dataset %s has no split '%s'", spec->name, resolved->split);
}

scan_status scan_dataset_load(scan_dataset *out, const scan_dataset_spec *spec) {
  memset(out, 0, sizeof *out);
  scan_dataset_spec resolved;
  const dataset_format *fmt;
  SCAN_TRY(resolve_spec(spec, &resolved, &fmt));
  if (resolved.channels != 0 && resolved.channels != 1 && resolved.channels != 3)
    return scan_fail(SCAN_ERR_INPUT, "channels must be 1 or 3, got %d", resolved.channels);
  if (resolved.image_size < 0 || resolved.image_size > 16384)
    return scan_fail(SCAN_ERR_INPUT, "image size must be in 0..16384, got %d", resolved.image_size);
  scan_status st = fmt->load(out, &resolved);
  if (st != SCAN_OK) {
    scan_dataset_free(out);
    return st;
  }
  snprintf(out->name, sizeof out->name, "%s%s%s", fmt->name, resolved.split ? "/" : "",
           resolved.split ? resolved.split : "");
  return SCAN_OK;
}

int scan_dataset_split_present(const scan_dataset_spec *spec) {
  scan_dataset_spec resolved;
  const dataset_format *fmt;
  if (resolve_spec(spec, &resolved, &fmt) != SCAN_OK) return 0;
  if (!fmt->present) return scan_file_exists(resolved.root);
  return fmt->present(&resolved);
}

static void free_strings(char **strings, long n) {
  if (!strings) return;
  for (long i = 0; i < n; i++) free(strings[i]);
  free(strings);
}

void scan_dataset_free(scan_dataset *d) {
  if (!d) return;
  free(d->pixels);
  data_source_free(d->source);
  free(d->labels);
  free_strings(d->class_names, d->num_classes);
  free_strings(d->file_names, d->count);
  memset(d, 0, sizeof *d);
}

/* ---- helpers shared by the readers ---- */

int data_find_file(const char *root, const char *subdir, const char *name, char *out, size_t out_size) {
  char first[SCAN_PATH_MAX];
  if (scan_path_format(first, sizeof first, "%s/%s/%s", root, subdir, name) != SCAN_OK) return -1;
  if (scan_file_exists(first)) return scan_path_format(out, out_size, "%s", first) == SCAN_OK ? 1 : -1;
  if (scan_path_join(out, out_size, root, name) != SCAN_OK) return -1;
  if (scan_file_exists(out)) return 1;
  return scan_path_format(out, out_size, "%s", first) == SCAN_OK ? 0 : -1;
}

scan_status data_alloc_images(scan_dataset *d, long count, int height, int width, int channels, int labelled) {
  if (count <= 0 || count > 0x7fffffffL) return scan_fail(SCAN_ERR_INPUT, "%ld images is not a usable dataset size", count);
  d->count = (int)count;
  d->height = height;
  d->width = width;
  d->channels = channels;
  d->pixels = scan_malloc((unsigned long)count * (unsigned long)height * (unsigned long)width * (unsigned long)channels);
  if (!d->pixels) return SCAN_ERR_INTERNAL;
  if (labelled) {
    d->labels = scan_malloc((unsigned long)count * sizeof(int32_t));
    if (!d->labels) return SCAN_ERR_INTERNAL;
  }
  return SCAN_OK;
}

scan_status data_set_class_names(scan_dataset *d, const char *const *names, int n) {
  d->class_names = scan_calloc((unsigned long)n, sizeof(char *));
  if (!d->class_names) return SCAN_ERR_INTERNAL;
  d->num_classes = n;
  for (int i = 0; i < n; i++) {
    d->class_names[i] = strdup(names[i]);
    if (!d->class_names[i]) return scan_fail(SCAN_ERR_INTERNAL, "out of memory copying class names");
  }
  return SCAN_OK;
}

scan_status data_set_numbered_class_names(scan_dataset *d, int n) {
  d->class_names = scan_calloc((unsigned long)n, sizeof(char *));
  if (!d->class_names) return SCAN_ERR_INTERNAL;
  d->num_classes = n;
  char text[16];
  for (int i = 0; i < n; i++) {
    snprintf(text, sizeof text, "%d", i);
    d->class_names[i] = strdup(text);
    if (!d->class_names[i]) return scan_fail(SCAN_ERR_INTERNAL, "out of memory copying class names");
  }
  return SCAN_OK;
}

scan_status data_read_text(const char *path, const char *what, unsigned char **text, size_t *size) {
  SCAN_TRY(scan_read_file(path, text, size));
  if (memchr(*text, 0, *size)) {
    free(*text);
    *text = NULL;
    return scan_fail(SCAN_ERR_INPUT, "%s: not %s", path, what);
  }
  return SCAN_OK;
}

scan_status data_read_class_names(scan_dataset *d, const char *path, int expected) {
  unsigned char *text;
  size_t size;
  SCAN_TRY(data_read_text(path, "a text file of class names", &text, &size));
  const char *names[256];
  int n = 0; /* non-empty lines seen; only the first 256 are kept */
  for (char *line = strtok((char *)text, "\r\n"); line; line = strtok(NULL, "\r\n")) {
    /* Trim trailing blanks: the CIFAR meta files pad lines. */
    size_t len = strlen(line);
    while (len && (line[len - 1] == ' ' || line[len - 1] == '\t')) line[--len] = 0;
    if (!len) continue;
    if (n < (int)(sizeof names / sizeof names[0])) names[n] = line;
    n++;
  }
  scan_status st;
  if (n != expected)
    st = scan_fail(SCAN_ERR_INPUT, "%s: expected %d class names, found %d", path, expected, n);
  else
    st = data_set_class_names(d, names, n);
  free(text);
  return st;
}
