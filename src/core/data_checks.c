/* The configuration against the data: what scan_config_validate cannot know before the data is loaded. Every
 * relation is checked here, for one stage or for all at once, so that `scan run` finds a neighbour count the
 * validation split cannot supply before pretext training, not after it. */
#include <stdio.h>
#include <string.h>

#include "scan/pipeline.h"

/* `stage.key` must be at most `limit`; `why` says where the limit comes from. */
static scan_status at_most(scan_pipeline *p, const char *stage, const char *key, int limit, const char *why) {
  int value = 0;
  SCAN_TRY(scan_config_get_int(p->cfg, stage, key, &value));
  if (value <= limit) return SCAN_OK;
  return scan_fail(SCAN_ERR_INPUT, "config: %s.%s = %d must be at most %d: %s", stage, key, value, limit, why);
}

static int checks(const char *stage, const char *which) { return !stage || strcmp(stage, which) == 0; }

scan_status scan_pipeline_check_data(scan_pipeline *p, const char *stage) {
  const scan_dataset *train, *val;
  SCAN_TRY(scan_pipeline_train_data(p, &train));
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  char why[160];
  /* Whole batches only (drop_last): a batch larger than the data would train on nothing. */
  snprintf(why, sizeof why, "the training split %s has %d images", train->name, train->count);
  static const char *const trained[] = {"pretext", "cluster", "selflabel"};
  for (int i = 0; i < 3; i++)
    if (checks(stage, trained[i])) SCAN_TRY(at_most(p, trained[i], "batch_size", train->count, why));
  /* An image's k neighbours are other images of its split: k < N. Mining finds them; SCAN reads them. */
  if (!checks(stage, "mine") && !checks(stage, "cluster")) return SCAN_OK;
  SCAN_TRY(at_most(p, "cluster", "num_neighbors", train->count - 1, why));
  snprintf(why, sizeof why, "the validation split %s has %d images", val->name, val->count);
  SCAN_TRY(at_most(p, "cluster", "num_neighbors_val", val->count - 1, why));
  return SCAN_OK;
}
