/* Resolves a configuration into the things every stage needs: the datasets,
 * the network shapes, the augmentation settings and the run-directory paths. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/atomic_file.h"
#include "scan/datasets.h"
#include "scan/dir_lock.h"
#include "scan/dist.h"
#include "scan/pipeline.h"

scan_status scan_pipeline_open(scan_pipeline *p, const scan_config *cfg, const char *run_dir) {
  memset(p, 0, sizeof *p);
  p->lock_fd = -1;
  if (strlen(run_dir) >= sizeof p->run_dir) return scan_fail(SCAN_ERR_INPUT, "%s: run directory path too long", run_dir);
  snprintf(p->run_dir, sizeof p->run_dir, "%s", run_dir);
  SCAN_TRY(scan_config_validate(cfg));
  SCAN_TRY(scan_config_copy(cfg, &p->cfg));
  int seed = 0;
  scan_status st = scan_config_get_int(p->cfg, NULL, "seed", &seed);
  if (st == SCAN_OK) st = scan_config_get_int(p->cfg, NULL, "threads", &p->threads);
  p->seed = (uint64_t)seed;
  p->ctx = scan_context_default();
  if (!p->ctx) st = SCAN_ERR_INTERNAL; /* the message says why */
  if (st == SCAN_OK) st = scan_pipeline_resolve_config(p->cfg, p);
  if (st == SCAN_OK) st = scan_stage_settings_read(p->cfg, &p->settings);
  if (st != SCAN_OK) {
    scan_pipeline_close(p); /* the copy, and images read to learn their side */
    return st;
  }
  scan_context_set_threads(p->ctx, p->threads);
  return scan_make_dirs(run_dir);
}

/* A run directory written before the clustering stage took its command's name keeps that stage in scan/; it
   becomes cluster/ once, under the lock, so every later command finds it where it now lives. */
static scan_status rename_old_cluster_folder(const scan_pipeline *p) {
  char old_dir[SCAN_PATH_MAX], new_dir[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, old_dir, sizeof old_dir, "scan"));
  SCAN_TRY(scan_pipeline_path(p, new_dir, sizeof new_dir, "cluster"));
  struct stat st;
  if (stat(old_dir, &st) != 0 || !S_ISDIR(st.st_mode) || stat(new_dir, &st) == 0) return SCAN_OK;
  if (rename(old_dir, new_dir) != 0)
    return scan_fail(SCAN_ERR_INPUT, "%s: cannot rename to %s (the clustering stage's folder is now cluster/): %s", old_dir,
                     new_dir, strerror(errno));
  fprintf(stderr, "%s: renamed to %s (the clustering stage's folder is now called cluster/)\n", old_dir, new_dir);
  return SCAN_OK;
}

scan_status scan_pipeline_lock(scan_pipeline *p) {
  /* Under mpirun rank 0 holds the lock and writes for every rank; the others only read, once rank 0 has the
     directory in order (the barrier). A failure on rank 0 reaches main, which stops every rank. */
  if (scan_dist_is_root()) {
    SCAN_TRY(scan_dir_lock(p->run_dir, &p->lock_fd));
    SCAN_TRY(rename_old_cluster_folder(p));
    /* Only now: before the lock, a temporary could belong to the other command's write in progress. */
    scan_remove_stale_temporaries(p->run_dir, 2, p->run_dir);
  }
  scan_dist_barrier();
  return SCAN_OK;
}

void scan_pipeline_close(scan_pipeline *p) {
  if (p->train_loaded) scan_dataset_free(&p->train);
  if (p->val_loaded) scan_dataset_free(&p->val);
  p->train_loaded = p->val_loaded = 0;
  scan_dir_unlock(p->lock_fd);
  p->lock_fd = -1;
  scan_config_free(p->cfg);
  p->cfg = NULL;
}

scan_status scan_pipeline_path(const scan_pipeline *p, char *buf, size_t size, const char *relative) {
  return scan_path_join(buf, size, p->run_dir, relative);
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
                     "config: %s '%s' is not a dataset (fashion-mnist, mnist, cifar-10, cifar-20, cifar-100, stl-10, folder, list, packed)",
                     db_key, spec->name);
  if (validation && val_root && val_root[0]) root = val_root;
  spec->root = root && root[0] ? root : NULL;
  return SCAN_OK;
}

/* Either split may stream (data_streaming: auto streams what would not fit in data_cache_mb; each split has a
   cache of its own): every reader of images goes through scan_dataset_read, so nothing needs a split whole. */
static scan_status load_split(scan_pipeline *p, int validation, scan_dataset *out) {
  scan_dataset_spec spec;
  SCAN_TRY(scan_pipeline_data_spec(p, validation, &spec));
  const char *streaming = "auto";
  int cache_mb = SCAN_DEFAULT_CACHE_MB;
  SCAN_TRY(scan_config_get_string(p->cfg, NULL, "data_streaming", &streaming));
  SCAN_TRY(scan_config_get_int(p->cfg, NULL, "data_cache_mb", &cache_mb));
  spec.streaming = strcmp(streaming, "on") == 0 ? SCAN_STREAM_ON : strcmp(streaming, "off") == 0 ? SCAN_STREAM_OFF
                                                                                                 : SCAN_STREAM_AUTO;
  spec.cache_mb = cache_mb;
  return scan_dataset_load(out, &spec);
}

scan_status scan_pipeline_train_data(scan_pipeline *p, const scan_dataset **out) {
  if (!p->train_loaded) {
    SCAN_TRY(load_split(p, 0, &p->train));
    p->train_loaded = 1;
    p->train_fingerprint = scan_dataset_fingerprint(&p->train);
  }
  *out = &p->train;
  return SCAN_OK;
}

scan_status scan_pipeline_val_data(scan_pipeline *p, const scan_dataset **out) {
  if (!p->val_loaded) {
    SCAN_TRY(load_split(p, 1, &p->val));
    p->val_loaded = 1;
    p->val_fingerprint = scan_dataset_fingerprint(&p->val);
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
  if (count == 2) { /* 0 < min <= max <= 1: scan_config_validate */
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
  if (scan_config_has_value(c, stage, "augmentation_kwargs.cutout_kwargs.random")) {
    int random = 1;
    SCAN_TRY(scan_config_get_bool(c, stage, "augmentation_kwargs.cutout_kwargs.random", &random));
    out->cutout_fixed_length = !random;
  }
  SCAN_TRY(optional_double(c, stage, "augmentation_kwargs.random_erasing.p", &out->erasing_p));
  SCAN_TRY(optional_double(c, stage, "augmentation_kwargs.random_erasing.min", &out->erasing_min));
  SCAN_TRY(optional_double(c, stage, "augmentation_kwargs.random_erasing.max", &out->erasing_max));
  /* The ranges of these values (probabilities in [0, 1], num_strong_augs 0..14, ...) were checked with the whole
     configuration by scan_config_validate when the pipeline was opened. */
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
    if (strcmp(stage, "cluster") == 0) SCAN_TRY(scan_config_get_int(p->cfg, stage, "num_heads", &head.num_heads));
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
  SCAN_TRY(scan_net_create(out, p->ctx, &backbone, head, max_batch, p->seed));
  int fast = 1;
  SCAN_TRY(scan_config_get_bool(p->cfg, NULL, "fast_convolution", &fast));
  scan_net_set_fast_convolution(*out, fast);
  return SCAN_OK;
}

scan_status scan_log_line(const char *path, const char *json_line) {
  if (!scan_dist_is_root()) return SCAN_OK; /* rank 0 keeps the logs */
  FILE *f = fopen(path, "a");
  if (!f) return scan_fail(SCAN_ERR_INPUT, "%s: cannot append: %s", path, strerror(errno));
  fprintf(f, "%s\n", json_line);
  return fclose(f) == 0 ? SCAN_OK : scan_fail(SCAN_ERR_INPUT, "%s: write failed: %s", path, strerror(errno));
}
