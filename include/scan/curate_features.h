/* Features for curation (issue 11, spec §17.1): a trained scan model run in eval mode with the validation
 * transform over a dataset (the reference used training augmentations here, a defect: spec §18.15).
 * Lives in module pipeline because it needs the network; the files it writes are in include/scan/curate.h. */
#ifndef SCAN_CURATE_FEATURES_H
#define SCAN_CURATE_FEATURES_H

#include <stdint.h>

#include "scan/pipeline.h"

typedef enum {
  SCAN_FEATURES_AUTO,    /* contrastive-head output for a pretext model, backbone features for a cluster model */
  SCAN_FEATURES_BACKBONE /* backbone features (after global pooling) for any model */
} scan_features_kind;

/* Runs the model at model_path (a pretext, scan or selflabel .safetensors written by scan; the architecture
 * comes from p's configuration) over p's train split (train_db_name / train_split / data_root / image_size)
 * and returns L2-normalised rows [data->count, *dim] in *features (free()). *source says what they are:
 * "contrastive head" or "backbone". A model that does not match the configuration is SCAN_ERR_INPUT naming
 * the tensor. */
scan_status scan_pipeline_features(scan_pipeline *p, const char *model_path, scan_features_kind kind, float **features,
                                   int *dim, const char **source);

#endif
