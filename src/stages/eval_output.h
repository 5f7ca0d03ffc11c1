/* What `scan eval` writes: metrics.json assembled head by head, predictions.csv,
 * prototypes.json and the figures. Internal to src/stages. */
#ifndef SCAN_PIPELINE_EVAL_OUTPUT_H
#define SCAN_PIPELINE_EVAL_OUTPUT_H

#include <cjson/cJSON.h>

#include "scan/stages.h"
#include "scan/pipeline.h"

typedef struct {
  scan_pipeline *p;
  const scan_dataset *val;
  cJSON *root, *heads_json, *baselines_json;
  int heads, classes;
  int chosen;      /* the chosen head's position in metrics.json's "heads" (over every evaluated model) */
  int chosen_head; /* its number within its own model file */
  int topk;             /* confident members averaged per prototype */
  int baseline_skipped; /* a baseline was asked for but the data has no labels to score it */
  char dir[SCAN_PATH_MAX];
} eval_output;

scan_status eval_output_begin(eval_output *o, scan_pipeline *p, const scan_dataset *val, const char *model_path, int heads,
                              int classes, int chosen, int chosen_head);
/* One head's predictions and probabilities [n, classes]; scan_loss NaN when the val neighbours are missing.
   `model` ("cluster", "selflabel"; NULL for a model file given by hand) says which file the head belongs to. */
scan_status eval_output_add_head(eval_output *o, const char *model, int head, const int32_t *pred, const float *probs,
                                 double scan_loss);
/* The chosen head: diagnostics, predictions.csv, figures, prototypes (features [n, dim] from the backbone). */
scan_status eval_output_chosen(eval_output *o, const int32_t *pred, const float *confidence, const float *probs,
                               const float *features, int dim, int topk);
scan_status eval_output_add_baseline(eval_output *o, const char *name, const int32_t *assign, const int32_t *labels, int n,
                                     int clusters, int classes);
scan_status eval_output_finish(eval_output *o); /* writes metrics.json and prints the table */
void eval_output_abort(eval_output *o);

#endif
