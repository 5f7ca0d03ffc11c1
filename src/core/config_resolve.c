/* The defaults that follow from the dataset, resolved in one place for runs and `scan config show` alike:
 * the input crop, the augmentation crops, the Cutout length and the normalisation constants (spec §4, §11).
 * They are written into the configuration's defaults, so config.yml and `config show` say what a run uses
 * and reading config.yml back gives the same run. */
#include <stdio.h>
#include <string.h>

#include "scan/pipeline.h"

/* Normalisation constants per dataset (spec §4.5) and the side of its images (0: the files' own side). */
typedef struct {
  const char *name;
  int size;
  const char *mean, *std;
} dataset_stats;

static const dataset_stats known_stats[] = {
    {"fashion-mnist", 28, "[0.2860]", "[0.3530]"},
    {"mnist", 28, "[0.1307]", "[0.3081]"},
    {"cifar-10", 32, "[0.4914, 0.4822, 0.4465]", "[0.2023, 0.1994, 0.2010]"},
    {"cifar-20", 32, "[0.5071, 0.4867, 0.4408]", "[0.2675, 0.2565, 0.2761]"},
    {"cifar-100", 32, "[0.5071, 0.4867, 0.4408]", "[0.2675, 0.2565, 0.2761]"},
    {"stl-10", 96, "[0.485, 0.456, 0.406]", "[0.229, 0.224, 0.225]"},
    /* image folders and lists: the ImageNet statistics */
    {"folder", 0, "[0.485, 0.456, 0.406]", "[0.229, 0.224, 0.225]"},
    {"list", 0, "[0.485, 0.456, 0.406]", "[0.229, 0.224, 0.225]"},
    {"packed", 0, "[0.485, 0.456, 0.406]", "[0.229, 0.224, 0.225]"},
};

static const char *const stages[] = {"pretext", "cluster", "selflabel"};

/* The side the images will have: fixed by the format, by image_size, or (folders and lists without one)
 * read from the training images themselves, through `p` when the caller has a pipeline to keep them in. */
static scan_status image_side(scan_config *cfg, scan_pipeline *p, const dataset_stats *known, int *side) {
  *side = known->size;
  if (*side > 0) return SCAN_OK;
  SCAN_TRY(scan_config_get_int(cfg, NULL, "image_size", side));
  if (*side > 0) return SCAN_OK;
  scan_pipeline probe = {.cfg = cfg};
  const scan_dataset *train;
  scan_status st = scan_pipeline_train_data(p ? p : &probe, &train);
  if (st == SCAN_OK) *side = train->height < train->width ? train->height : train->width;
  probe.cfg = NULL; /* the caller's: closing the probe frees only its images */
  scan_pipeline_close(&probe);
  return st;
}

/* The stage keys that name the crop side only restate it: the network takes one input size, so a different
 * value could not be honoured and is refused where it was written. */
static scan_status check_stage_crop(const scan_config *cfg, const char *stage, const char *key, int crop) {
  if (!scan_config_is_set(cfg, stage, key)) return SCAN_OK;
  int value = 0;
  SCAN_TRY(scan_config_get_int(cfg, stage, key, &value));
  if (value == crop) return SCAN_OK;
  return scan_config_refuse(cfg, stage, key,
                            "%d differs from the %d px input every stage trains and evaluates on "
                            "(transformation_kwargs.crop_size, else the images' side); give the same value or leave it out",
                            value, crop);
}

static scan_status set_default(scan_config *cfg, const char *stage, const char *key, const char *value,
                               const char *source) {
  char assignment[256];
  snprintf(assignment, sizeof assignment, "%s%s%s=%s", stage ? stage : "", stage ? "." : "", key, value);
  return scan_config_set_default(cfg, assignment, source);
}

scan_status scan_pipeline_resolve_config(scan_config *cfg, scan_pipeline *p) {
  SCAN_TRY(scan_config_apply_recipe(cfg));
  const char *db = NULL;
  SCAN_TRY(scan_config_get_string(cfg, NULL, "train_db_name", &db));
  const dataset_stats *known = NULL;
  for (size_t i = 0; i < sizeof known_stats / sizeof known_stats[0]; i++)
    if (strcmp(known_stats[i].name, db) == 0) known = &known_stats[i];
  if (!known)
    return scan_config_refuse(cfg, NULL, "train_db_name",
                              "'%s' is not a dataset (fashion-mnist, mnist, cifar-10, cifar-20, cifar-100, stl-10, folder, list, packed)", db);
  char source[64], text[16];
  snprintf(source, sizeof source, "<%s defaults>", db);
  SCAN_TRY(set_default(cfg, NULL, "transformation_kwargs.normalize.mean", known->mean, source));
  SCAN_TRY(set_default(cfg, NULL, "transformation_kwargs.normalize.std", known->std, source));
  /* The input crop: the user's (0 = the images' side), else the images' side. The images are read only when
   * the side is needed and not fixed by the format or image_size. */
  int crop = 0;
  if (scan_config_is_set(cfg, NULL, "transformation_kwargs.crop_size"))
    SCAN_TRY(scan_config_get_int(cfg, NULL, "transformation_kwargs.crop_size", &crop));
  if (crop <= 0) {
    SCAN_TRY(image_side(cfg, p, known, &crop));
    snprintf(text, sizeof text, "%d", crop);
    SCAN_TRY(set_default(cfg, NULL, "transformation_kwargs.crop_size", text, source));
  }
  for (int i = 0; i < 3; i++) {
    SCAN_TRY(set_default(cfg, stages[i], "augmentation_kwargs.normalize.mean", known->mean, source));
    SCAN_TRY(set_default(cfg, stages[i], "augmentation_kwargs.normalize.std", known->std, source));
    SCAN_TRY(check_stage_crop(cfg, stages[i], "augmentation_kwargs.random_resized_crop.size", crop));
    SCAN_TRY(check_stage_crop(cfg, stages[i], "augmentation_kwargs.crop_size", crop));
    /* The pretext stage crops with RandomResizedCrop, the others with RandomCrop (spec §4.2, §4.4). */
    snprintf(text, sizeof text, "%d", crop);
    if (i == 0) {
      SCAN_TRY(set_default(cfg, stages[i], "augmentation_kwargs.random_resized_crop.size", text, source));
    } else {
      SCAN_TRY(set_default(cfg, stages[i], "augmentation_kwargs.crop_size", text, source));
      snprintf(text, sizeof text, "%d", scan_aug_cutout_length(crop));
      SCAN_TRY(set_default(cfg, stages[i], "augmentation_kwargs.cutout_kwargs.length", text, source));
    }
  }
  return SCAN_OK;
}
