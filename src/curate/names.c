/* Image names for curation: read from names files (one per line), made from indices, or stripped of their
 * image extension for ImageSets lists (spec §17.2 step 3). */
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/curate.h"

void scan_curate_strip_extension(const char *name, char *out, size_t size) {
  static const char *const extensions[] = {"png", "jpg", "jpeg", "bmp", "ppm", "pgm", "pnm", "tif", "tiff", "webp", "gif"};
  if (size == 0) return;
  snprintf(out, size, "%s", name);
  char *dot = strrchr(out, '.');
  const char *slash = strrchr(out, '/');
  if (!dot || (slash && dot < slash) || dot == out || (slash && dot == slash + 1)) return; /* no extension, or ".hidden" */
  for (size_t e = 0; e < sizeof extensions / sizeof extensions[0]; e++)
    if (strcasecmp(dot + 1, extensions[e]) == 0) {
      *dot = '\0';
      return;
    }
}

scan_status scan_curate_names_path(const char *features_path, char *buf, size_t size) {
  size_t length = strlen(features_path);
  if (length > 4 && strcmp(features_path + length - 4, ".npy") == 0) length -= 4;
  return scan_path_format(buf, size, "%.*s.names.txt", (int)length, features_path);
}

void scan_curate_free_names(char **names, int64_t count) {
  if (!names) return;
  for (int64_t i = 0; i < count; i++) free(names[i]);
  free(names);
}

scan_status scan_curate_index_names(int64_t count, char ***names) {
  *names = scan_calloc((unsigned long)(count > 0 ? count : 1), sizeof(char *));
  if (!*names) return SCAN_ERR_INTERNAL;
  for (int64_t i = 0; i < count; i++) {
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)i);
    (*names)[i] = strdup(text);
    if (!(*names)[i]) {
      scan_curate_free_names(*names, count);
      *names = NULL;
      return scan_fail(SCAN_ERR_INTERNAL, "out of memory making names");
    }
  }
  return SCAN_OK;
}

scan_status scan_curate_read_names(const char *path, int64_t expected, char ***names) {
  *names = NULL;
  unsigned char *text;
  size_t size;
  SCAN_TRY(scan_read_file(path, &text, &size));
  /* Lines, counting a last line without a newline. */
  int64_t lines = 0;
  for (size_t i = 0; i < size; i++)
    if (text[i] == '\n' || i + 1 == size) lines++;
  if (lines != expected) {
    free(text);
    return scan_fail(SCAN_ERR_INPUT, "%s: %lld names, but the features have %lld rows", path, (long long)lines,
                     (long long)expected);
  }
  char **list = scan_calloc((unsigned long)(expected > 0 ? expected : 1), sizeof(char *));
  scan_status status = list ? SCAN_OK : SCAN_ERR_INTERNAL;
  char *cursor = (char *)text;
  for (int64_t i = 0; status == SCAN_OK && i < expected; i++) {
    char *end = strchr(cursor, '\n');
    char *next = end ? end + 1 : cursor + strlen(cursor);
    if (end) *end = '\0';
    size_t length = strlen(cursor);
    if (length && cursor[length - 1] == '\r') cursor[--length] = '\0';
    if (length == 0) status = scan_fail(SCAN_ERR_INPUT, "%s:%lld: empty name", path, (long long)i + 1);
    else if (!(list[i] = strdup(cursor))) status = scan_fail(SCAN_ERR_INTERNAL, "out of memory reading %s", path);
    cursor = next;
  }
  free(text);
  if (status != SCAN_OK) {
    scan_curate_free_names(list, expected);
    return status;
  }
  *names = list;
  return SCAN_OK;
}
