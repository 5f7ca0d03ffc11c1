/* The one way to load a trained model (part of the run core, below the stages, the explanations and query
 * clustering): what a model file holds, where a run keeps its final clustering model, and loading a file into a
 * network. Every load validates the whole file (each name, shape and dtype) before it changes the network, and
 * names the file and the tensor on a mismatch (scan_net_load_mapped). */
#ifndef SCAN_MODEL_LOAD_H
#define SCAN_MODEL_LOAD_H

#include "scan/pipeline.h"

/* What a clustering model file holds: its cluster heads (all of the same size), the chosen one (metadata
   best_head, 0 when absent), the stage that wrote it, and the stem's input channels (0 when the backbone is not
   recognised). SCAN_ERR_INPUT naming the file when it has no cluster head (e.g. a pretext model) or its best_head
   is not one of its heads. */
typedef struct {
  int heads, classes, chosen, in_channels;
  char stage[32];
} scan_model_info;
scan_status scan_model_info_read(const char *path, scan_model_info *info);

/* Copies the run's SCAN model (scan/model.safetensors) into a one-head cluster net: the backbone and the
   best head (metadata best_head) as cluster_head.0. *best_head (may be NULL) receives its index. */
scan_status scan_pipeline_load_scan_head(scan_pipeline *p, scan_net *net, int *best_head);
/* The run's final clustering model's file into path: selflabel/model.safetensors when self-labelling kept a
   model of its own (its "epoch" metadata > 0), else scan/model.safetensors (self-labelling discarded or not run).
   *selflabel (may be NULL) = 1 for the self-label model, 0 for the SCAN model. SCAN_ERR_INPUT naming the run
   directory when it has neither. The one lookup of the run's model: eval, explain, predict and model loading. */
scan_status scan_pipeline_cluster_model_path(const scan_pipeline *p, char *path, int size, int *selflabel);
/* The run's final clustering model as a one-head net: selflabel/model.safetensors when self-labelling kept it,
   else the SCAN model's best head. source (may be NULL) receives the file (and head) it came from. */
scan_status scan_pipeline_load_cluster_model(scan_pipeline *p, int max_batch, scan_net **out, char *source,
                                             int source_size);

/* A number stored in a safetensors file's metadata (e.g. "val_loss"), or `fallback` when the file or key is absent. */
double scan_model_metadata_number(const char *path, const char *key, double fallback);

/* Loads one cluster head of a SCAN/self-label safetensors file into the one-head network `net`:
 * the backbone, and cluster_head.<h>.* as cluster_head.0.*, h = the file's "best_head" metadata
 * (0 when absent; a best_head that is not a number or not one of the file's heads is an error naming the
 * file). The file's other heads are ignored; any other tensor missing, unexpected, or of the wrong shape or
 * dtype is an error naming the file and the tensor, and leaves `net` unchanged (scan_net_load_mapped).
 * head_used may be NULL. */
scan_status scan_load_cluster_head(scan_net *net, const char *path, int *head_used);

/* Creates the one-head clustering network and loads `path`, or when path is NULL the run's
 * final model (scan_pipeline_load_cluster_model: self-label if present, else the best SCAN head).
 * used (size used_size, may be NULL) receives the file loaded. */
scan_status scan_model_load_cluster(scan_pipeline *p, const char *path, int max_batch, scan_net **out, char *used,
                                  int used_size);

#endif
