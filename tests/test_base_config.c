/* The YAML configuration: defaults, reference-style files, pipeline sections, --set, error messages,
 * the resolved-config writer and the per-stage hash. */
#include <stdlib.h>
#include <string.h>

#include "../src/base/config_internal.h" /* the schema, to check its ordering invariant */
#include "scan/atomic_file.h"
#include "scan/config.h"
#include "scan/paths.h"
#include "testlib.h"

/* configs/scan/scan_cifar10.yml of the reference (spec §11.2), as shipped. */
static const char scan_cifar10_yml[] =
    "# setup\n"
    "setup: scan\n"
    "\n"
    "# Loss\n"
    "criterion: scan\n"
    "criterion_kwargs:\n"
    "   entropy_weight: 5.0\n"
    "\n"
    "# Weight update\n"
    "update_cluster_head_only: False # Update full network in SCAN\n"
    "num_heads: 1 # Only use one head\n"
    "\n"
    "# Model\n"
    "backbone: resnet18\n"
    "\n"
    "# Dataset\n"
    "train_db_name: cifar-10\n"
    "val_db_name: cifar-10\n"
    "num_classes: 10\n"
    "num_neighbors: 20\n"
    "\n"
    "# Transformations\n"
    "augmentation_strategy: ours \n"
    "augmentation_kwargs:\n"
    "   crop_size: 32\n"
    "   normalize:\n"
    "      mean: [0.4914, 0.4822, 0.4465]\n"
    "      std: [0.2023, 0.1994, 0.2010]\n"
    "   num_strong_augs: 4\n"
    "   cutout_kwargs:\n"
    "     n_holes: 1\n"
    "     length: 16\n"
    "     random: True\n"
    "\n"
    "transformation_kwargs:\n"
    "   crop_size: 32\n"
    "   normalize:\n"
    "      mean: [0.4914, 0.4822, 0.4465]\n"
    "      std: [0.2023, 0.1994, 0.2010]\n"
    "\n"
    "# Hyperparameters\n"
    "optimizer: adam\n"
    "optimizer_kwargs:\n"
    "   lr: 0.0001\n"
    "   weight_decay: 0.0001\n"
    "epochs: 50\n"
    "batch_size: 128\n"
    "num_workers: 8\n"
    "\n"
    "# Scheduler\n"
    "scheduler: constant\n";

/* configs/pretext/simclr_cifar10.yml of the reference (spec §11.1), abridged to the keys that differ in kind. */
static const char simclr_cifar10_yml[] =
    "setup: simclr\n"
    "backbone: resnet18\n"
    "model_kwargs:\n"
    "   head: mlp\n"
    "   features_dim: 128\n"
    "criterion: simclr\n"
    "criterion_kwargs:\n"
    "   temperature: 0.1 \n"
    "epochs: 500\n"
    "optimizer: sgd\n"
    "optimizer_kwargs:\n"
    "   nesterov: False\n"
    "   weight_decay: 0.0001 \n"
    "   momentum: 0.9\n"
    "   lr: 0.4\n"
    "scheduler: cosine\n"
    "scheduler_kwargs:\n"
    "   lr_decay_rate: 0.1\n"
    "batch_size: 512 \n"
    "augmentation_strategy: simclr \n"
    "augmentation_kwargs:\n"
    "   random_resized_crop:\n"
    "      size: 32\n"
    "      scale: [0.2, 1.0]\n"
    "   color_jitter_random_apply:\n"
    "      p: 0.8\n"
    "   color_jitter:\n"
    "      brightness: 0.4\n"
    "      contrast: 0.4\n"
    "      saturation: 0.4\n"
    "      hue: 0.1\n"
    "   random_grayscale: \n"
    "      p: 0.2\n";

static scan_config *parse(const char *text, const char *name) {
  scan_config *c = NULL;
  scan_status st = scan_config_parse(&c, text, strlen(text), name);
  CHECK_MSG(st == SCAN_OK && c, "%s: %s", name, scan_error_message());
  return c;
}

/* Expects the text to be rejected with a message containing every needle. */
static void expect_error(const char *text, const char *needle1, const char *needle2) {
  scan_config *c = (scan_config *)1;
  scan_status st = scan_config_parse(&c, text, strlen(text), "bad.yml");
  CHECK_MSG(st == SCAN_ERR_INPUT, "accepted: %s", text);
  CHECK(c == NULL);
  CHECK_MSG(strstr(scan_error_message(), needle1), "'%s' not in: %s", needle1, scan_error_message());
  if (needle2) CHECK_MSG(strstr(scan_error_message(), needle2), "'%s' not in: %s", needle2, scan_error_message());
}

static void test_defaults(void) {
  scan_config *c;
  CHECK(scan_config_load(&c, NULL) == SCAN_OK);
  const char *s;
  double d, list[8];
  int i, n, ints[8];
  CHECK(scan_config_get_string(c, NULL, "backbone", &s) == SCAN_OK && strcmp(s, "vgg") == 0);
  CHECK(scan_config_get_string(c, "cluster", "backbone", &s) == SCAN_OK && strcmp(s, "vgg") == 0);
  CHECK(scan_config_get_double(c, "pretext", "optimizer_kwargs.lr", &d) == SCAN_OK && d == 0.3);
  CHECK(scan_config_get_double(c, "cluster", "optimizer_kwargs.lr", &d) == SCAN_OK && d == 0.001);
  CHECK(scan_config_get_double(c, "selflabel", "optimizer_kwargs.lr", &d) == SCAN_OK && d == 0.0001);
  CHECK(scan_config_get_int(c, "cluster", "num_heads", &i) == SCAN_OK && i == 5);
  CHECK(scan_config_get_int(c, "pretext", "num_neighbors", &i) == SCAN_OK && i == 20);
  /* Until the recipe is applied, the schedule is the reference's: no warm-up, once per epoch. */
  CHECK(scan_config_get_bool(c, "pretext", "scheduler_kwargs.per_step", &i) == SCAN_OK && i == 0);
  CHECK(scan_config_get_int(c, "cluster", "head_warmup_epochs", &i) == SCAN_OK && i == 0);
  CHECK(scan_config_get_bool(c, "cluster", "augmentation_kwargs.cutout_kwargs.random", &i) == SCAN_OK && i == 1);
  CHECK(scan_config_get_ints(c, NULL, "model_kwargs.vgg_widths", ints, 8, &n) == SCAN_OK && n == 3 && ints[2] == 64);
  CHECK(scan_config_get_doubles(c, "pretext", "augmentation_kwargs.random_resized_crop.scale", list, 8, &n) ==
            SCAN_OK &&
        n == 2 && list[0] == 0.2 && list[1] == 1.0);
  /* Crops, Cutout and normalisation follow the dataset: the pipeline fills them in (test_pipeline_config). */
  CHECK(!scan_config_has_value(c, "cluster", "transformation_kwargs.normalize.std"));
  CHECK(!scan_config_has_value(c, "selflabel", "augmentation_kwargs.cutout_kwargs.length"));
  CHECK(scan_config_has_value(c, "selflabel", "augmentation_kwargs.cutout_kwargs.n_holes"));
  /* The default dataset is fashion-mnist: the recipe adds its warm-ups and its backbone learning rate. */
  CHECK(scan_config_apply_recipe(c) == SCAN_OK);
  CHECK(scan_config_get_bool(c, "pretext", "scheduler_kwargs.per_step", &i) == SCAN_OK && i == 1);
  CHECK(scan_config_get_int(c, "pretext", "scheduler_kwargs.warmup_steps", &i) == SCAN_OK && i == 100);
  CHECK(scan_config_get_double(c, "pretext", "scheduler_kwargs.lr_decay_rate", &d) == SCAN_OK && d == 0.0);
  CHECK(scan_config_get_int(c, "cluster", "head_warmup_epochs", &i) == SCAN_OK && i == 15);
  CHECK(scan_config_get_double(c, "cluster", "optimizer_kwargs.backbone_lr", &d) == SCAN_OK && d == 0.0003);
  CHECK(scan_config_get_int(c, "cluster", "epochs", &i) == SCAN_OK && i == 10);
  CHECK(!scan_config_is_set(c, "cluster", "head_warmup_epochs"));
  /* ...for those stages only, and only once however often it is applied. */
  CHECK(scan_config_get_int(c, "selflabel", "scheduler_kwargs.warmup_steps", &i) == SCAN_OK && i == 0);
  CHECK(scan_config_apply_recipe(c) == SCAN_OK);
  CHECK(scan_config_get_int(c, "pretext", "scheduler_kwargs.warmup_steps", &i) == SCAN_OK && i == 100);
  CHECK(scan_config_get_int(c, "explain", "lime_samples", &i) == SCAN_OK && i == 1000);
  CHECK(scan_config_get_string(c, "explain", "gradcam_layer", &s) == SCAN_OK && s[0] == '\0');
  CHECK(scan_config_get_string(c, "eval", "baseline", &s) == SCAN_OK && strcmp(s, "kmeans") == 0);
  CHECK(!scan_config_is_set(c, "cluster", "epochs"));
  /* No default anywhere: an input error that says which key. */
  CHECK(scan_config_get_double(c, "pretext", "temperature", &d) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "temperature") != NULL);
  /* A key outside the schema is the caller's bug. */
  CHECK(scan_config_get_int(c, NULL, "no_such_key", &i) == SCAN_ERR_INTERNAL);
  /* Asking for a type the value does not have names the source and line. */
  CHECK(scan_config_get_int(c, "pretext", "optimizer_kwargs.lr", &i) == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "<defaults>:") && strstr(scan_error_message(), "'0.3'"), "%s",
            scan_error_message());
  CHECK(scan_config_get_string(c, NULL, "model_kwargs.vgg_widths", &s) == SCAN_ERR_INPUT);
  CHECK(scan_config_get_ints(c, NULL, "model_kwargs.vgg_widths", ints, 2, &n) == SCAN_ERR_INPUT);
  scan_config_free(c);
}

static void test_reference_files(void) {
  scan_config *c = parse(scan_cifar10_yml, "scan_cifar10.yml");
  if (!c) return;
  int i, n;
  double d, mean[4];
  const char *s;
  CHECK(scan_config_get_int(c, "cluster", "epochs", &i) == SCAN_OK && i == 50);
  CHECK(scan_config_get_int(c, "cluster", "batch_size", &i) == SCAN_OK && i == 128);
  CHECK(scan_config_get_int(c, "cluster", "num_heads", &i) == SCAN_OK && i == 1);
  CHECK(scan_config_get_double(c, "cluster", "optimizer_kwargs.lr", &d) == SCAN_OK && d == 1e-4);
  CHECK(scan_config_get_bool(c, "cluster", "update_cluster_head_only", &i) == SCAN_OK && i == 0);
  CHECK(scan_config_get_int(c, "cluster", "augmentation_kwargs.cutout_kwargs.length", &i) == SCAN_OK && i == 16);
  CHECK(scan_config_get_doubles(c, "cluster", "augmentation_kwargs.normalize.mean", mean, 4, &n) == SCAN_OK && n == 3 &&
        mean[2] == 0.4465);
  CHECK(scan_config_get_string(c, "cluster", "train_db_name", &s) == SCAN_OK && strcmp(s, "cifar-10") == 0);
  /* Keys the file does not give take the reference's values, also once the recipe is applied (cifar-10 is not
   * the recipe's dataset): one learning rate for the whole network, no head warm-up. */
  CHECK(scan_config_apply_recipe(c) == SCAN_OK);
  CHECK(scan_config_get_double(c, "cluster", "optimizer_kwargs.backbone_lr", &d) == SCAN_OK && d == 0.0);
  CHECK(scan_config_get_int(c, "cluster", "head_warmup_epochs", &i) == SCAN_OK && i == 0);
  CHECK(scan_config_get_int(c, "pretext", "scheduler_kwargs.warmup_steps", &i) == SCAN_OK && i == 0);
  CHECK(scan_config_is_set(c, "cluster", "epochs") && !scan_config_is_set(c, "pretext", "epochs"));
  /* The file configures the scan stage only. */
  CHECK(scan_config_get_int(c, "pretext", "epochs", &i) == SCAN_OK && i == 10);
  scan_config_free(c);

  /* A reference-style file on the recipe's dataset: the stage it configures follows the reference, the
   * stages it leaves to the defaults keep the recipe. */
  c = parse("setup: scan\ncriterion: scan\ntrain_db_name: fashion-mnist\nepochs: 20\n", "scan_fmnist.yml");
  if (!c) return;
  CHECK(scan_config_apply_recipe(c) == SCAN_OK);
  CHECK(scan_config_get_int(c, "cluster", "head_warmup_epochs", &i) == SCAN_OK && i == 0);
  CHECK(scan_config_get_double(c, "cluster", "optimizer_kwargs.backbone_lr", &d) == SCAN_OK && d == 0.0);
  CHECK(scan_config_get_int(c, "pretext", "scheduler_kwargs.warmup_steps", &i) == SCAN_OK && i == 100);
  scan_config_free(c);
  c = parse("setup: simclr\ntrain_db_name: fashion-mnist\n", "simclr_fmnist.yml");
  if (!c) return;
  CHECK(scan_config_apply_recipe(c) == SCAN_OK);
  CHECK(scan_config_get_bool(c, "pretext", "scheduler_kwargs.per_step", &i) == SCAN_OK && i == 0);
  CHECK(scan_config_get_int(c, "cluster", "head_warmup_epochs", &i) == SCAN_OK && i == 15);
  scan_config_free(c);

  c = parse(simclr_cifar10_yml, "simclr_cifar10.yml");
  if (!c) return;
  CHECK(scan_config_get_bool(c, "pretext", "optimizer_kwargs.nesterov", &i) == SCAN_OK && i == 0);
  CHECK(scan_config_get_double(c, "pretext", "optimizer_kwargs.lr", &d) == SCAN_OK && d == 0.4);
  CHECK(scan_config_get_double(c, "pretext", "criterion_kwargs.temperature", &d) == SCAN_OK && d == 0.1);
  CHECK(scan_config_get_double(c, "pretext", "scheduler_kwargs.lr_decay_rate", &d) == SCAN_OK && d == 0.1);
  CHECK(scan_config_get_string(c, "pretext", "setup", &s) == SCAN_OK && strcmp(s, "simclr") == 0);
  scan_config_free(c);

  /* ImageNet-style keys: moco's temperature, SGD SCAN with "1." in a list (spec §11.1, §11.2). */
  c = parse("setup: moco\ntemperature: 0.07\nbackbone: resnet50\nnum_workers: 8\n", "moco.yml");
  if (c) CHECK(scan_config_get_double(c, "pretext", "temperature", &d) == SCAN_OK && d == 0.07);
  scan_config_free(c);
  c = parse("setup: scan\nupdate_cluster_head_only: True\nnum_heads: 10\naugmentation_strategy: simclr\n"
            "augmentation_kwargs:\n   random_resized_crop:\n      size: 224\n      scale: [0.2, 1.]\n"
            "optimizer: sgd\noptimizer_kwargs:\n   lr: 5.0\n   weight_decay: 0.0000\n   nesterov: False\n",
            "scan_imagenet_50.yml");
  if (c) {
    double scale[2];
    CHECK(scan_config_get_doubles(c, "cluster", "augmentation_kwargs.random_resized_crop.scale", scale, 2, &n) ==
              SCAN_OK &&
          n == 2 && scale[1] == 1.0);
    CHECK(scan_config_get_bool(c, "cluster", "update_cluster_head_only", &i) == SCAN_OK && i == 1);
  }
  scan_config_free(c);
}

/* A single-stage file's data and model keys hold for every stage; its training keys for its stage only. */
static void test_single_stage_common_keys(void) {
  scan_config *c = parse(scan_cifar10_yml, "scan_cifar10.yml");
  if (!c) return;
  static const char *const stages[] = {NULL, "pretext", "cluster", "selflabel", "eval", "explain"};
  int i;
  const char *s;
  double mean[4];
  int n;
  for (int k = 0; k < 6; k++) {
    const char *stage = stages[k];
    CHECK(scan_config_get_string(c, stage, "train_db_name", &s) == SCAN_OK && strcmp(s, "cifar-10") == 0);
    CHECK(scan_config_get_string(c, stage, "val_db_name", &s) == SCAN_OK && strcmp(s, "cifar-10") == 0);
    CHECK(scan_config_get_string(c, stage, "backbone", &s) == SCAN_OK && strcmp(s, "resnet18") == 0);
    CHECK(scan_config_get_int(c, stage, "num_classes", &i) == SCAN_OK && i == 10);
    CHECK(scan_config_get_int(c, stage, "num_neighbors", &i) == SCAN_OK && i == 20);
    CHECK(scan_config_get_int(c, stage, "num_workers", &i) == SCAN_OK && i == 8);
    CHECK(scan_config_get_int(c, stage, "transformation_kwargs.crop_size", &i) == SCAN_OK && i == 32);
    CHECK(scan_config_get_doubles(c, stage, "transformation_kwargs.normalize.std", mean, 4, &n) == SCAN_OK &&
          n == 3 && mean[0] == 0.2023);
    CHECK(scan_config_is_set(c, stage, "train_db_name"));
  }
  /* Training keys stay with the scan stage: pretext keeps its default epochs, batch size and augmentation. */
  CHECK(scan_config_get_int(c, "cluster", "batch_size", &i) == SCAN_OK && i == 128);
  CHECK(scan_config_get_int(c, "pretext", "epochs", &i) == SCAN_OK && i == 10);
  CHECK(!scan_config_is_set(c, "pretext", "batch_size") && !scan_config_is_set(c, "selflabel", "optimizer"));
  CHECK(!scan_config_is_set(c, "pretext", "augmentation_kwargs.crop_size"));
  CHECK(!scan_config_is_set(c, "selflabel", "criterion_kwargs.entropy_weight"));
  scan_config_free(c);

  /* model_kwargs (pretext head), seed, splits, data_root, image_size, fast_convolution, threads as nested and dotted keys. */
  c = parse("setup: simclr\nmodel_kwargs:\n   head: linear\n   features_dim: 64\nmodel_kwargs.width_multiplier: 0.5\n"
            "seed: 7\nthreads: 2\nfast_convolution: true\ntrain_split: train+unlabeled\nval_split: test\n"
            "data_root: /data\nimage_size: 48\nnum_neighbors_val: 3\nepochs: 99\n",
            "simclr_x.yml");
  if (!c) return;
  double d;
  CHECK(scan_config_get_string(c, "cluster", "model_kwargs.head", &s) == SCAN_OK && strcmp(s, "linear") == 0);
  CHECK(scan_config_get_int(c, "selflabel", "model_kwargs.features_dim", &i) == SCAN_OK && i == 64);
  CHECK(scan_config_get_double(c, "eval", "model_kwargs.width_multiplier", &d) == SCAN_OK && d == 0.5);
  CHECK(scan_config_get_int(c, "cluster", "seed", &i) == SCAN_OK && i == 7);
  CHECK(scan_config_get_int(c, "explain", "threads", &i) == SCAN_OK && i == 2);
  CHECK(scan_config_get_bool(c, "selflabel", "fast_convolution", &i) == SCAN_OK && i == 1);
  CHECK(scan_config_get_string(c, "cluster", "train_split", &s) == SCAN_OK && strcmp(s, "train+unlabeled") == 0);
  CHECK(scan_config_get_string(c, "eval", "val_split", &s) == SCAN_OK && strcmp(s, "test") == 0);
  CHECK(scan_config_get_string(c, "cluster", "data_root", &s) == SCAN_OK && strcmp(s, "/data") == 0);
  CHECK(scan_config_get_int(c, "selflabel", "image_size", &i) == SCAN_OK && i == 48);
  CHECK(scan_config_get_int(c, "cluster", "num_neighbors_val", &i) == SCAN_OK && i == 3);
  CHECK(scan_config_get_int(c, "pretext", "epochs", &i) == SCAN_OK && i == 99);
  CHECK(scan_config_get_int(c, "cluster", "epochs", &i) == SCAN_OK && i == 3);
  CHECK(scan_config_get_string(c, "cluster", "setup", &s) == SCAN_OK && strcmp(s, "scan") == 0);
  scan_config_free(c);
}

static void test_pipeline_sections_and_set(void) {
  const char *yml =
      "backbone: resnet18\n"
      "epochs: 7\n"
      "optimizer_kwargs: {weight_decay: 0.001}\n"
      "cluster:\n"
      "  epochs: 9\n"
      "  optimizer_kwargs:\n"
      "    lr: 0.01\n"
      "explain:\n"
      "  lime_samples: 64\n";
  scan_config *c = parse(yml, "pipe.yml");
  if (!c) return;
  int i;
  double d;
  const char *s;
  /* A user's top-level value beats a built-in stage default; the user's stage value beats both. */
  CHECK(scan_config_get_int(c, "pretext", "epochs", &i) == SCAN_OK && i == 7);
  CHECK(scan_config_get_int(c, "cluster", "epochs", &i) == SCAN_OK && i == 9);
  CHECK(scan_config_get_int(c, NULL, "epochs", &i) == SCAN_OK && i == 7);
  CHECK(scan_config_get_double(c, "cluster", "optimizer_kwargs.lr", &d) == SCAN_OK && d == 0.01);
  CHECK(scan_config_get_double(c, "selflabel", "optimizer_kwargs.weight_decay", &d) == SCAN_OK && d == 0.001);
  CHECK(scan_config_get_double(c, "selflabel", "optimizer_kwargs.lr", &d) == SCAN_OK && d == 0.0001);
  CHECK(scan_config_get_string(c, "selflabel", "backbone", &s) == SCAN_OK && strcmp(s, "resnet18") == 0);
  CHECK(scan_config_get_int(c, "explain", "lime_samples", &i) == SCAN_OK && i == 64);

  /* --set overrides the file, per stage or at the top level. */
  CHECK(scan_config_set(c, "cluster.optimizer_kwargs.lr=0.5") == SCAN_OK);
  CHECK(scan_config_get_double(c, "cluster", "optimizer_kwargs.lr", &d) == SCAN_OK && d == 0.5);
  CHECK(scan_config_set(c, "epochs=3") == SCAN_OK);
  CHECK(scan_config_get_int(c, "pretext", "epochs", &i) == SCAN_OK && i == 3);
  CHECK(scan_config_get_int(c, "cluster", "epochs", &i) == SCAN_OK && i == 9);
  CHECK(scan_config_set(c, "transformation_kwargs.normalize.mean=[0.1, 0.2, 0.3]") == SCAN_OK);
  double mean[4];
  int n;
  CHECK(scan_config_get_doubles(c, "cluster", "transformation_kwargs.normalize.mean", mean, 4, &n) == SCAN_OK && n == 3 &&
        mean[1] == 0.2);
  CHECK(scan_config_set(c, "explain.gradcam_layer=layer4") == SCAN_OK);
  CHECK(scan_config_get_string(c, "explain", "gradcam_layer", &s) == SCAN_OK && strcmp(s, "layer4") == 0);
  CHECK(scan_config_set(c, "optimizer_kwargs.lr=fast") == SCAN_ERR_INPUT);
  CHECK_MSG(strcmp(scan_error_message(), "--set: key 'optimizer_kwargs.lr' expects a number, got 'fast'") == 0, "%s",
            scan_error_message());
  CHECK(scan_config_set(c, "cluster.n_heads=2") == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "'n_heads'") && strstr(scan_error_message(), "num_heads"), "%s",
            scan_error_message());
  CHECK(scan_config_set(c, "backbone=resnet34") == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "resnet18|") != NULL);
  CHECK(scan_config_set(c, "no equals sign") == SCAN_ERR_INPUT);
  CHECK(scan_config_set(c, "criterion=scan") == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "--set: key 'criterion' belongs to one stage"), "%s", scan_error_message());
  CHECK(scan_config_set(c, "selflabel.criterion=scan") == SCAN_ERR_INPUT);
  CHECK(scan_config_set(c, "selflabel.criterion=confidence-cross-entropy") == SCAN_OK);
  /* A failed --set leaves the previous value. */
  CHECK(scan_config_get_double(c, "cluster", "optimizer_kwargs.lr", &d) == SCAN_OK && d == 0.5);
  scan_config_free(c);
}

static void test_errors(void) {
  /* Unknown key: file, line, key and the obvious intended key. */
  expect_error("seed: 1\nepochs: 3\nn_neighbors: 10\n", "bad.yml:3:", "unknown key 'n_neighbors' (did you mean 'num_neighbors'?)");
  expect_error("optimizer_kwargs:\n  lr: 0.1\n  learning_rate: 0.1\n", "bad.yml:3:", "'optimizer_kwargs.learning_rate'");
  /* Wrong type at load time, in the documented form. */
  const char *text = ("seed: 1\nthreads: 2\nbackbone: vgg\nepochs: 3\nbatch_size: 8\nnum_workers: 1\n"
               "num_classes: 3\nimage_size: 0\nfast_convolution: no\nscheduler: step\noptimizer_kwargs:\n  lr: fast\n");
  scan_config *c = (scan_config *)1;
  CHECK(scan_config_parse(&c, text, strlen(text), "my.yml") == SCAN_ERR_INPUT);
  CHECK_MSG(strcmp(scan_error_message(), "my.yml:12: key 'optimizer_kwargs.lr' expects a number, got 'fast'") == 0,
            "%s", scan_error_message());
  expect_error("epochs: 2.5\n", "bad.yml:1:", "expects an integer");
  expect_error("use_ema: maybe\n", "bad.yml:1:", "true or false");
  expect_error("fast_convolution: sometimes\n", "bad.yml:1:", "true or false");
  expect_error("epochs: [1, 2]\n", "bad.yml:1:", "got 'a list'");
  expect_error("transformation_kwargs:\n  normalize:\n    mean: [0.1, x]\n", "bad.yml:3:", "'x'");
  expect_error("optimizer_kwargs: 5\n", "bad.yml:1:", "mapping");
  expect_error("epochs: {a: 1}\n", "bad.yml:1:", "not a mapping");
  expect_error("optimizer: rmsprop\n", "one of sgd|adam", "rmsprop");
  /* Malformed YAML: libyaml's problem and the line. */
  expect_error("seed: 1\nbackbone: [vgg\n", "bad.yml:", "invalid YAML");
  expect_error("- 1\n- 2\n", "bad.yml:1:", "mapping of keys");
  expect_error("seed: 1\nseed: 2\n", "bad.yml:2:", "given twice");
  expect_error("setup: scan\npretext:\n  epochs: 1\n", "bad.yml:2:", "one stage");
  expect_error("setup: dino\n", "bad.yml:1:", "simclr|moco|scan|selflabel");
  expect_error("cluster:\n  lime_samples: 3\n", "bad.yml:2:", "'explain:'");
  expect_error("seed: 1\n---\nseed: 2\n", "bad.yml:", "one YAML document");
  /* A stage has one loss and one task: another value would be stored and ignored. */
  expect_error("setup: scan\nepochs: 3\ncriterion: simclr\n", "bad.yml:3: key 'criterion' is 'simclr'",
               "the cluster stage's criterion can only be scan");
  expect_error("pretext:\n  criterion: confidence-cross-entropy\n", "bad.yml:2:", "can only be simclr");
  expect_error("criterion: scan\n", "bad.yml:1: key 'criterion' belongs to one stage", "selflabel: confidence-cross-entropy");
  expect_error("eval:\n  criterion: scan\n", "bad.yml:2:", "belongs to one stage");
  expect_error("selflabel:\n  setup: scan\n", "bad.yml:2: key 'setup' is 'scan'", "can only be selflabel");
  scan_config *ok = parse("pretext: {criterion: simclr, setup: moco}\ncluster: {criterion: scan}\n"
                          "selflabel: {criterion: confidence-cross-entropy, setup: selflabel}\n", "ok.yml");
  scan_config_free(ok);

  /* A file on disk: the message names its path. */
  char path[512];
  snprintf(path, sizeof path, "%s/bad_key.yml", test_tmpdir());
  CHECK(scan_write_file_atomic(path, "epochs: 1\nlearning_rate: 3\n", 26) == SCAN_OK);
  CHECK(scan_config_load(&c, path) == SCAN_ERR_INPUT);
  char where[600];
  snprintf(where, sizeof where, "%s:2:", path);
  CHECK_MSG(strstr(scan_error_message(), where) != NULL, "%s", scan_error_message());
  snprintf(path, sizeof path, "%s/missing.yml", test_tmpdir());
  CHECK(scan_config_load(&c, path) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "missing.yml") != NULL);
}

/* Derived defaults sit below everything the user set; a refusal names where the value in force came from. */
static void test_derived_defaults(void) {
  scan_config *c = parse("epochs: 4\ncluster:\n  optimizer_kwargs: {lr: 0.5}\n", "user.yml");
  if (!c) return;
  int i;
  double d;
  CHECK(scan_config_set_default(c, "epochs=9", "<derived>") == SCAN_OK);
  CHECK(scan_config_get_int(c, "selflabel", "epochs", &i) == SCAN_OK && i == 4);
  CHECK(scan_config_set_default(c, "scan.optimizer_kwargs.lr=0.25", "<derived>") == SCAN_OK);
  CHECK(scan_config_get_double(c, "cluster", "optimizer_kwargs.lr", &d) == SCAN_OK && d == 0.5);
  CHECK(!scan_config_has_value(c, NULL, "transformation_kwargs.crop_size"));
  CHECK(scan_config_set_default(c, "transformation_kwargs.crop_size=30", "<derived>") == SCAN_OK);
  CHECK(scan_config_get_int(c, "pretext", "transformation_kwargs.crop_size", &i) == SCAN_OK && i == 30);
  CHECK(scan_config_has_value(c, "pretext", "transformation_kwargs.crop_size"));
  CHECK(!scan_config_is_set(c, "pretext", "transformation_kwargs.crop_size"));
  CHECK(scan_config_set_default(c, "transformation_kwargs.crop_size=big", "<derived>") == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "<derived>: key 'transformation_kwargs.crop_size' expects an integer"), "%s",
            scan_error_message());
  CHECK(scan_config_refuse(c, "cluster", "optimizer_kwargs.lr", "too %s", "fast") == SCAN_ERR_INPUT);
  CHECK_MSG(strcmp(scan_error_message(), "user.yml:3: key 'optimizer_kwargs.lr': too fast") == 0, "%s",
            scan_error_message());
  CHECK(scan_config_refuse(c, NULL, "transformation_kwargs.crop_size", "odd") == SCAN_ERR_INPUT);
  CHECK_MSG(strcmp(scan_error_message(), "<derived>: key 'transformation_kwargs.crop_size': odd") == 0, "%s",
            scan_error_message());
  scan_config_free(c);
}

static void test_write_and_hash(void) {
  const char *yml =
      "backbone: resnet18\n"
      "data_root: \"/data/my images: 2024\"\n"
      "train_split: \"yes\"\n"
      "epochs: 7\n"
      "cluster:\n"
      "  epochs: 9\n"
      "  criterion_kwargs: {entropy_weight: 2}\n"
      "selflabel:\n"
      "  epochs: 7\n" /* equal to the top level: needs no entry in the section */
      "explain:\n"
      "  lime_segmenter: slic\n";
  scan_config *c = parse(yml, "w.yml");
  if (!c) return;
  CHECK(scan_config_set(c, "pretext.optimizer_kwargs.betas=[0.8, 0.95]") == SCAN_OK);
  const char *stages[] = {NULL, "pretext", "cluster", "selflabel", "eval", "explain"};
  char path[512];
  snprintf(path, sizeof path, "%s/resolved.yml", test_tmpdir());
  CHECK_MSG(scan_config_write(c, path) == SCAN_OK, "%s", scan_error_message());
  scan_config *back = NULL;
  CHECK_MSG(scan_config_load(&back, path) == SCAN_OK, "%s", scan_error_message());
  if (back) {
    for (int s = 0; s < 6; s++)
      CHECK_MSG(scan_config_stage_hash(c, stages[s]) == scan_config_stage_hash(back, stages[s]), "stage %s",
                stages[s] ? stages[s] : "(common)");
    const char *str;
    CHECK(scan_config_get_string(back, "cluster", "data_root", &str) == SCAN_OK && strcmp(str, "/data/my images: 2024") == 0);
    CHECK(scan_config_get_string(back, NULL, "train_split", &str) == SCAN_OK && strcmp(str, "yes") == 0);
    CHECK(scan_config_get_string(back, "pretext", "setup", &str) == SCAN_OK && strcmp(str, "simclr") == 0);
    /* Writing the reloaded configuration gives the same text. */
    char path2[512];
    snprintf(path2, sizeof path2, "%s/resolved2.yml", test_tmpdir());
    CHECK(scan_config_write(back, path2) == SCAN_OK);
    unsigned char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    CHECK(scan_read_file(path, &a, &na) == SCAN_OK && scan_read_file(path2, &b, &nb) == SCAN_OK);
    CHECK(na == nb && memcmp(a, b, na) == 0);
    /* Every default is in the file: key names from all stages appear. */
    CHECK(strstr((char *)a, "lime_samples: 1000") && strstr((char *)a, "temperature: 0.2") &&
          strstr((char *)a, "vgg_widths: [16, 32, 64]"));
    free(a);
    free(b);
  }
  scan_config_free(back);

  /* The same values spelled differently hash alike. */
  scan_config *d = parse("cluster:\n  optimizer_kwargs:\n    lr: 1e-3\n", "d.yml");
  scan_config *e = parse("cluster:\n  optimizer_kwargs:\n    lr: 0.0010\n", "e.yml");
  if (d && e) CHECK(scan_config_stage_hash(d, "cluster") == scan_config_stage_hash(e, "cluster"));
  scan_config_free(d);
  scan_config_free(e);

  /* A stage key changes that stage's hash only; a common key changes every stage's. */
  uint64_t before[6], after[6];
  for (int s = 0; s < 6; s++) before[s] = scan_config_stage_hash(c, stages[s]);
  CHECK(scan_config_set(c, "cluster.epochs=10") == SCAN_OK);
  for (int s = 0; s < 6; s++) after[s] = scan_config_stage_hash(c, stages[s]);
  CHECK(after[2] != before[2]);
  CHECK(after[0] == before[0] && after[1] == before[1] && after[3] == before[3] && after[5] == before[5]);
  CHECK(scan_config_set(c, "explain.lime_samples=10") == SCAN_OK);
  CHECK(scan_config_stage_hash(c, "cluster") == after[2] && scan_config_stage_hash(c, "explain") != after[5]);
  CHECK(scan_config_set(c, "seed=5") == SCAN_OK);
  for (int s = 1; s < 6; s++) CHECK(scan_config_stage_hash(c, stages[s]) != after[s] || s == 5);
  CHECK(scan_config_stage_hash(c, "pretext") != after[1]);
  scan_config_free(c);
}

/* Keys added after run directories existed leave the stage hashes as they were while they hold their neutral value,
   so a run directory made by an earlier release stays up to date after an upgrade. The pinned hashes are those of the
   built-in defaults before conv_algorithm and sync_batchnorm existed (computed by main at 31a8ba0); a new key that
   changes them makes every user's finished stages stale: give it a neutral value, or change these on purpose.
   Changed on purpose: the cluster stage's, when the model to keep came to be chosen with the reference's entropy
   weight (cluster.selection_entropy_weight 1, before the training weight): finished cluster stages choose again. */
static void test_neutral_keys(void) {
  scan_config *c = NULL;
  CHECK(scan_config_load(&c, NULL) == SCAN_OK);
  if (!c) return;
  const char *stages[] = {"pretext", "cluster", "selflabel", "eval", "explain"};
  const uint64_t pinned[] = {0xc796614899487d78ull, 0xc58e72f97e5f880dull, 0x96c766d6f36c2f80ull, 0x0ef46ce599d5823eull,
                             0x3853f1fa12ba7103ull};
  for (int s = 0; s < 5; s++)
    CHECK_MSG(scan_config_stage_hash(c, stages[s]) == pinned[s], "stage %s: hash %016llx, before the new keys %016llx",
              stages[s], (unsigned long long)scan_config_stage_hash(c, stages[s]), (unsigned long long)pinned[s]);
  char *neutral_text = scan_config_stage_text(c, "pretext");
  CHECK(neutral_text && !strstr(neutral_text, "sync_batchnorm") && !strstr(neutral_text, "conv_algorithm") &&
        !strstr(neutral_text, "allreduce_bucket_mb"));
  /* Any other value is hashed, and a resumed stage names the change with the neutral value, not "(unset)". */
  CHECK(scan_config_set(c, "sync_batchnorm=true") == SCAN_OK);
  CHECK(scan_config_stage_hash(c, "pretext") != pinned[0]);
  char *set_text = scan_config_stage_text(c, "pretext");
  char diff[256];
  CHECK(neutral_text && set_text && scan_config_stage_diff(neutral_text, set_text, NULL, diff, sizeof diff) == 1);
  CHECK_MSG(strcmp(diff, "sync_batchnorm false -> true") == 0, "diff: %s", diff);
  CHECK(scan_config_set(c, "sync_batchnorm=false") == SCAN_OK && scan_config_stage_hash(c, "pretext") == pinned[0]);
  CHECK(scan_config_set(c, "conv_algorithm=measure") == SCAN_OK && scan_config_stage_hash(c, "cluster") != pinned[1]);
  CHECK(scan_config_set(c, "allreduce_bucket_mb=25") == SCAN_OK && scan_config_stage_hash(c, "selflabel") != pinned[2]);
  char *cluster_text = scan_config_stage_text(c, "cluster");
  CHECK(cluster_text && !strstr(cluster_text, "neighbor_refresh_epochs"));
  free(cluster_text);
  const uint64_t before_refresh = scan_config_stage_hash(c, "cluster");
  CHECK(scan_config_set(c, "cluster.neighbor_refresh_epochs=2") == SCAN_OK &&
        scan_config_stage_hash(c, "cluster") != before_refresh);
  free(neutral_text);
  free(set_text);
  scan_config_free(c);
}

/* The YAML writer nests keys in schema order, so keys that share a dotted prefix must be adjacent. */
static void test_schema_grouping(void) {
  for (int a = 0; a < config_schema_count; a++) {
    const char *key = config_schema[a].key;
    for (const char *dot = strchr(key, '.'); dot; dot = strchr(dot + 1, '.')) {
      size_t len = (size_t)(dot - key) + 1;
      int last = a;
      for (int b = a + 1; b < config_schema_count; b++)
        if (strncmp(config_schema[b].key, key, len) == 0) last = b;
      for (int b = a; b <= last; b++)
        CHECK_MSG(strncmp(config_schema[b].key, key, len) == 0, "%s splits the keys under %.*s", config_schema[b].key,
                  (int)len, key);
    }
    CHECK(config_schema[a].doc && config_schema[a].doc[0]);
  }
}

/* The clustering stage's section was `scan` before it took its command's name: a file and --set lines written that
   way are still read, into `cluster`, and a written configuration says `cluster:`. */
static void test_old_section_name(void) {
  scan_config *c = parse("scan:\n  epochs: 9\n  optimizer_kwargs: {lr: 0.5}\n", "old.yml");
  if (!c) return;
  int i = 0;
  double d = 0;
  CHECK(scan_config_get_int(c, "cluster", "epochs", &i) == SCAN_OK && i == 9);
  CHECK(scan_config_get_double(c, "cluster", "optimizer_kwargs.lr", &d) == SCAN_OK && d == 0.5);
  CHECK(scan_config_set(c, "scan.batch_size=64") == SCAN_OK);
  CHECK(scan_config_get_int(c, "cluster", "batch_size", &i) == SCAN_OK && i == 64);
  char path[SCAN_PATH_MAX];
  CHECK(scan_path_join(path, sizeof path, test_tmpdir(), "old-section.yml") == SCAN_OK);
  CHECK_MSG(scan_config_write(c, path) == SCAN_OK, "%s", scan_error_message());
  char *text = test_read_text(path, NULL);
  CHECK_MSG(text && strstr(text, "\ncluster:\n") && !strstr(text, "\nscan:\n"), "written: %s", text ? text : "(none)");
  free(text);
  scan_config_free(c);
}

/* Every range rule names sections that exist; a list with an unknown name (the clustering section's old name,
   which the schema reads as an alias but a rule does not) is counted, so such a rule cannot check nothing. */
static void test_rule_sections(void) {
  CHECK_MSG(config_check_rule_sections() == SCAN_OK, "%s", scan_error_message());
  CHECK(config_section_list_unknown("pretext,cluster,selflabel") == 0);
  CHECK(config_section_list_unknown("pretext,scan") == 1);
  CHECK(config_section_listed("pretext,cluster", "cluster") && !config_section_listed("pretext,clusters", "cluster"));
}

int main(void) {
  test_defaults();
  test_rule_sections();
  test_old_section_name();
  test_reference_files();
  test_single_stage_common_keys();
  test_pipeline_sections_and_set();
  test_errors();
  test_derived_defaults();
  test_write_and_hash();
  test_neutral_keys();
  test_schema_grouping();
  return test_main_end();
}
