/* The stages of a run and `scan run`, each reading and writing one run directory (scan/pipeline.h holds the
 * run context they share). */
#ifndef SCAN_STAGES_H
#define SCAN_STAGES_H

#include "scan/pipeline.h"

/* The stages. */
scan_status scan_stage_pretext(scan_pipeline *p);
scan_status scan_stage_mine(scan_pipeline *p);
scan_status scan_stage_cluster(scan_pipeline *p);
scan_status scan_stage_selflabel(scan_pipeline *p);
scan_status scan_stage_explain(scan_pipeline *p); /* Grad-CAM and LIME of every cluster prototype */

/* Evaluation of a clustering model (the run's selflabel model, else its SCAN model; or model_path) on the
   validation split: every head's metrics, the chosen head marked, predictions.csv, figures, k-means baseline. */
scan_status scan_stage_eval(scan_pipeline *p);
scan_status scan_eval_model(scan_pipeline *p, const char *model_path, int baseline);
/* How a person calls one entry of metrics.json's "heads": "SCAN head 3", "self-label head", or "head 3" for a
   model file given by hand. Eval's table and the report use it. */
struct cJSON;
void scan_eval_head_name(const struct cJSON *head, char *name, size_t size);

/* Applies cluster names (CSV: cluster,name or file_or_index,cluster,name) to the run's predictions:
   eval/predictions_named.csv and eval/cluster_names.json (the report shows them). */
scan_status scan_annotate(scan_pipeline *p, const char *names_csv);

/* Every stage in order, skipping finished ones for the same config and resuming interrupted ones.
   stage_seconds (may be NULL) receives each stage's wall time (0 when skipped). */
scan_status scan_run_all(scan_pipeline *p, double *stage_seconds);
/* The stage names of scan_run_all in order, NULL-terminated; each finished stage leaves its wall time in
   <run>/.stamps/<name>.seconds. */
const char *const *scan_run_stage_names(void);

#endif
