/* scan features: L2-normalised features of a trained model over a dataset, for curation (spec §17.1). */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/curate.h"
#include "scan/curate_features.h"
#include "scan/progress.h"
#include "stage_common.h"

typedef struct {
  const char *model, *config_path, *dataset, *root, *split, *out, *names, *csv;
  arg_list sets;
  int image_size, threads, backbone, quiet;
} features_options;

/* The configuration the model was trained with: --config, else the run's config.yml next to the model's stage
 * folder (runs/NAME/pretext/model.safetensors -> runs/NAME/config.yml), else the defaults. Then --set, --threads
 * and the dataset options, which name the data the features are computed on. */
static scan_status load_config(const features_options *o, scan_config **cfg) {
  const char *path = o->config_path;
  char run_config[SCAN_PATH_MAX];
  if (!path) {
    char model_dir[SCAN_PATH_MAX];
    SCAN_TRY(scan_path_format(model_dir, sizeof model_dir, "%s", o->model));
    SCAN_TRY(scan_path_join(run_config, sizeof run_config, dirname(model_dir), "../config.yml"));
    if (scan_file_exists(run_config)) {
      path = run_config;
      if (!o->quiet) fprintf(stderr, "features: using the run's configuration %s\n", run_config);
    }
  }
  SCAN_TRY(scan_config_load(cfg, path));
  for (int i = 0; i < o->sets.count; i++) SCAN_TRY(scan_config_set(*cfg, o->sets.items[i]));
  char number[64];
  if (o->threads >= 0) {
    snprintf(number, sizeof number, "threads=%d", o->threads);
    SCAN_TRY(scan_config_set(*cfg, number));
  }
  if (o->dataset) SCAN_TRY(stage_config_set_string(*cfg, "train_db_name", o->dataset));
  if (o->root) SCAN_TRY(stage_config_set_string(*cfg, "data_root", o->root));
  if (o->split) SCAN_TRY(stage_config_set_string(*cfg, "train_split", o->split));
  if (o->image_size > 0) {
    snprintf(number, sizeof number, "image_size=%d", o->image_size);
    SCAN_TRY(scan_config_set(*cfg, number));
  }
  return SCAN_OK;
}

static scan_status extract(const features_options *o, scan_config *cfg, const char **names_path) {
  static char default_names[SCAN_PATH_MAX];
  if (!*names_path) {
    SCAN_TRY(scan_curate_names_path(o->out, default_names, sizeof default_names));
    *names_path = default_names;
  }
  char out_dir[SCAN_PATH_MAX];
  SCAN_TRY(scan_path_format(out_dir, sizeof out_dir, "%s", o->out));
  scan_pipeline p;
  SCAN_TRY(scan_pipeline_open(&p, cfg, dirname(out_dir)));
  float *features = NULL;
  int dim = 0;
  const char *source = "";
  char **index_names = NULL;
  const scan_dataset *data = NULL;
  scan_status status = scan_pipeline_features(&p, o->model, o->backbone ? SCAN_FEATURES_BACKBONE : SCAN_FEATURES_AUTO,
                                              &features, &dim, &source);
  if (status == SCAN_OK) status = scan_pipeline_train_data(&p, &data);
  if (status == SCAN_OK && !data->file_names) status = scan_curate_index_names(data->count, &index_names);
  if (status == SCAN_OK) {
    const char *const *names = (const char *const *)(data->file_names ? data->file_names : index_names);
    status = scan_curate_write_features(o->out, *names_path, o->csv, features, data->count, dim, names);
  }
  if (status == SCAN_OK) {
    printf("features: %d images of %s, %d dimensions (%s, L2-normalised) -> %s\n", data->count, data->name, dim,
           source, o->out);
    printf("names -> %s%s%s\n", *names_path, o->csv ? ", csv -> " : "", o->csv ? o->csv : "");
  }
  if (data) scan_curate_free_names(index_names, data->count);
  free(features);
  scan_pipeline_close(&p);
  return status;
}

int cmd_features(int argc, char **argv) {
  features_options o = {.image_size = 0, .threads = -1};
  const arg_option options[] = {
      {"--model", ARG_STRING, &o.model, "a pretext, scan or selflabel model.safetensors written by scan (required)"},
      {"--dataset", ARG_STRING, &o.dataset, "fashion-mnist, mnist, cifar-10, cifar-20, cifar-100, stl-10, folder, list"},
      {"--root", ARG_STRING, &o.root, "dataset directory (list: the list file)"},
      {"--split", ARG_STRING, &o.split, "train, test (stl-10 also unlabeled, train+unlabeled)"},
      {"--image-size", ARG_INT, &o.image_size, "folder/list: resize every image to N x N"},
      {"--config", ARG_STRING, &o.config_path, "the model's YAML config (default: config.yml of the model's run)"},
      {"--set", ARG_LIST, &o.sets, "override a config key (repeatable)"},
      {"--out", ARG_STRING, &o.out, "features .npy to write (required)"},
      {"--names", ARG_STRING, &o.names, "names file to write (default <out>.names.txt)"},
      {"--csv", ARG_STRING, &o.csv, "also write the reference CSV layout: name,f1,...,fD"},
      {"--backbone", ARG_BOOL, &o.backbone, "backbone features even for a pretext model"},
      {"--threads", ARG_INDEX, &o.threads, "compute threads (default: config 'threads', 0 = all cores)"},
      {"--quiet", ARG_BOOL, &o.quiet, "no progress output"},
      {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL,
                      "scan features --model MODEL --dataset NAME [--root PATH] --out FILE.npy [--names FILE] [--csv FILE]",
                      "Runs a trained model in eval mode with the validation transform over every image of a dataset\n"
                      "and writes L2-normalised features [N, D] as float32 .npy, the image names (file names for folder\n"
                      "and list datasets, else indices) one per line, and optionally a CSV 'name,f1,...,fD'.\n"
                      "Features are the contrastive-head output for a pretext model and the backbone's otherwise\n"
                      "(--backbone forces the backbone). Feed them to 'scan select'.");
  if (rc) return rc < 0 ? 0 : rc;
  if (!o.model || !o.out) {
    fprintf(stderr, "scan features: --model and --out are required (see --help)\n");
    return 2;
  }
  scan_progress_set_quiet(o.quiet);
  scan_config *cfg = NULL;
  const char *names_path = o.names;
  scan_status status = load_config(&o, &cfg);
  if (status == SCAN_OK) status = extract(&o, cfg, &names_path);
  scan_config_free(cfg);
  return cli_report_error(status);
}
