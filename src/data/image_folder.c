/* An image folder: either one sub-folder per class (ImageFolder layout:
 * classes = sorted sub-folder names, label = position) or images directly in
 * the folder (unlabelled). Files are taken by extension (.png, .jpg, .jpeg,
 * any case) and sorted by name; their contents are decoded by magic bytes. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data_internal.h"
#include "scan/paths.h"

typedef struct {
  char **items;
  long count, capacity;
} name_list;

static scan_status name_list_add(name_list *list, const char *name) {
  if (list->count == list->capacity) {
    long capacity = list->capacity ? list->capacity * 2 : 64;
    char **grown = scan_realloc(list->items, (size_t)capacity * sizeof(char *));
    if (!grown) return scan_fail(SCAN_ERR_INTERNAL, "out of memory listing files");
    list->items = grown;
    list->capacity = capacity;
  }
  list->items[list->count] = strdup(name);
  if (!list->items[list->count]) return scan_fail(SCAN_ERR_INTERNAL, "out of memory listing files");
  list->count++;
  return SCAN_OK;
}

static void name_list_free(name_list *list) {
  for (long i = 0; i < list->count; i++) free(list->items[i]);
  free(list->items);
  memset(list, 0, sizeof *list);
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int has_image_extension(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

/* Sorted names of the sub-folders and of the image files in `dir` (hidden entries skipped). */
static scan_status list_folder(const char *dir, name_list *folders, name_list *images) {
  DIR *handle = opendir(dir);
  if (!handle) return scan_fail(SCAN_ERR_INPUT, "%s: cannot open folder: %s", dir, strerror(errno));
  scan_status st = SCAN_OK;
  struct dirent *entry;
  char path[SCAN_PATH_MAX];
  while (st == SCAN_OK && (entry = readdir(handle)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    st = scan_path_join(path, sizeof path, dir, entry->d_name);
    if (st != SCAN_OK) break;
    struct stat info;
    if (stat(path, &info) != 0) continue; /* a dangling link is not an image */
    if (S_ISDIR(info.st_mode)) {
      if (folders) st = name_list_add(folders, entry->d_name);
    } else if (S_ISREG(info.st_mode) && has_image_extension(entry->d_name)) {
      st = name_list_add(images, entry->d_name);
    }
  }
  closedir(handle);
  if (folders && folders->count) qsort(folders->items, (size_t)folders->count, sizeof(char *), compare_names);
  if (images->count) qsort(images->items, (size_t)images->count, sizeof(char *), compare_names);
  return st;
}

/* Collects full paths and the names relative to root ("class/file.png"). */
typedef struct {
  name_list paths, relative;
  int32_t *labels;
  long label_capacity;
} file_set;

static scan_status file_set_add(file_set *set, const char *root, const char *class_folder, const char *file, int label) {
  char relative[SCAN_PATH_MAX], full[SCAN_PATH_MAX];
  if (class_folder)
    SCAN_TRY(scan_path_join(relative, sizeof relative, class_folder, file));
  else
    SCAN_TRY(scan_path_format(relative, sizeof relative, "%s", file));
  SCAN_TRY(scan_path_join(full, sizeof full, root, relative));
  SCAN_TRY(name_list_add(&set->paths, full));
  SCAN_TRY(name_list_add(&set->relative, relative));
  if (set->relative.count > set->label_capacity) {
    long capacity = set->paths.capacity;
    int32_t *grown = scan_realloc(set->labels, (size_t)capacity * sizeof(int32_t));
    if (!grown) return scan_fail(SCAN_ERR_INTERNAL, "out of memory listing files");
    set->labels = grown;
    set->label_capacity = capacity;
  }
  set->labels[set->relative.count - 1] = label;
  return SCAN_OK;
}

static scan_status collect(const char *root, name_list *classes, file_set *set) {
  name_list top_images = {0};
  scan_status st = list_folder(root, classes, &top_images);
  if (st == SCAN_OK && classes->count == 0) {
    for (long i = 0; i < top_images.count && st == SCAN_OK; i++) st = file_set_add(set, root, NULL, top_images.items[i], -1);
    if (st == SCAN_OK && top_images.count == 0)
      st = scan_fail(SCAN_ERR_INPUT, "%s: folder has no PNG or JPEG images and no class folders", root);
  } else if (st == SCAN_OK && top_images.count > 0) {
    st = scan_fail(SCAN_ERR_INPUT, "%s: folder mixes images (%s) with class folders (%s); use one layout", root,
                   top_images.items[0], classes->items[0]);
  }
  for (long k = 0; k < classes->count && st == SCAN_OK; k++) {
    char class_dir[SCAN_PATH_MAX];
    name_list images = {0};
    st = scan_path_join(class_dir, sizeof class_dir, root, classes->items[k]);
    if (st == SCAN_OK) st = list_folder(class_dir, NULL, &images);
    if (st == SCAN_OK && images.count == 0)
      st = scan_fail(SCAN_ERR_INPUT, "%s: class folder has no PNG or JPEG images", class_dir);
    for (long i = 0; i < images.count && st == SCAN_OK; i++)
      st = file_set_add(set, root, classes->items[k], images.items[i], (int)k);
    name_list_free(&images);
  }
  name_list_free(&top_images);
  return st;
}

scan_status data_list_folder(scan_image_files *out, const char *root) {
  name_list classes = {0};
  file_set set = {{0}, {0}, NULL, 0};
  scan_status st = collect(root, &classes, &set);
  if (st == SCAN_OK && set.paths.count > 0x7fffffffL) st = scan_fail(SCAN_ERR_INPUT, "%s: too many images", root);
  if (st == SCAN_OK) {
    out->count = set.paths.count;
    out->paths = set.paths.items;
    out->names = set.relative.items;
    set.paths.items = set.relative.items = NULL;
    set.paths.count = set.relative.count = 0;
    if (classes.count > 0) {
      out->labels = set.labels;
      set.labels = NULL;
      out->num_classes = (int)classes.count;
      out->class_names = classes.items;
      classes.items = NULL;
      classes.count = 0;
    }
  }
  name_list_free(&classes);
  name_list_free(&set.paths);
  name_list_free(&set.relative);
  free(set.labels);
  return st;
}
