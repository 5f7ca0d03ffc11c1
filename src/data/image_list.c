/* An image list: a text file with one image path per line (relative to the
 * list's own folder unless absolute), optionally followed by a tab or space
 * and an integer label. Blank lines and lines starting with '#' are skipped.
 * Either every line has a label or none has; classes are then "0".."max".
 * Only lists the files: data_load_files decodes them. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "scan/atomic_file.h"

#define LIST_MAX_CLASSES 100000

/* Splits a trimmed line into path and label text: at the last tab, else at the
 * last space when what follows is an integer. *label_text = NULL when none. */
static void split_line(char *line, char **label_text) {
  *label_text = NULL;
  char *cut = strrchr(line, '\t');
  if (!cut) {
    cut = strrchr(line, ' ');
    if (cut) {
      const char *p = cut + 1;
      if (*p == '-' || *p == '+') p++;
      if (!*p) return;
      for (; *p; p++)
        if (!isdigit((unsigned char)*p)) return;
    }
  }
  if (!cut) return;
  char *end = cut;
  while (end > line && (end[-1] == ' ' || end[-1] == '\t')) end--;
  *end = 0;
  *label_text = cut + 1;
}

scan_status data_list_list(scan_image_files *out, const char *list_path) {
  unsigned char *text;
  size_t size;
  SCAN_TRY(data_read_text(list_path, "a text file", &text, &size));
  char base[SCAN_PATH_MAX];
  if (scan_path_format(base, sizeof base, "%s", list_path) != SCAN_OK) {
    free(text);
    return SCAN_ERR_INPUT;
  }
  char *slash = strrchr(base, '/');
  if (slash)
    slash[1] = 0;
  else
    base[0] = 0;

  long capacity = 0, count = 0, line_number = 0, labelled_lines = 0;
  char **paths = NULL, **names = NULL;
  int32_t *labels = NULL;
  int max_label = -1;
  scan_status st = SCAN_OK;
  char *cursor = (char *)text;
  while (st == SCAN_OK && cursor && *cursor) {
    char *line = cursor;
    char *newline = strchr(cursor, '\n');
    cursor = newline ? newline + 1 : NULL;
    if (newline) *newline = 0;
    line_number++;
    size_t len = strlen(line);
    while (len && isspace((unsigned char)line[len - 1])) line[--len] = 0;
    while (*line == ' ' || *line == '\t') line++;
    if (!*line || *line == '#') continue;
    char *label_text;
    split_line(line, &label_text);
    long label = -1;
    if (label_text) {
      char *end;
      errno = 0;
      label = strtol(label_text, &end, 10);
      if (errno || end == label_text || *end || label < 0 || label >= LIST_MAX_CLASSES) {
        st = scan_fail(SCAN_ERR_INPUT, "%s:%ld: label '%s' is not an integer in 0..%d", list_path, line_number, label_text,
                       LIST_MAX_CLASSES - 1);
        break;
      }
      labelled_lines++;
      if (label > max_label) max_label = (int)label;
    }
    if (count == capacity) {
      capacity = capacity ? capacity * 2 : 256;
      char **grown_paths = scan_realloc(paths, (size_t)capacity * sizeof(char *));
      if (grown_paths) paths = grown_paths;
      char **grown_names = scan_realloc(names, (size_t)capacity * sizeof(char *));
      if (grown_names) names = grown_names;
      int32_t *grown_labels = scan_realloc(labels, (size_t)capacity * sizeof(int32_t));
      if (grown_labels) labels = grown_labels;
      if (!grown_paths || !grown_names || !grown_labels) {
        st = scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", list_path);
        break;
      }
    }
    char full[SCAN_PATH_MAX];
    st = scan_path_format(full, sizeof full, "%s%s", line[0] == '/' ? "" : base, line);
    if (st != SCAN_OK) {
      scan_fail_context(st, "%s:%ld", list_path, line_number);
      break;
    }
    paths[count] = strdup(full);
    names[count] = strdup(line);
    labels[count] = (int32_t)label;
    count++;
    if (!paths[count - 1] || !names[count - 1]) st = scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", list_path);
  }
  if (st == SCAN_OK && count == 0) st = scan_fail(SCAN_ERR_INPUT, "%s: the list names no images", list_path);
  if (st == SCAN_OK && labelled_lines != 0 && labelled_lines != count)
    st = scan_fail(SCAN_ERR_INPUT, "%s: %ld of %ld lines have a label; give a label on every line or on none", list_path,
                   labelled_lines, count);
  if (st == SCAN_OK && count > INT_MAX) st = scan_fail(SCAN_ERR_INPUT, "%s: too many images", list_path);
  if (st == SCAN_OK) {
    out->count = count;
    out->paths = paths;
    out->names = names;
    paths = names = NULL;
    count = 0;
    if (labelled_lines) {
      out->labels = labels;
      labels = NULL;
      out->num_classes = max_label + 1; /* named "0", "1", ... */
    }
  }
  for (long i = 0; i < count; i++) {
    free(paths[i]);
    free(names[i]);
  }
  free(paths);
  free(names);
  free(labels);
  free(text);
  return st;
}
