/* Predicting new images with a trained clustering model (`scan predict`): image files (a folder or a list)
 * are streamed batch by batch (decoded, converted to the model's channel count, put through the model's own
 * validation transform, predicted), so memory does not grow with the number of images; a file that cannot
 * be decoded is reported and skipped. Other dataset formats (IDX, CIFAR, STL-10) are read whole as their
 * readers do, then predicted the same way.
 *
 * Writes into out_dir:
 *   predictions.csv  index,file,cluster,name,confidence,top1_cluster,top1_prob,...,topK_cluster,topK_prob
 *                    (name: the cluster's name when the run was annotated, else empty)
 *   failed.csv       file,error of every image that could not be read (only when some failed)
 *   summary.json     the model, counts, and each cluster's size and name
 * and optionally one folder per cluster holding links to (or copies of) its images. */
#ifndef SCAN_PREDICT_H
#define SCAN_PREDICT_H

#include <cjson/cJSON.h>

#include "scan/pipeline.h"

typedef enum { SCAN_SORT_NONE, SCAN_SORT_LINK, SCAN_SORT_COPY } scan_sort_mode;

typedef struct {
  const char *model_path;   /* NULL: the run's final model (selflabel, else the SCAN model's best head) */
  scan_dataset_spec images; /* what to predict; name NULL: the run's validation split */
  const char *out_dir;      /* NULL: <run>/predict */
  scan_sort_mode sort;
  const char *sort_dir;     /* one sub-folder per cluster, named by the cluster's name or cluster_XX */
  int top_k;                /* probabilities per row (clamped to 1..clusters) */
  /* Called for each image that cannot be read, as it happens (may be NULL). */
  void (*on_failure)(void *context, const char *file, const char *message);
  void *failure_context;
} scan_predict_request;

typedef struct {
  long total, predicted, failed;
  char out_dir[SCAN_PATH_MAX];
  cJSON *summary; /* what summary.json holds; the caller frees it with cJSON_Delete */
} scan_predict_result;

/* SCAN_OK when at least one image was predicted (result->failed says how many were not); SCAN_ERR_INPUT naming
   the file for a bad model, folder, list or dataset, or when no image at all could be read. */
scan_status scan_predict(scan_pipeline *p, const scan_predict_request *request, scan_predict_result *result);

#endif
