/* Resolves a configuration into the things every stage needs: the datasets,
 * the network shapes, the augmentation settings and the run-directory paths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/datasets.h"
#include "scan/pipeline.h"

/* Normalisation constants per dataset (spec §4.5); used when the config does not set its own. */
typedef struct { const char *name; int size; const char *mean, *std; } dataset_stats;
static const dataset_stats known_stats[] = {
    {"fashion-mnist", 28, "[0.2860]", "[0.3530]"},
    {"mnist", 28, "[0.1307]", "[0.3081]"},
    {"cifar-10", 32, "[0.4914, 0.4822, 0.4465]", "[0.2023, 0.1994, 0.2010]"},
    {"cifar-20", 32, "[0.5071, 0.4867, 0.4408]", "[0.2675, 0.2565, 0.2761]"},
    {"cifar-100", 32, "[0.5071, 0.4867, 0.4408]", "[0.2675, 0.2565, 0.2761]"},
    {"stl-10", 96, "[0.485, 0.456, 0.406]", "[0.229, 0.224, 0.225]"},
    /* image folders and lists: the ImageNet statistics; size 0 = the images' own size */
    {"folder", 0, "[0.485, 0.456, 0.406]", "[0.229, 0.224, 0.225]"},
    {"list", 0, "[0.485, 0.456, 0.406]", "[0.229, 0.224, 0.225]"},
};

static const dataset_stats *stats_for(const char *name) {
  for (size_t i = 0; i < sizeof known_stats / sizeof known_stats[0]; i++)
    if (strcmp(known_stats[i].name, name) == 0) return &known_stats[i];
  return NULL;
}

/* Sets `stage.key=value` unless the user set that key (for the stage or at top level). */
static scan_status default_value(scan_config *cfg, const char *stage, const char *key, const char *value) {
  if (scan_config_is_set(cfg, stage, key)) return SCAN_OK;
  char assignment[256];
  snprintf(assignment, sizeof assignment, "%s%s%s=%s", stage ? stage : "", stage ? "." : "", key, value);
  return scan_config_set(cfg, assignment);
}

/* The built-in defaults describe Fashion-MNIST. For another dataset, the values that depend on the data
   (normalisation constants, crop sizes, Cutout length) are resolved here INTO the configuration, so that
   config.yml shows what was used and reading config.yml back gives the same run. */
static scan_status resolve_dataset_defaults(scan_config *cfg) {
  const char *db = NULL;
  SCAN_TRY(scan_config_get_string(cfg, NULL, "train_db_name", &db));
  const dataset_stats *known = stats_for(db);
  if (!known || strcmp(db, "fashion-mnist") == 0) return SCAN_OK;
  int size = known->size;
  if (size == 0) SCAN_TRY(scan_config_get_int(cfg, NULL, "image_size", &size));
  char size_text[16], cutout_text[16];
  snprintf(size_text, sizeof size_text, "%d", size);
  snprintf(cutout_text, sizeof cutout_text, "%d", size <= 32 ? size / 2 : size / 3); /* 16 for 32 px, 32 for 96 px */
  SCAN_TRY(default_value(cfg, NULL, "transformation_kwargs.normalize.mean", known->mean));
  SCAN_TRY(default_value(cfg, NULL, "transformation_kwargs.normalize.std", known->std));
  SCAN_TRY(default_value(cfg, NULL, "transformation_kwargs.crop_size", size_text));
  static const char *const stages[] = {"pretext", "scan", "selflabel"};
  for (int i = 0; i < 3; i++) {
    SCAN_TRY(default_value(cfg, stages[i], "augmentation_kwargs.normalize.mean", known->mean));
    SCAN_TRY(default_value(cfg, stages[i], "augmentation_kwargs.normalize.std", known->std));
    if (size <= 0) continue;
    if (i == 0) SCAN_TRY(default_value(cfg, stages[i], "augmentation_kwargs.random_resized_crop.size", size_text));
    else {
      SCAN_TRY(default_value(cfg, stages[i], "augmentation_kwargs.crop_size", size_text));
      SCAN_TRY(default_value(cfg, stages[i], "augmentation_kwargs.cutout_kwargs.length", cutout_text));
    }
  }
  return SCAN_OK;
}

scan_status scan_pipeline_open(scan_pipeline *p, scan_config *cfg, const char *run_dir) {
  memset(p, 0, sizeof *p);
  p->cfg = cfg;
  if (strlen(run_dir) >= sizeof p->run_dir - 64) return scan_fail(SCAN_ERR_INPUT, "%s: run directory path too long", run_dir);
  snprintf(p->run_dir, sizeof p->run_dir, "%s", run_dir);
  int seed = 0;
  SCAN_TRY(scan_config_get_int(cfg, NULL, "seed", &seed));
  SCAN_TRY(scan_config_get_int(cfg, NULL, "threads", &p->threads));
  if (p->threads < 0) return scan_fail(SCAN_ERR_INPUT, "config: threads must be >= 0, got %d", p->threads);
  p->seed = (uint64_t)seed;
  SCAN_TRY(resolve_dataset_defaults(cfg));
  if (p->threads > 0) scan_net_set_threads(p->threads);
  return scan_make_dirs(run_dir);
}

void scan_pipeline_close(scan_pipeline *p) {
  if (p->train_loaded) scan_dataset_free(&p->train);
  if (p->val_loaded) scan_dataset_free(&p->val);
  p->train_loaded = p->val_loaded = 0;
}

const char *scan_pipeline_path(const scan_pipeline *p, char *buf, int size, const char *relative) {
  snprintf(buf, (size_t)size, "%s/%s", p->run_dir, relative);
  return buf;
}

scan_status scan_pipeline_data_spec(const scan_pipeline *p, int validation, scan_dataset_spec *spec) {
  memset(spec, 0, sizeof *spec);
  const char *db_key = validation ? "val_db_name" : "train_db_name";
  const char *root = NULL, *val_root = NULL;
  SCAN_TRY(scan_config_get_string(p->cfg, NULL, db_key, &spec->name));
  SCAN_TRY(scan_config_get_string(p->cfg, NULL, validation ? "val_split" : "train_split", &spec->split));
  SCAN_TRY(scan_config_get_string(p->cfg, NULL, "data_root", &root));
  SCAN_TRY(scan_config_get_string(p->cfg, NULL, "val_data_root", &val_root));
  SCAN_TRY(scan_config_get_int(p->cfg, NULL, "image_size", &spec->image_size));
  if (!scan_dataset_name_valid(spec->name))
    return scan_fail(SCAN_ERR_INPUT,
                     "config: %s '%s' is not a dataset (fashion-mnist, mnist, cifar-10, cifar-20, cifar-100, stl-10, folder, list)",
                     db_key, spec->name);
  if (validation && val_root && val_root[0]) root = val_root;
  spec->root = root && root[0] ? root : NULL;
  return SCAN_OK;
}

static scan_status load_split(scan_pipeline *p, int validation, scan_dataset *out) {
  scan_dataset_spec spec;
  SCAN_TRY(scan_pipeline_data_spec(p, validation, &spec));
  return scan_dataset_load(out, &spec);
}

scan_status scan_pipeline_train_data(scan_pipeline *p, const scan_dataset **out) {
  if (!p->train_loaded) {
    SCAN_TRY(load_split(p, 0, &p->train));
    p->train_loaded = 1;
  }
  *out = &p->train;
  return SCAN_OK;
}

scan_status scan_pipeline_val_data(scan_pipeline *p, const scan_dataset **out) {
  if (!p->val_loaded) {
    SCAN_TRY(load_split(p, 1, &p->val));
    p->val_loaded = 1;
    if (p->train_loaded && (p->val.height != p->train.height || p->val.width != p->train.width ||
                            p->val.channels != p->train.channels))
      return scan_fail(SCAN_ERR_INPUT, "the train images are %dx%dx%d but the val images are %dx%dx%d", p->train.height,
                       p->train.width, p->train.channels, p->val.height, p->val.width, p->val.channels);
  }
  *out = &p->val;
  return SCAN_OK;
}

/* The network's input: channels, and the crop size (transformation_kwargs.crop_size, 0 = the images' own
   size). Both come from the training images unless scan_pipeline_set_input fixed them (a model predicting
   other images needs neither the training images nor their folder). */
static scan_status input_shape(scan_pipeline *p, int *channels, int *size) {
  int crop = 0;
  SCAN_TRY(scan_config_get_int(p->cfg, NULL, "transformation_kwargs.crop_size", &crop));
  if (p->input_channels > 0 && crop > 0) {
    *channels = p->input_channels;
    *size = crop;
    return SCAN_OK;
  }
  const scan_dataset *train;
  SCAN_TRY(scan_pipeline_train_data(p, &train));
  if (crop == 0) crop = train->height < train->width ? train->height : train->width;
  if (crop < 0 || crop > train->height || crop > train->width)
    return scan_fail(SCAN_ERR_INPUT, "config: transformation_kwargs.crop_size %d does not fit the %dx%d images", crop,
                     train->height, train->width);
  *channels = p->input_channels > 0 ? p->input_channels : train->channels;
  *size = crop;
  return SCAN_OK;
}

void scan_pipeline_set_input(scan_pipeline *p, int channels) { p->input_channels = channels; }

scan_status scan_pipeline_backbone(scan_pipeline *p, const char *stage, scan_backbone_config *out) {
  memset(out, 0, sizeof *out);
  const char *name = NULL;
  SCAN_TRY(scan_config_get_string(p->cfg, stage, "backbone", &name));
  if (strcmp(name, "vgg") == 0) out->kind = SCAN_BACKBONE_VGG;
  else if (strcmp(name, "resnet18") == 0) out->kind = SCAN_BACKBONE_RESNET18_CIFAR;
  else if (strcmp(name, "resnet18-stl") == 0) out->kind = SCAN_BACKBONE_RESNET18_STL;
  else if (strcmp(name, "resnet50") == 0) out->kind = SCAN_BACKBONE_RESNET50;
  else return scan_fail(SCAN_ERR_INPUT, "config: backbone '%s' is not one of vgg, resnet18, resnet18-stl, resnet50", name);
  int size = 0;
  SCAN_TRY(input_shape(p, &out->in_channels, &size));
  out->height = out->width = size;
  SCAN_TRY(scan_config_get_double(p->cfg, stage, "model_kwargs.width_multiplier", &out->width_multiplier));
  if (!(out->width_multiplier > 0 && out->width_multiplier <= 8))
    return scan_fail(SCAN_ERR_INPUT, "config: model_kwargs.width_multiplier must be in (0, 8], got %g", out->width_multiplier);
  SCAN_TRY(scan_config_get_ints(p->cfg, stage, "model_kwargs.vgg_widths", out->vgg_widths, 8, &out->vgg_stages));
  if (out->kind == SCAN_BACKBONE_VGG && out->vgg_stages < 1)
    return scan_fail(SCAN_ERR_INPUT, "config: model_kwargs.vgg_widths needs at least one stage width");
  for (int i = 0; i < out->vgg_stages; i++)
    if (out->vgg_widths[i] < 1 || out->vgg_widths[i] > 4096)
      return scan_fail(SCAN_ERR_INPUT, "config: model_kwargs.vgg_widths[%d] = %d is out of range", i, out->vgg_widths[i]);
  return SCAN_OK;
}

static scan_status normalisation(scan_pipeline *p, const char *stage, const char *prefix, int channels, float *mean,
                                 float *std) {
  char mean_key[128], std_key[128];
  snprintf(mean_key, sizeof mean_key, "%s.normalize.mean", prefix);
  snprintf(std_key, sizeof std_key, "%s.normalize.std", prefix);
  double m[3], s[3];
  int nm = 0, ns = 0;
  SCAN_TRY(scan_config_get_doubles(p->cfg, stage, mean_key, m, 3, &nm));
  SCAN_TRY(scan_config_get_doubles(p->cfg, stage, std_key, s, 3, &ns));
  if (channels == 1 && nm == 3 && ns == 3) { /* grey images with RGB constants: their average */
    m[0] = (m[0] + m[1] + m[2]) / 3;
    s[0] = (s[0] + s[1] + s[2]) / 3;
    nm = ns = 1;
  }
  if ((nm != 1 && nm != channels) || nm != ns)
    return scan_fail(SCAN_ERR_INPUT, "config: %s has %d values and %s %d, but the images have %d channel(s)", mean_key, nm,
                     std_key, ns, channels);
  for (int c = 0; c < channels; c++) {
    mean[c] = (float)m[nm == 1 ? 0 : c];
    std[c] = (float)s[nm == 1 ? 0 : c];
    if (!(std[c] > 0)) return scan_fail(SCAN_ERR_INPUT, "config: %s must be positive", std_key);
  }
  return SCAN_OK;
}

/* Augmentation keys differ between strategies (a simclr stage has no cutout settings): a key that is neither
   set by the user nor given a default for this stage keeps the strategy's own default. */
static scan_status optional_double(const scan_config *c, const char *stage, const char *key, double *value) {
  double v = *value;
  if (scan_config_get_double(c, stage, key, &v) == SCAN_OK) { *value = v; return SCAN_OK; }
  if (scan_config_is_set(c, stage, key)) return scan_config_get_double(c, stage, key, value);
  scan_error_clear();
  return SCAN_OK;
}

static scan_status optional_int(const scan_config *c, const char *stage, const char *key, int *value) {
  int v = *value;
  if (scan_config_get_int(c, stage, key, &v) == SCAN_OK) { *value = v; return SCAN_OK; }
  if (scan_config_is_set(c, stage, key)) return scan_config_get_int(c, stage, key, value);
  scan_error_clear();
  return SCAN_OK;
}

scan_status scan_pipeline_augment(scan_pipeline *p, const char *stage, int validation, scan_aug_config *out) {
  int size = 0, channels = 0;
  SCAN_TRY(input_shape(p, &channels, &size));
  if (validation) {
    scan_aug_default(out, SCAN_AUG_VAL, size, channels);
    return normalisation(p, stage, "transformation_kwargs", channels, out->mean, out->std);
  }
  const char *strategy = NULL;
  SCAN_TRY(scan_config_get_string(p->cfg, stage, "augmentation_strategy", &strategy));
  scan_aug_strategy kind;
  if (strcmp(strategy, "simclr") == 0) kind = SCAN_AUG_SIMCLR;
  else if (strcmp(strategy, "ours") == 0 || strcmp(strategy, "scan") == 0) kind = SCAN_AUG_OURS;
  else if (strcmp(strategy, "standard") == 0) kind = SCAN_AUG_STANDARD;
  else if (strcmp(strategy, "val") == 0) kind = SCAN_AUG_VAL;
  else return scan_fail(SCAN_ERR_INPUT, "config: augmentation_strategy '%s' is not one of simclr, ours, standard, val", strategy);
  scan_aug_default(out, kind, size, channels);
  scan_config *c = p->cfg;
  double scale[2];
  int count = 0;
  if (scan_config_get_doubles(c, stage, "augmentation_kwargs.random_resized_crop.scale", scale, 2, &count) != SCAN_OK) {
    if (scan_config_is_set(c, stage, "augmentation_kwargs.random_resized_crop.scale"))
      return scan_config_get_doubles(c, stage, "augmentation_kwargs.random_resized_crop.scale", scale, 2, &count);
    count = 0;
  }
  if (count == 2) {
    if (!(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1))
      return scan_fail(SCAN_ERR_INPUT, "config: augmentation_kwargs.random_resized_crop.scale must be 0 < min <= max <= 1");
    out->rrc_scale_min = scale[0];
    out->rrc_scale_max = scale[1];
  }
  SCAN_TRY(optional_double(c, stage, "augmentation_kwargs.color_jitter_random_apply.p", &out->jitter_p));
  SCAN_TRY(optional_double(c, stage, "augmentation_kwargs.color_jitter.brightness", &out->brightness));
  SCAN_TRY(optional_double(c, stage, "augmentation_kwargs.color_jitter.contrast", &out->contrast));
  SCAN_TRY(optional_double(c, stage, "augmentation_kwargs.color_jitter.saturation", &out->saturation));
  SCAN_TRY(optional_double(c, stage, "augmentation_kwargs.color_jitter.hue", &out->hue));
  SCAN_TRY(optional_double(c, stage, "augmentation_kwargs.random_grayscale.p", &out->grayscale_p));
  SCAN_TRY(optional_int(c, stage, "augmentation_kwargs.num_strong_augs", &out->num_strong_augs));
  SCAN_TRY(optional_int(c, stage, "augmentation_kwargs.cutout_kwargs.n_holes", &out->cutout_holes));
  SCAN_TRY(optional_int(c, stage, "augmentation_kwargs.cutout_kwargs.length", &out->cutout_length));
  SCAN_TRY(optional_double(c, stage, "augmentation_kwargs.random_erasing.p", &out->erasing_p));
  SCAN_TRY(optional_double(c, stage, "augmentation_kwargs.random_erasing.min", &out->erasing_min));
  SCAN_TRY(optional_double(c, stage, "augmentation_kwargs.random_erasing.max", &out->erasing_max));
  const double probabilities[] = {out->jitter_p, out->grayscale_p, out->erasing_p};
  for (int i = 0; i < 3; i++)
    if (!(probabilities[i] >= 0 && probabilities[i] <= 1))
      return scan_fail(SCAN_ERR_INPUT, "config: augmentation probabilities must be in [0, 1]");
  if (out->num_strong_augs < 0 || out->num_strong_augs > 14 || out->cutout_holes < 0 || out->cutout_length < 0)
    return scan_fail(SCAN_ERR_INPUT, "config: num_strong_augs must be 0..14 and cutout values >= 0");
  return normalisation(p, stage, "augmentation_kwargs", channels, out->mean, out->std);
}

scan_status scan_pipeline_create_net(scan_pipeline *p, const char *stage, int max_batch, scan_net **out) {
  scan_head_config head = {0};
  if (strcmp(stage, "pretext") == 0) {
    const char *kind = NULL;
    SCAN_TRY(scan_config_get_string(p->cfg, stage, "model_kwargs.head", &kind));
    if (strcmp(kind, "mlp") == 0) head.kind = SCAN_HEAD_MLP;
    else if (strcmp(kind, "linear") == 0) head.kind = SCAN_HEAD_LINEAR;
    else return scan_fail(SCAN_ERR_INPUT, "config: model_kwargs.head '%s' is not mlp or linear", kind);
    SCAN_TRY(scan_config_get_int(p->cfg, stage, "model_kwargs.features_dim", &head.features_dim));
    if (head.features_dim < 1 || head.features_dim > 65536)
      return scan_fail(SCAN_ERR_INPUT, "config: model_kwargs.features_dim %d is out of range", head.features_dim);
  } else {
    head.kind = SCAN_HEAD_CLUSTER;
    SCAN_TRY(scan_config_get_int(p->cfg, stage, "num_classes", &head.num_classes));
    head.num_heads = 1;
    if (strcmp(stage, "scan") == 0) SCAN_TRY(scan_config_get_int(p->cfg, stage, "num_heads", &head.num_heads));
    if (head.num_classes < 2 || head.num_classes > 10000)
      return scan_fail(SCAN_ERR_INPUT, "config: num_classes must be 2..10000, got %d", head.num_classes);
    if (head.num_heads < 1 || head.num_heads > 100)
      return scan_fail(SCAN_ERR_INPUT, "config: num_heads must be 1..100, got %d", head.num_heads);
  }
  return scan_pipeline_create_net_with_head(p, stage, &head, max_batch, out);
}

scan_status scan_pipeline_create_net_with_head(scan_pipeline *p, const char *stage, const scan_head_config *head,
                                               int max_batch, scan_net **out) {
  scan_backbone_config backbone;
  SCAN_TRY(scan_pipeline_backbone(p, stage, &backbone));
  SCAN_TRY(scan_net_create(out, &backbone, head, max_batch, p->seed));
  int fast = 1;
  SCAN_TRY(scan_config_get_bool(p->cfg, NULL, "fast_convolution", &fast));
  scan_net_set_fast_convolution(*out, fast);
  return SCAN_OK;
}

scan_status scan_log_line(const char *path, const char *json_line) {
  FILE *f = fopen(path, "a");
  if (!f) return scan_fail(SCAN_ERR_INPUT, "%s: cannot append", path);
  fprintf(f, "%s\n", json_line);
  return fclose(f) == 0 ? SCAN_OK : scan_fail(SCAN_ERR_INPUT, "%s: write failed", path);
}
