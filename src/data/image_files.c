/* Loads a list of image files into one dataset (shared by the folder and list
 * readers): every image is decoded, converted to the wanted channel count and
 * resized to a common square size, or must already match the first image. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "data_internal.h"
#include "scan/image_io.h"
#include "scan/resample.h"

/* Physical memory, the bound for a dataset that is held in memory whole. */
static double physical_memory_bytes(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? (double)pages * (double)page : 1e18;
}

/* d->pixels for `count` images of d's size. Too large (a folder of big photos kept at their own size) is the
   user's input, not an internal failure: the message names the image that set the size and the option that
   shrinks it. */
static scan_status allocate_pixels(scan_dataset *d, long count, const char *first, int h, int w, int image_size) {
  double bytes = (double)count * d->height * d->width * d->channels, memory = physical_memory_bytes();
  if (bytes <= memory && (d->pixels = scan_malloc((size_t)bytes)) != NULL) return SCAN_OK;
  const double gib = 1024.0 * 1024 * 1024;
  if (!image_size)
    return scan_fail(SCAN_ERR_INPUT,
                     "%s: image too large to keep %ld images at its size %dx%d (%.1f GiB; this machine has %.1f GiB); give "
                     "an image size to resize them on load (--image-size N, or image_size: N in the config)",
                     first, count, w, h, bytes / gib, memory / gib);
  return scan_fail(SCAN_ERR_INPUT,
                   "%s: %ld images at image size %d need %.1f GiB (this machine has %.1f GiB); give a smaller image size "
                   "(--image-size N, or image_size: N in the config)",
                   first, count, image_size, bytes / gib, memory / gib);
}

scan_status data_fit_image(const char *path, const uint8_t *decoded, int h, int w, int c, int channels, uint8_t *dst,
                           int out_h, int out_w) {
  /* Channels first (at the source size), then resize into place. */
  size_t need = (size_t)h * (size_t)w * (size_t)channels;
  if (c == channels && h == out_h && w == out_w) {
    memcpy(dst, decoded, need);
    return SCAN_OK;
  }
  uint8_t *converted = scan_malloc(need);
  if (!converted) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path);
  scan_image_convert_channels(decoded, c, converted, channels, (long)h * w);
  if (h == out_h && w == out_w)
    memcpy(dst, converted, need);
  else
    scan_resample_bilinear_u8(converted, h, w, channels, 0, 0, h, w, dst, out_h, out_w, 1);
  free(converted);
  return SCAN_OK;
}

scan_status data_load_image_files(scan_dataset *d, const char *const *paths, const char *const *display_names,
                                  long count, int image_size, int channels) {
  if (channels == 0) channels = 3;
  d->file_names = scan_calloc((unsigned long)count, sizeof(char *));
  if (!d->file_names) return SCAN_ERR_INTERNAL;
  /* file_names has `count` entries from here on, so scan_dataset_free frees them. */
  d->count = (int)count;
  for (long i = 0; i < count; i++) {
    d->file_names[i] = strdup(display_names[i]);
    if (!d->file_names[i]) return scan_fail(SCAN_ERR_INTERNAL, "out of memory copying file names");
  }
  scan_status st = SCAN_OK;
  for (long i = 0; i < count && st == SCAN_OK; i++) {
    uint8_t *decoded;
    int h, w, c;
    st = scan_image_read(paths[i], &decoded, &h, &w, &c);
    if (st != SCAN_OK) break;
    if (i == 0) {
      int side_h = image_size ? image_size : h, side_w = image_size ? image_size : w;
      d->height = side_h;
      d->width = side_w;
      d->channels = channels;
      st = allocate_pixels(d, count, paths[0], h, w, image_size);
    } else if (!image_size && (h != d->height || w != d->width)) {
      st = scan_fail(SCAN_ERR_INPUT, "%s: image is %dx%d but %s is %dx%d; give an image size to resize them all", paths[i], w,
                     h, paths[0], d->width, d->height);
    }
    if (st == SCAN_OK)
      st = data_fit_image(paths[i], decoded, h, w, c, channels,
                          d->pixels + (size_t)i * (size_t)d->height * (size_t)d->width * (size_t)channels, d->height,
                          d->width);
    free(decoded);
  }
  return st;
}

void scan_image_files_free(scan_image_files *f) {
  for (long i = 0; i < f->count; i++) {
    if (f->paths) free(f->paths[i]);
    if (f->names) free(f->names[i]);
  }
  for (int k = 0; f->class_names && k < f->num_classes; k++) free(f->class_names[k]);
  free(f->paths);
  free(f->names);
  free(f->labels);
  free(f->class_names);
  memset(f, 0, sizeof *f);
}

int scan_dataset_is_files(const char *name) { return name && (strcmp(name, "folder") == 0 || strcmp(name, "list") == 0); }

scan_status scan_image_files_find(scan_image_files *out, const scan_dataset_spec *spec) {
  memset(out, 0, sizeof *out);
  if (!scan_dataset_is_files(spec->name))
    return scan_fail(SCAN_ERR_INPUT, "dataset '%s' is not a folder or list of image files", spec->name ? spec->name : "(none)");
  if (!spec->root || !spec->root[0])
    return scan_fail(SCAN_ERR_INPUT, "dataset %s needs a root %s (--root)", spec->name,
                     strcmp(spec->name, "list") == 0 ? "list file" : "directory");
  scan_status st = strcmp(spec->name, "folder") == 0 ? data_list_folder(out, spec->root) : data_list_list(out, spec->root);
  if (st != SCAN_OK) scan_image_files_free(out);
  return st;
}

size_t data_cache_budget(const scan_dataset_spec *spec) {
  return (size_t)(spec->cache_mb > 0 ? spec->cache_mb : SCAN_DEFAULT_CACHE_MB) << 20;
}

/* Streamed (only file names kept, images decoded when asked) when spec->streaming is on, or auto and the decoded
   images would not fit in the cache's budget; else decoded whole into memory as always. */
static scan_status open_files(scan_dataset *out, const scan_dataset_spec *spec, scan_image_files *files) {
  if (spec->streaming != SCAN_STREAM_OFF) {
    SCAN_TRY(data_source_open_files(out, &files->paths, files->count, spec->image_size, spec->channels,
                                    data_cache_budget(spec)));
    if (spec->streaming == SCAN_STREAM_ON || (double)out->count * (double)scan_dataset_image_bytes(out) >
                                                  (double)data_cache_budget(spec))
      return SCAN_OK;
    /* Small enough to hold: give the paths back and load it whole. */
    char **paths = data_source_take_paths(out->source);
    data_source_free(out->source);
    out->source = NULL;
    out->count = out->height = out->width = out->channels = 0;
    files->paths = paths;
  }
  return data_load_image_files(out, (const char *const *)files->paths, (const char *const *)files->names, files->count,
                               spec->image_size, spec->channels);
}

scan_status data_load_files(scan_dataset *out, const scan_dataset_spec *spec) {
  scan_image_files files;
  SCAN_TRY(scan_image_files_find(&files, spec));
  scan_status st = open_files(out, spec, &files);
  if (st == SCAN_OK && out->source) { /* streamed: the display names are still wanted */
    out->file_names = files.names;
    files.names = NULL;
  }
  if (st == SCAN_OK && files.num_classes > 0)
    st = files.class_names ? data_set_class_names(out, (const char *const *)files.class_names, files.num_classes)
                           : data_set_numbered_class_names(out, files.num_classes);
  if (st == SCAN_OK && files.labels) {
    out->labels = files.labels;
    files.labels = NULL;
  }
  scan_image_files_free(&files);
  return st;
}
