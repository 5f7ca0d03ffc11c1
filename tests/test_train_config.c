/* Configuration resolution from the dataset (scan_pipeline_resolve_config):
 *   - each of the reference's experiment files (tests/data/reference_configs, spec §11) resolves what it
 *     leaves unset to the reference's values: the first epoch's learning rate, no warm-ups, one learning
 *     rate, the dataset's crop, Cutout length and normalisation;
 *   - the built-in Fashion-MNIST recipe resolves to its own values, and another dataset drops its extras;
 *   - folders take their crop and Cutout from their images' side (read only when nothing else gives it);
 *   - keys that could not be honoured are refused with file and line; cutout_kwargs.random reaches the
 *     augmentation. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scan/stage_settings.h" /* the schedule and optimiser settings a stage trains with */
#include "scan/atomic_file.h"
#include "scan/image_io.h"
#include "scan/pipeline.h"
#include "testlib.h"

static scan_config *resolved(const char *path_or_text, int is_text, const char *name) {
  scan_config *c = NULL;
  scan_status st = is_text ? scan_config_parse(&c, path_or_text, strlen(path_or_text), name)
                           : scan_config_load(&c, path_or_text);
  if (st == SCAN_OK) st = scan_pipeline_resolve_config(c, NULL);
  CHECK_MSG(st == SCAN_OK, "%s: %s", name, scan_error_message());
  if (st != SCAN_OK) {
    scan_config_free(c);
    return NULL;
  }
  return c;
}

static int get_int(const scan_config *c, const char *stage, const char *key) {
  int v = -12345;
  CHECK_MSG(scan_config_get_int(c, stage, key, &v) == SCAN_OK, "%s: %s", key, scan_error_message());
  return v;
}

static double first_value(const scan_config *c, const char *stage, const char *key) {
  double v[3] = {-1, -1, -1};
  int n = 0;
  CHECK_MSG(scan_config_get_doubles(c, stage, key, v, 3, &n) == SCAN_OK, "%s: %s", key, scan_error_message());
  return v[0];
}

typedef struct {
  const char *file, *stage;
  int side, cutout;
  double mean0, std0, lr;
  int epochs;
} reference_file;

/* spec §11 and §4.5 */
static const reference_file reference_files[] = {
    {"simclr_cifar10.yml", "pretext", 32, 0, 0.4914, 0.2023, 0.4, 500},
    {"simclr_cifar20.yml", "pretext", 32, 0, 0.5071, 0.2675, 0.4, 500},
    {"simclr_stl10.yml", "pretext", 96, 0, 0.485, 0.229, 0.4, 500},
    {"scan_cifar10.yml", "cluster", 32, 16, 0.4914, 0.2023, 1e-4, 50},
    {"scan_cifar20.yml", "cluster", 32, 16, 0.5071, 0.2675, 1e-4, 100},
    {"scan_stl10.yml", "cluster", 96, 32, 0.485, 0.229, 1e-4, 100},
    {"selflabel_cifar10.yml", "selflabel", 32, 16, 0.4914, 0.2023, 1e-4, 200},
    {"selflabel_cifar20.yml", "selflabel", 32, 16, 0.5071, 0.2675, 1e-4, 200},
    {"selflabel_stl10.yml", "selflabel", 96, 32, 0.485, 0.229, 1e-4, 100},
};

/* The learning rate the stage trains with at (epoch, step), as the training loop computes it. */
static const scan_train_settings *train_settings(const scan_stage_settings *all, const char *stage) {
  if (strcmp(stage, "pretext") == 0) return &all->pretext.train;
  return strcmp(stage, "cluster") == 0 ? &all->cluster.train : &all->selflabel.train;
}

static double stage_lr(scan_config *c, const char *stage, int epoch, long step, long steps_per_epoch) {
  scan_stage_settings all;
  CHECK(scan_stage_settings_read(c, &all) == SCAN_OK);
  const scan_train_settings *t = train_settings(&all, stage);
  CHECK_MSG(t->backbone.lr == t->heads.lr, "%s: backbone lr %g, heads %g", stage, t->backbone.lr, t->heads.lr);
  CHECK(t->epochs == get_int(c, stage, "epochs"));
  return scan_lr_at(&t->schedule, t->heads.lr, epoch, t->epochs, step, steps_per_epoch);
}

static void test_reference_files(void) {
  for (size_t f = 0; f < sizeof reference_files / sizeof reference_files[0]; f++) {
    const reference_file *r = &reference_files[f];
    char path[1024];
    snprintf(path, sizeof path, "%s/reference_configs/%s", test_data_dir(), r->file);
    scan_config *c = resolved(path, 0, r->file);
    if (!c) continue;
    const char *s = r->stage;
    CHECK_MSG(get_int(c, s, "epochs") == r->epochs, "%s", r->file);
    /* The reference's schedule: no warm-up, updated once per epoch, no head warm-up, one learning rate. */
    CHECK_MSG(get_int(c, s, "scheduler_kwargs.warmup_steps") == 0, "%s", r->file);
    int per_step = -1;
    CHECK(scan_config_get_bool(c, s, "scheduler_kwargs.per_step", &per_step) == SCAN_OK && per_step == 0);
    CHECK_MSG(get_int(c, "cluster", "head_warmup_epochs") == 0, "%s", r->file);
    /* Epoch 1 trains at the configured rate from its first step to its last (0.4 for SimCLR, not a warm-up). */
    CHECK_NEAR(stage_lr(c, s, 0, 0, 97), r->lr, 0, 1e-12);
    CHECK_NEAR(stage_lr(c, s, 0, 96, 97), r->lr, 0, 1e-12);
    if (strcmp(s, "pretext") == 0) { /* epoch 2: the per-epoch cosine down to lr * 0.1^3 (spec §10) */
      double floor = 0.4 * 1e-3, expected = floor + (0.4 - floor) * (1 + cos(M_PI / 500)) / 2;
      CHECK_NEAR(stage_lr(c, s, 1, 0, 97), expected, 0, 1e-12);
    }
    /* The dataset's crop, Cutout and normalisation, in every stage (the file sets only its own). */
    CHECK_MSG(get_int(c, NULL, "transformation_kwargs.crop_size") == r->side, "%s", r->file);
    CHECK_MSG(get_int(c, "pretext", "augmentation_kwargs.random_resized_crop.size") == r->side, "%s", r->file);
    CHECK_NEAR(first_value(c, "pretext", "augmentation_kwargs.normalize.mean"), r->mean0, 0, 0);
    CHECK_NEAR(first_value(c, NULL, "transformation_kwargs.normalize.std"), r->std0, 0, 0);
    static const char *const ours_stages[] = {"cluster", "selflabel"};
    for (int k = 0; k < 2; k++) {
      CHECK_MSG(get_int(c, ours_stages[k], "augmentation_kwargs.crop_size") == r->side, "%s", r->file);
      CHECK_MSG(get_int(c, ours_stages[k], "augmentation_kwargs.cutout_kwargs.length") == (r->side == 32 ? 16 : 32),
                "%s", r->file);
      CHECK_NEAR(first_value(c, ours_stages[k], "augmentation_kwargs.normalize.std"), r->std0, 0, 0);
    }
    if (r->cutout) CHECK(get_int(c, s, "augmentation_kwargs.cutout_kwargs.length") == r->cutout);
    scan_config_free(c);
  }
}

/* The built-in recipe resolves to the values it always had (the default `scan run` is unchanged). */
static void test_fashion_mnist_recipe(void) {
  scan_config *c = NULL;
  CHECK(scan_config_load(&c, NULL) == SCAN_OK);
  CHECK(scan_pipeline_resolve_config(c, NULL) == SCAN_OK);
  CHECK(get_int(c, "pretext", "scheduler_kwargs.warmup_steps") == 100);
  CHECK(get_int(c, "cluster", "head_warmup_epochs") == 15);
  CHECK(get_int(c, NULL, "transformation_kwargs.crop_size") == 28);
  CHECK(get_int(c, "pretext", "augmentation_kwargs.random_resized_crop.size") == 28);
  CHECK(get_int(c, "cluster", "augmentation_kwargs.crop_size") == 28);
  CHECK(get_int(c, "selflabel", "augmentation_kwargs.cutout_kwargs.length") == 14);
  CHECK_NEAR(first_value(c, "cluster", "augmentation_kwargs.normalize.mean"), 0.2860, 0, 0);
  CHECK_NEAR(first_value(c, NULL, "transformation_kwargs.normalize.std"), 0.3530, 0, 0);
  /* Per-step cosine after 100 warm-up steps: the first step runs at lr / 100. */
  scan_stage_settings all;
  CHECK(scan_stage_settings_read(c, &all) == SCAN_OK && all.pretext.train.schedule.per_step == 1);
  CHECK_NEAR(scan_lr_at(&all.pretext.train.schedule, 0.3, 0, 10, 0, 234), 0.003, 0, 1e-12);
  CHECK(all.cluster.train.backbone.lr == 3e-4 && all.cluster.train.heads.lr == 1e-3);
  CHECK(all.cluster.train.epochs == 10);
  /* Resolving again changes nothing. */
  uint64_t hash = scan_config_stage_hash(c, "cluster");
  CHECK(scan_pipeline_resolve_config(c, NULL) == SCAN_OK && scan_config_stage_hash(c, "cluster") == hash);
  /* sync_batchnorm: off by default; a top-level value reaches every training stage, a stage's own value beats it. */
  CHECK(!all.pretext.train.sync_batchnorm && !all.cluster.train.sync_batchnorm && !all.selflabel.train.sync_batchnorm);
  CHECK(scan_config_set(c, "sync_batchnorm=true") == SCAN_OK && scan_config_set(c, "cluster.sync_batchnorm=false") == SCAN_OK);
  CHECK(scan_stage_settings_read(c, &all) == SCAN_OK);
  CHECK(all.pretext.train.sync_batchnorm == 1 && all.cluster.train.sync_batchnorm == 0 && all.selflabel.train.sync_batchnorm == 1);
  CHECK(scan_config_set(c, "sync_batchnorm=maybe") == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "'sync_batchnorm' expects true or false, got 'maybe'"), "%s", scan_error_message());
  scan_config_free(c);

  /* The same defaults on another dataset: the reference's schedule and that dataset's values. */
  CHECK(scan_config_load(&c, NULL) == SCAN_OK);
  CHECK(scan_config_set(c, "train_db_name=cifar-10") == SCAN_OK);
  CHECK(scan_pipeline_resolve_config(c, NULL) == SCAN_OK);
  CHECK(get_int(c, "pretext", "scheduler_kwargs.warmup_steps") == 0);
  CHECK(get_int(c, "cluster", "head_warmup_epochs") == 0);
  CHECK(get_int(c, "cluster", "augmentation_kwargs.crop_size") == 32);
  CHECK(get_int(c, "cluster", "augmentation_kwargs.cutout_kwargs.length") == 16);
  CHECK_NEAR(first_value(c, "selflabel", "augmentation_kwargs.normalize.mean"), 0.4914, 0, 0);
  scan_config_free(c);
}

/* Writes `count` grey side x side PNGs into dir/class_a. */
static void write_folder(const char *dir, int side, int count) {
  char path[1200];
  snprintf(path, sizeof path, "%s/class_a", dir);
  CHECK(scan_make_dirs(path) == SCAN_OK);
  uint8_t pixels[64 * 64];
  for (int n = 0; n < count; n++) {
    for (int i = 0; i < side * side; i++) pixels[i] = (uint8_t)(i * 7 + n * 13);
    snprintf(path, sizeof path, "%s/class_a/%02d.png", dir, n);
    CHECK(scan_image_write_png(path, pixels, side, side, 1) == SCAN_OK);
  }
}

static void test_folders(void) {
  char dir[1024], yml[2048];
  snprintf(dir, sizeof dir, "%s/images32", test_tmpdir());
  write_folder(dir, 32, 3);
  /* No image_size: the side is read from the images; Cutout is half of it, as the reference's CIFAR files. */
  snprintf(yml, sizeof yml, "train_db_name: folder\nval_db_name: folder\ndata_root: %s\n", dir);
  scan_config *c = resolved(yml, 1, "folder32.yml");
  if (c) {
    CHECK(get_int(c, NULL, "transformation_kwargs.crop_size") == 32);
    CHECK(get_int(c, "pretext", "augmentation_kwargs.random_resized_crop.size") == 32);
    CHECK(get_int(c, "cluster", "augmentation_kwargs.cutout_kwargs.length") == 16);
    CHECK(get_int(c, "selflabel", "augmentation_kwargs.cutout_kwargs.length") == 16);
    CHECK_NEAR(first_value(c, "cluster", "augmentation_kwargs.normalize.mean"), 0.485, 0, 0);
    /* Not the recipe's dataset: no warm-ups. */
    CHECK(get_int(c, "cluster", "head_warmup_epochs") == 0);
    scan_config_free(c);
  }
  /* image_size gives the side without reading anything (the folder does not exist). */
  c = resolved("train_db_name: folder\ndata_root: /nonexistent/images\nimage_size: 64\n", 1, "folder64.yml");
  if (c) {
    CHECK(get_int(c, "cluster", "augmentation_kwargs.crop_size") == 64);
    CHECK(get_int(c, "cluster", "augmentation_kwargs.cutout_kwargs.length") == 21);
    scan_config_free(c);
  }
  /* A missing folder whose side is needed is an error naming it. */
  scan_config *bad = NULL;
  const char *text = "train_db_name: folder\ndata_root: /nonexistent/images\n";
  CHECK(scan_config_parse(&bad, text, strlen(text), "missing.yml") == SCAN_OK);
  CHECK(scan_pipeline_resolve_config(bad, NULL) == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "/nonexistent/images"), "%s", scan_error_message());
  scan_config_free(bad);

  /* A run keeps the images it read to learn the side; cutout_kwargs.random: false reaches the augmentation. */
  snprintf(yml, sizeof yml,
           "train_db_name: folder\nval_db_name: folder\ndata_root: %s\n"
           "cluster:\n  augmentation_kwargs:\n    cutout_kwargs: {random: false}\n",
           dir);
  CHECK(scan_config_parse(&c, yml, strlen(yml), "fixed.yml") == SCAN_OK);
  scan_pipeline p;
  char run[1100];
  snprintf(run, sizeof run, "%s/run", test_tmpdir());
  uint64_t given = scan_config_stage_hash(c, "cluster");
  CHECK_MSG(scan_pipeline_open(&p, c, run) == SCAN_OK, "%s", scan_error_message());
  CHECK(p.train_loaded && p.train.count == 3);
  /* The run resolved its own copy: the images' side is in p.cfg, and the caller's configuration is as given. */
  CHECK(get_int(p.cfg, NULL, "transformation_kwargs.crop_size") == 32);
  CHECK(scan_config_stage_hash(c, "cluster") == given && scan_config_stage_hash(p.cfg, "cluster") != given);
  scan_aug_config aug;
  CHECK(scan_pipeline_augment(&p, "cluster", 0, &aug) == SCAN_OK);
  CHECK(aug.cutout_fixed_length == 1 && aug.cutout_length == 16 && aug.out_size == 32);
  CHECK(scan_pipeline_augment(&p, "selflabel", 0, &aug) == SCAN_OK);
  CHECK(aug.cutout_fixed_length == 0 && aug.cutout_length == 16);
  scan_pipeline_close(&p);
  scan_config_free(c);
}

/* Expects the resolution of `text` to be refused with a message holding both needles. */
static void expect_refused(const char *text, const char *needle1, const char *needle2) {
  scan_config *c = NULL;
  CHECK(scan_config_parse(&c, text, strlen(text), "bad.yml") == SCAN_OK);
  if (!c) return;
  CHECK_MSG(scan_pipeline_resolve_config(c, NULL) == SCAN_ERR_INPUT, "accepted: %s", text);
  CHECK_MSG(strstr(scan_error_message(), needle1) && strstr(scan_error_message(), needle2), "%s",
            scan_error_message());
  scan_config_free(c);
}

/* Crop keys restate the one input size; another value cannot be honoured. */
static void test_crop_keys(void) {
  expect_refused("setup: scan\ntrain_db_name: cifar-10\naugmentation_kwargs:\n  crop_size: 24\n",
                 "bad.yml:4: key 'augmentation_kwargs.crop_size': 24 differs from the 32 px input", "crop_size");
  expect_refused("pretext:\n  augmentation_kwargs:\n    random_resized_crop: {size: 32}\n",
                 "bad.yml:3: key 'augmentation_kwargs.random_resized_crop.size': 32", "28 px");
  expect_refused("train_db_name: stl-10\ntransformation_kwargs: {crop_size: 64}\n"
                 "selflabel:\n  augmentation_kwargs: {crop_size: 96}\n",
                 "bad.yml:4:", "96 differs from the 64 px input");
  expect_refused("train_db_name: imagenet\n", "bad.yml:1: key 'train_db_name': 'imagenet' is not a dataset", "cifar-10");
  /* The same side is accepted, and so is a smaller input crop the stage crops follow. */
  scan_config *c = resolved("train_db_name: stl-10\ntransformation_kwargs: {crop_size: 64}\n"
                            "cluster:\n  augmentation_kwargs: {crop_size: 64}\n",
                            1, "crop64.yml");
  if (c) {
    CHECK(get_int(c, "selflabel", "augmentation_kwargs.crop_size") == 64);
    CHECK(get_int(c, "pretext", "augmentation_kwargs.random_resized_crop.size") == 64);
    CHECK(get_int(c, "cluster", "augmentation_kwargs.cutout_kwargs.length") == 21);
    scan_config_free(c);
  }
}

int main(void) {
  test_reference_files();
  test_fashion_mnist_recipe();
  test_folders();
  test_crop_keys();
  return test_main_end();
}
