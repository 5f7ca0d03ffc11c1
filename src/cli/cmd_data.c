/* scan data info | show: what a dataset holds (sizes, classes, per-class
 * counts) and a PNG grid of samples, one row per class; with --augment, a
 * sheet of training views resolved from the config as the stages resolve them. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "scan/augment_sheet.h"
#include "scan/datasets.h"
#include "scan/viz_grid.h"
#include "stage_common.h"
#include "terminal.h"

#define DATA_USAGE \
  "scan data info|show|pack --dataset NAME [OPTIONS]   ('scan data info --help', 'scan data show --help', 'scan data pack --help')"

typedef struct {
  scan_dataset_spec spec;
} data_options;

/* The dataset options both subcommands take, first in their option tables. */
#define DATA_OPTIONS(o)                                                                                            \
  {"--dataset", ARG_STRING, &(o).spec.name,                                                                        \
   "fashion-mnist (default), mnist, cifar-10, cifar-20, cifar-100, stl-10, folder, list, packed"},                 \
      {"--root", ARG_STRING, &(o).spec.root,                                                                       \
       "dataset directory (list: the list file; packed: the packed file); default " SCAN_DEFAULT_FASHION_MNIST_ROOT  \
       " for fashion-mnist"},                                                                                        \
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
  char safe[256];
  for (int k = 0; k < d->num_classes; k++)
    printf("  %5d  %-32s %8ld\n", k, terminal_safe(d->class_names ? d->class_names[k] : "", safe, sizeof safe), per_class[k]);
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
    long *per_class = scan_calloc((size_t)d.num_classes + 1, sizeof(long)), unlabelled;
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
                                     const char ***labels_out, uint8_t **pixels_out) {
  int has_unlabelled = !d->labels;
  if (d->labels)
    for (int i = 0; i < d->count && !has_unlabelled; i++) has_unlabelled = d->labels[i] < 0 || d->labels[i] >= d->num_classes;
  int rows = d->labels ? d->num_classes + has_unlabelled : (d->count + per_class - 1) / per_class;
  if (!d->labels && rows > 10) rows = 10;
  scan_grid_cell *cells = scan_calloc((unsigned long)rows * (unsigned long)per_class, sizeof *cells);
  const char **labels = scan_calloc((unsigned long)rows, sizeof *labels);
  int *filled = scan_calloc((unsigned long)rows, sizeof *filled);
  int64_t *shown = scan_malloc(sizeof *shown * (unsigned long)rows * (unsigned long)per_class); /* per cell, or -1 */
  if (!cells || !labels || !filled || !shown) {
    free(cells), free(labels), free(filled), free(shown);
    return SCAN_ERR_INTERNAL;
  }
  for (long c = 0; c < (long)rows * per_class; c++) shown[c] = -1;
  for (int r = 0; r < rows && d->labels; r++) labels[r] = r < d->num_classes ? d->class_names[r] : "unlabelled";
  for (int i = 0; i < d->count; i++) {
    int row;
    if (!d->labels)
      row = i / per_class;
    else
      row = d->labels[i] >= 0 && d->labels[i] < d->num_classes ? d->labels[i] : d->num_classes;
    if (row >= rows || filled[row] >= per_class) continue;
    shown[row * per_class + filled[row]++] = i;
  }
  free(filled);
  scan_status status = scan_dataset_gather(d, shown, (long)rows * per_class, pixels_out);
  for (long c = 0; c < (long)rows * per_class && status == SCAN_OK; c++)
    if (shown[c] >= 0)
      cells[c] = (scan_grid_cell){*pixels_out + (size_t)c * scan_dataset_image_bytes(d), d->height, d->width,
                                  d->channels, NULL};
  free(shown);
  if (status != SCAN_OK) {
    free(cells), free(labels);
    return status;
  }
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

/* "<dataset name>-<suffix>.png" in the current directory, the name's '/' and '+' made '-'. The dataset's name
   (at most 63 bytes) and a short suffix always fit a SCAN_PATH_MAX buffer. */
static const char *default_png_name(const char *dataset_name, const char *suffix, char *buf, size_t size) {
  snprintf(buf, size, "%s-%s.png", dataset_name, suffix);
  for (char *p = buf; *p; p++)
    if (*p == '/' || *p == '+') *p = '-';
  return buf;
}

/* The dataset flags given on the command line replace the config's training-set keys, so that the
   image size, crop size and normalisation constants are resolved for that dataset. */
static scan_status override_dataset_keys(scan_config *cfg, const scan_dataset_spec *spec) {
  if (spec->name) SCAN_TRY(stage_config_set_string(cfg, "train_db_name", spec->name));
  if (spec->root) SCAN_TRY(stage_config_set_string(cfg, "data_root", spec->root));
  if (spec->split) SCAN_TRY(stage_config_set_string(cfg, "train_split", spec->split));
  if (spec->image_size) {
    char assignment[64];
    snprintf(assignment, sizeof assignment, "image_size=%d", spec->image_size);
    SCAN_TRY(scan_config_set(cfg, assignment));
  }
  return SCAN_OK;
}

/* `show --augment simclr|ours`: the views the pretext (simclr) or SCAN (ours) stage would train on,
   with that stage's augmentation settings from the config (scan_pipeline_augment), the strategy
   forced to the one asked for. The images are the config's training split unless flags name others. */
static int show_augmented(const data_options *o, const stage_options *config_options, const char *strategy_name,
                          int images, int views, int seed, const char *out) { /* seed < 0: the config's */
  scan_aug_strategy strategy;
  if (scan_aug_strategy_parse(strategy_name, &strategy) != 0 ||
      (strategy != SCAN_AUG_SIMCLR && strategy != SCAN_AUG_OURS)) {
    fprintf(stderr, "scan: --augment must be simclr or ours, got '%s'\n", strategy_name);
    return 2;
  }
  if (o->spec.channels) {
    /* The stages load folder and list images as RGB; a grey sheet would show views training never sees. */
    fprintf(stderr, "scan: --channels does not go with --augment (the training stages load images as RGB)\n");
    return 2;
  }
  const char *stage = strategy == SCAN_AUG_SIMCLR ? "pretext" : "cluster";
  scan_config *cfg;
  int rc = stage_load_config(config_options, &cfg);
  if (rc) return rc;
  char strategy_key[64];
  snprintf(strategy_key, sizeof strategy_key, "%s.augmentation_strategy", stage);
  scan_pipeline p;
  scan_status st = override_dataset_keys(cfg, &o->spec);
  if (st == SCAN_OK) st = stage_config_set_string(cfg, strategy_key, scan_aug_strategy_name(strategy));
  /* The sheet writes nothing into a run directory; "." exists, so opening creates nothing. */
  if (st == SCAN_OK) st = scan_pipeline_open(&p, cfg, ".");
  int pipeline_open = st == SCAN_OK;
  scan_aug_config aug;
  const scan_dataset *train = NULL;
  if (st == SCAN_OK) st = scan_pipeline_augment(&p, stage, 0, &aug);
  if (st == SCAN_OK) st = scan_pipeline_train_data(&p, &train);
  char default_out[SCAN_PATH_MAX];
  if (st == SCAN_OK && !out)
    out = default_png_name(train->name, scan_aug_strategy_name(strategy), default_out, sizeof default_out);
  if (st == SCAN_OK)
    st = scan_augment_sheet_png(out, train, &aug, images, views, seed >= 0 ? (uint64_t)seed : p.seed);
  rc = cli_report_error(st);
  if (rc == 0) printf("%s\n", out);
  if (pipeline_open)
    stage_close(cfg, &p);
  else
    scan_config_free(cfg);
  return rc;
}

static int data_show(int argc, char **argv) {
  data_options o;
  data_options_init(&o);
  o.spec.name = NULL; /* with --augment the config names the dataset unless --dataset does */
  stage_options config_options;
  stage_options_init(&config_options);
  enum { UNSET = INT_MIN }; /* --augment's numbers keep this until given */
  int per_class = 8, images = UNSET, views = UNSET, seed = UNSET;
  const char *out = NULL, *augment = NULL;
  const arg_option options[] = {
      DATA_OPTIONS(o),
      {"--per-class", ARG_INT, &per_class, "images per class row (default 8)"},
      {"--out", ARG_STRING, &out, "PNG to write (default <dataset>-<split>-samples.png, or -<strategy>.png)"},
      {"--augment", ARG_STRING, &augment, "simclr or ours: each image next to its training views instead"},
      {"--images", ARG_INT, &images, "--augment: rows, images spread over the split (default 8)"},
      {"--views", ARG_INT, &views, "--augment: views per image, one per epoch (default 8)"},
      {"--seed", ARG_INT, &seed, "--augment: random seed (default: the config's seed)"},
      STAGE_CONFIG_OPTIONS(config_options),
      {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL,
                      "scan data show --dataset NAME [--root PATH] [--split S] [--per-class N] [--out FILE.png]\n"
                      "       scan data show --augment simclr|ours [--views N] [--images N] [--seed S]\n"
                      "         [--config FILE] [--set KEY=VALUE]... [--dataset NAME ...] [--out FILE.png]",
                      "Writes a PNG grid of sample images: one row per class, labelled with the class name\n"
                      "(a plain grid for unlabelled data), and prints its path.\n"
                      "With --augment, each row is one training image followed by the views the pretext stage\n"
                      "(simclr) or the SCAN stage (ours) would make of it in epochs 0, 1, ..., with that stage's\n"
                      "augmentation settings from the config; the images are the config's training split\n"
                      "unless --dataset/--root/--split/--image-size name others.");
  if (rc) return rc < 0 ? 0 : rc;
  if (!augment && (images != UNSET || views != UNSET || seed != UNSET || config_options.config_path ||
                   config_options.sets.count)) {
    fprintf(stderr, "scan: --images, --views, --seed, --config and --set need --augment\n");
    return 2;
  }
  if (augment) {
    if (seed != UNSET && seed < 0) {
      fprintf(stderr, "scan: --seed must be >= 0, got %d\n", seed);
      return 2;
    }
    /* scan_augment_sheet_png checks the counts' ranges. */
    return show_augmented(&o, &config_options, augment, images == UNSET ? 8 : images, views == UNSET ? 8 : views,
                          seed, out);
  }
  if (!o.spec.name) o.spec.name = "fashion-mnist";
  if (per_class < 1 || per_class > 100) {
    fprintf(stderr, "scan: --per-class must be in 1..100, got %d\n", per_class);
    return 2;
  }
  scan_dataset d;
  rc = cli_report_error(scan_dataset_load(&d, &o.spec));
  if (rc) return rc;
  char default_out[SCAN_PATH_MAX];
  if (!out) out = default_png_name(d.name, "samples", default_out, sizeof default_out);
  scan_grid grid;
  scan_grid_cell *cells = NULL;
  const char **labels = NULL;
  uint8_t *pixels = NULL;
  scan_status st = build_sample_grid(&d, per_class, &grid, &cells, &labels, &pixels);
  if (st == SCAN_OK) st = scan_grid_write_png(out, &grid);
  rc = cli_report_error(st);
  if (rc == 0) printf("%s\n", out);
  free(pixels);
  free(cells);
  free(labels);
  scan_dataset_free(&d);
  return rc;
}

/* scan data pack: any dataset into one packed file. A folder or list is streamed through a small cache while it
   is written, so packing needs memory for one image, not the whole dataset. */
static int data_pack(int argc, char **argv) {
  data_options o;
  data_options_init(&o);
  const char *out = NULL;
  const arg_option options[] = {DATA_OPTIONS(o), {"--out", ARG_STRING, &out, "the packed file to write"},
                                {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL,
                      "scan data pack --dataset NAME --root PATH [--image-size N] [--channels C] --out FILE",
                      "Writes a dataset's decoded images (and labels, class and file names) to one file, read image by\n"
                      "image without decoding as dataset 'packed' (data_root: FILE).");
  if (rc) return rc < 0 ? 0 : rc;
  if (!out || !out[0]) {
    fprintf(stderr, "scan: data pack needs --out FILE\n");
    return 2;
  }
  if (scan_dataset_is_files(o.spec.name)) {
    o.spec.streaming = SCAN_STREAM_ON;
    o.spec.cache_mb = 1;
  }
  scan_dataset d;
  rc = cli_report_error(scan_dataset_load(&d, &o.spec));
  if (rc) return rc;
  rc = cli_report_error(scan_dataset_pack(&d, out));
  if (rc == 0)
    printf("%s: %d images of %dx%dx%d\n", out, d.count, d.width, d.height, d.channels);
  scan_dataset_free(&d);
  return rc;
}

int cmd_data(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s\n", DATA_USAGE);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    printf("usage: %s\n\n  info   sizes, image shape, classes, images per class\n  show   PNG grid of samples per class\n"
           "  pack   write a dataset's decoded images to one file (dataset 'packed')\n",
           DATA_USAGE);
    return 0;
  }
  if (strcmp(argv[1], "info") == 0) return data_info(argc - 1, argv + 1);
  if (strcmp(argv[1], "show") == 0) return data_show(argc - 1, argv + 1);
  if (strcmp(argv[1], "pack") == 0) return data_pack(argc - 1, argv + 1);
  fprintf(stderr, "scan data: unknown subcommand '%s' (info, show or pack)\n", argv[1]);
  return 2;
}
