/* `scan predict --link DIR | --copy DIR`: one sub-folder per cluster, named by the cluster's name when the run
 * was annotated (else cluster_XX, as eval/clusters/), holding a symbolic link to each of its images or a copy.
 * Every entry is made under a temporary name and renamed, so a rerun replaces entries and an interrupted one
 * leaves none half-made. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "predict_internal.h"
#include "scan/atomic_file.h"
#include "scan/image_io.h"

/* A name usable as one path component: '/' becomes '_', leading dots and underscores go (no hidden files, no ".."). */
static void path_component(const char *text, char *out, size_t size) {
  while (*text == '.' || *text == '/' || *text == '_') text++;
  size_t n = 0;
  for (; *text && n + 1 < size; text++) out[n++] = *text == '/' ? '_' : *text;
  out[n] = '\0';
}

scan_status predict_sorter_open(predict_sorter *s, scan_sort_mode mode, const char *dir, char *const *names, int clusters,
                                const predict_source *source) {
  memset(s, 0, sizeof *s);
  s->mode = mode;
  if (mode == SCAN_SORT_NONE) return SCAN_OK;
  if (mode == SCAN_SORT_LINK && !source->from_files)
    return scan_fail(SCAN_ERR_INPUT, "%s: --link needs image files (a folder or a list); these images are inside a "
                                     "dataset file, so use --copy (it writes them as PNG files)", dir);
  SCAN_TRY(scan_path_format(s->dir, sizeof s->dir, "%s", dir));
  s->clusters = clusters;
  s->folders = scan_calloc((size_t)clusters, sizeof *s->folders);
  if (!s->folders) return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  for (int c = 0; c < clusters; c++) {
    if (names && names[c]) path_component(names[c], s->folders[c], sizeof s->folders[c]);
    if (!s->folders[c][0]) snprintf(s->folders[c], sizeof s->folders[c], "cluster_%02d", c);
  }
  return scan_make_dirs(dir);
}

void predict_sorter_close(predict_sorter *s) {
  free(s->folders);
  s->folders = NULL;
}

/* A symbolic link to the image's absolute path, made as <path>.tmp.<pid> and renamed over <path>. */
static scan_status link_atomically(const char *target, const char *path) {
  char absolute[SCAN_PATH_MAX], temp[SCAN_PATH_MAX];
  if (!realpath(target, absolute)) return scan_fail(SCAN_ERR_INPUT, "%s: %s", target, strerror(errno));
  SCAN_TRY(scan_path_format(temp, sizeof temp, "%s.tmp.%ld", path, (long)getpid()));
  unlink(temp);
  if (symlink(absolute, temp) != 0) return scan_fail(SCAN_ERR_INPUT, "%s: cannot make a link: %s", temp, strerror(errno));
  if (rename(temp, path) != 0) {
    scan_status st = scan_fail(SCAN_ERR_INPUT, "%s: cannot rename the link: %s", path, strerror(errno));
    unlink(temp);
    return st;
  }
  return SCAN_OK;
}

scan_status predict_sorter_add(predict_sorter *s, const predict_source *source, long index, int cluster) {
  if (s->mode == SCAN_SORT_NONE) return SCAN_OK;
  char folder[SCAN_PATH_MAX], path[SCAN_PATH_MAX], name_buf[32], file[SCAN_PATH_MAX];
  SCAN_TRY(scan_path_join(folder, sizeof folder, s->dir, s->folders[cluster]));
  SCAN_TRY(scan_make_dirs(folder));
  if (!source->from_files) { /* an image inside a dataset file: written out as a PNG */
    SCAN_TRY(scan_path_format(path, sizeof path, "%s/%06ld.png", folder, index));
    const scan_dataset *d = &source->data;
    uint8_t *image = NULL;
    int64_t wanted = index;
    SCAN_TRY(scan_dataset_gather(d, &wanted, 1, &image));
    scan_status status = scan_image_write_png(path, image, d->height, d->width, d->channels);
    free(image);
    return status;
  }
  /* "class/a.png" and "other/a.png" stay apart as class_a.png and other_a.png. */
  path_component(predict_source_name(source, index, name_buf, sizeof name_buf), file, sizeof file);
  SCAN_TRY(scan_path_join(path, sizeof path, folder, file));
  const char *original = source->files.paths[index];
  if (s->mode == SCAN_SORT_LINK) return link_atomically(original, path);
  unsigned char *bytes = NULL;
  size_t size = 0;
  SCAN_TRY(scan_read_file(original, &bytes, &size));
  scan_status st = scan_write_file_atomic(path, bytes, size);
  free(bytes);
  return st;
}
