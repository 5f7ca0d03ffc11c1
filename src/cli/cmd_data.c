/* scan data info | show: what a dataset holds (sizes, classes, per-class
 * counts) and a PNG grid of samples, one row per class. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "scan/datasets.h"
#include "scan/viz_grid.h"
#include "stage_common.h"

#define DATA_USAGE "scan data info|show --dataset NAME [OPTIONS]   ('scan data info --help', 'scan data show --help')"

typedef struct {
  scan_dataset_spec spec;
} data_options;

/* The dataset options both subcommands take, first in their option tables. */
#define DATA_OPTIONS(o)                                                                                            \
  {"--dataset", ARG_STRING, &(o).spec.name,                                                                        \
   "fashion-mnist (default), mnist, cifar-10, cifar-20, cifar-100, stl-10, folder, list"},                         \
      {"--root", ARG_STRING, &(o).spec.root,                                                                       \
       "dataset directory (list: the list file); default " SCAN_DEFAULT_FASHION_MNIST_ROOT " for fashion-mnist"}, \
      {"--split", ARG_STRING, &(o).spec.split, "train, test (stl-10 also unlabeled, train+unlabeled)"},           \
      {"--image-size", ARG_INT, &(o).spec.image_size, "folder/list: resize every image to N x N"},                 \
      {"--channels", ARG_INT, &(o).spec.channels, "folder/list: 1 (grey) or 3 (RGB, default)"}

static void data_options_init(data_options *o) {
  memset(o, 0, sizeof *o);
  o->spec.name = "fashion-mnist";
}

/* The splits `info` shows when none is named: every one whose files exist
 * (composite splits such as train+unlabeled left out). Returns how many. */
static int present_splits(const scan_dataset_spec *spec, const char *splits[8]) {
  const char *const *known = scan_dataset_splits(spec->name);
  if (!known || !known[0]) {
    splits[0] = NULL; /* folder and list have no splits */
    return 1;
  }
  int n = 0;
  for (; *known && n < 8; known++) {
    if (strchr(*known, '+')) continue;
    scan_dataset_spec probe = *spec;
    probe.split = *known;
    if (scan_dataset_split_present(&probe)) splits[n++] = *known;
  }
  if (n == 0) splits[n++] = known[0] ? known[0] : "train"; /* loading it reports the missing file */
  return n;
}

static void count_labels(const scan_dataset *d, long *per_class, long *unlabelled) {
  for (int k = 0; k < d->num_classes; k++) per_class[k] = 0;
  *unlabelled = d->labels ? 0 : d->count;
  if (!d->labels) return;
  for (int i = 0; i < d->count; i++) {
    if (d->labels[i] >= 0 && d->labels[i] < d->num_classes)
      per_class[d->labels[i]]++;
    else
      (*unlabelled)++;
  }
}

static void print_text(const scan_dataset *d, const long *per_class, long unlabelled) {
  printf("%s: %d images, %dx%dx%d (HxWxC), %d classes\n", d->name, d->count, d->height, d->width, d->channels,
         d->num_classes);
  if (d->num_classes) printf("  %5s  %-32s %8s\n", "class", "name", "images");
  for (int k = 0; k < d->num_classes; k++)
    printf("  %5d  %-32s %8ld\n", k, d->class_names ? d->class_names[k] : "", per_class[k]);
  if (unlabelled) printf("  %5s  %-32s %8ld\n", "", "unlabelled", unlabelled);
}

static cJSON *split_json(const scan_dataset *d, const char *split, const long *per_class, long unlabelled) {
  cJSON *o = cJSON_CreateObject();
  if (split)
    cJSON_AddStringToObject(o, "split", split);
  else
    cJSON_AddNullToObject(o, "split");
  cJSON_AddNumberToObject(o, "count", d->count);
  cJSON_AddNumberToObject(o, "height", d->height);
  cJSON_AddNumberToObject(o, "width", d->width);
  cJSON_AddNumberToObject(o, "channels", d->channels);
  cJSON_AddNumberToObject(o, "num_classes", d->num_classes);
  cJSON *classes = cJSON_AddArrayToObject(o, "classes");
  for (int k = 0; k < d->num_classes; k++) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", k);
    cJSON_AddStringToObject(c, "name", d->class_names ? d->class_names[k] : "");
    cJSON_AddNumberToObject(c, "count", (double)per_class[k]);
    cJSON_AddItemToArray(classes, c);
  }
  cJSON_AddNumberToObject(o, "unlabelled", (double)unlabelled);
  return o;
}

static int data_info(int argc, char **argv) {
  data_options o;
  data_options_init(&o);
  int json = 0;
  const arg_option options[] = {DATA_OPTIONS(o), {"--json", ARG_BOOL, &json, "print one JSON object"}, {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL, "scan data info --dataset NAME [--root PATH] [--split S] [--json]",
                      "Prints a dataset's size, image shape, classes and images per class\n"
                      "(every split whose files exist, unless --split names one).");
  if (rc) return rc < 0 ? 0 : rc;
  if (!scan_dataset_name_valid(o.spec.name)) {
    scan_dataset d;
    return cli_report_error(scan_dataset_load(&d, &o.spec)); /* reports the unknown name */
  }
  if (strcmp(o.spec.name, "fashion-mnist") == 0 && (!o.spec.root || !o.spec.root[0]))
    o.spec.root = SCAN_DEFAULT_FASHION_MNIST_ROOT;
  const char *splits[8];
  int split_count = o.spec.split ? 1 : present_splits(&o.spec, splits);
  if (o.spec.split) splits[0] = o.spec.split;

  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "dataset", o.spec.name);
  cJSON_AddStringToObject(root, "root", o.spec.root ? o.spec.root : "");
  cJSON *split_array = cJSON_AddArrayToObject(root, "splits");
  if (!json) printf("dataset %s, root %s\n", o.spec.name, o.spec.root ? o.spec.root : "(none)");
  rc = 0;
  for (int s = 0; s < split_count && rc == 0; s++) {
    scan_dataset_spec spec = o.spec;
    spec.split = splits[s];
    scan_dataset d;
    rc = cli_report_error(scan_dataset_load(&d, &spec));
    if (rc) break;
    long *per_class = calloc((size_t)d.num_classes + 1, sizeof(long)), unlabelled;
    if (!per_class) {
      scan_dataset_free(&d);
      rc = cli_report_error(scan_fail(SCAN_ERR_INTERNAL, "out of memory"));
      break;
    }
    count_labels(&d, per_class, &unlabelled);
    if (json)
      cJSON_AddItemToArray(split_array, split_json(&d, splits[s], per_class, unlabelled));
    else
      print_text(&d, per_class, unlabelled);
    free(per_class);
    scan_dataset_free(&d);
  }
  if (rc == 0 && json) {
    char *text = cJSON_Print(root);
    if (text) printf("%s\n", text);
    free(text);
  }
  cJSON_Delete(root);
  return rc;
}

/* The cells of the sample grid: one row per class (first `per_class` images of
 * that class, in file order), plus a row for images without a label; for
 * unlabelled data, rows of `per_class` images in file order. */
static scan_status build_sample_grid(const scan_dataset *d, int per_class, scan_grid *grid, scan_grid_cell **cells_out,
                                     const char ***labels_out) {
  int has_unlabelled = !d->labels;
  if (d->labels)
    for (int i = 0; i < d->count && !has_unlabelled; i++) has_unlabelled = d->labels[i] < 0 || d->labels[i] >= d->num_classes;
  int rows = d->labels ? d->num_classes + has_unlabelled : (d->count + per_class - 1) / per_class;
  if (!d->labels && rows > 10) rows = 10;
  scan_grid_cell *cells = scan_calloc((unsigned long)rows * (unsigned long)per_class, sizeof *cells);
  const char **labels = scan_calloc((unsigned long)rows, sizeof *labels);
  int *filled = scan_calloc((unsigned long)rows, sizeof *filled);
  if (!cells || !labels || !filled) {
    free(cells), free(labels), free(filled);
    return SCAN_ERR_INTERNAL;
  }
  for (int r = 0; r < rows && d->labels; r++) labels[r] = r < d->num_classes ? d->class_names[r] : "unlabelled";
  for (int i = 0; i < d->count; i++) {
    int row;
    if (!d->labels)
      row = i / per_class;
    else
      row = d->labels[i] >= 0 && d->labels[i] < d->num_classes ? d->labels[i] : d->num_classes;
    if (row >= rows || filled[row] >= per_class) continue;
    /* `scan data show --augment simclr|ours` adds its augmented views of this
     * image here (as extra cells next to it) once the augmentations exist. */
    scan_grid_cell *cell = &cells[row * per_class + filled[row]++];
    cell->pixels = scan_dataset_image(d, i);
    cell->height = d->height;
    cell->width = d->width;
    cell->channels = d->channels;
  }
  free(filled);
  memset(grid, 0, sizeof *grid);
  grid->rows = rows;
  grid->cols = per_class;
  grid->cells = cells;
  grid->row_labels = d->labels ? labels : NULL;
  grid->title = d->name;
  *cells_out = cells;
  *labels_out = labels;
  return SCAN_OK;
}

static int data_show(int argc, char **argv) {
  data_options o;
  data_options_init(&o);
  int per_class = 8;
  const char *out = NULL;
  const arg_option options[] = {DATA_OPTIONS(o),
                                {"--per-class", ARG_INT, &per_class, "images per class row (default 8)"},
                                {"--out", ARG_STRING, &out, "PNG to write (default <dataset>-<split>-samples.png)"},
                                {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL,
                      "scan data show --dataset NAME [--root PATH] [--split S] [--per-class N] [--out FILE.png]",
                      "Writes a PNG grid of sample images: one row per class, labelled with the class name\n"
                      "(a plain grid for unlabelled data), and prints its path.");
  if (rc) return rc < 0 ? 0 : rc;
  if (per_class < 1 || per_class > 100) {
    fprintf(stderr, "scan: --per-class must be in 1..100, got %d\n", per_class);
    return 2;
  }
  scan_dataset d;
  rc = cli_report_error(scan_dataset_load(&d, &o.spec));
  if (rc) return rc;
  char default_out[256];
  if (!out) {
    snprintf(default_out, sizeof default_out, "%s-samples.png", d.name);
    for (char *p = default_out; *p; p++)
      if (*p == '/' || *p == '+') *p = '-';
    out = default_out;
  }
  scan_grid grid;
  scan_grid_cell *cells = NULL;
  const char **labels = NULL;
  scan_status st = build_sample_grid(&d, per_class, &grid, &cells, &labels);
  if (st == SCAN_OK) st = scan_grid_write_png(out, &grid);
  rc = cli_report_error(st);
  if (rc == 0) printf("%s\n", out);
  free(cells);
  free(labels);
  scan_dataset_free(&d);
  return rc;
}

int cmd_data(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s\n", DATA_USAGE);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    printf("usage: %s\n\n  info   sizes, image shape, classes, images per class\n  show   PNG grid of samples per class\n",
           DATA_USAGE);
    return 0;
  }
  if (strcmp(argv[1], "info") == 0) return data_info(argc - 1, argv + 1);
  if (strcmp(argv[1], "show") == 0) return data_show(argc - 1, argv + 1);
  fprintf(stderr, "scan data: unknown subcommand '%s' (info or show)\n", argv[1]);
  return 2;
}
