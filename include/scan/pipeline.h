/* The stages of a SCAN run, each reading and writing one run directory
 * (design.md "How data flows"):
 *
 *   runs/NAME/config.yml              the resolved configuration
 *   runs/NAME/pretext/                model, checkpoint, log.jsonl, features and neighbours (.npy)
 *   runs/NAME/scan/                   model (all heads + best head), checkpoint, log.jsonl
 *   runs/NAME/selflabel/              model, checkpoint, log.jsonl
 *   runs/NAME/eval/                   metrics.json, predictions.csv, figures
 *   runs/NAME/explain/                Grad-CAM and LIME figures
 *   runs/NAME/report.html
 *
 * A stage resumes from its checkpoint after a crash and loses at most the current epoch. */
#ifndef SCAN_PIPELINE_H
#define SCAN_PIPELINE_H

#include "scan/augment.h"
#include "scan/config.h"
#include "scan/dataset.h"
#include "scan/datasets.h"
#include "scan/nn.h"
#include "scan/paths.h"
#include "scan/stage_settings.h"

typedef struct {
  scan_config *cfg;     /* the resolved configuration: a copy of the caller's, owned */
  scan_context *ctx;    /* the process's default context (scan_context_default), where the stages' nets run */
  scan_stage_settings settings; /* each stage's configuration, typed (read once at open) */
  char run_dir[SCAN_PATH_MAX];
  scan_dataset train, val;
  int train_loaded, val_loaded;
  int threads;
  uint64_t seed;
  int input_channels; /* 0 = the training images' (see scan_pipeline_set_input) */
  uint64_t train_fingerprint, val_fingerprint; /* scan_dataset_fingerprint of each split once loaded */
  int lock_fd;                                 /* the run directory's lock (scan_pipeline_lock), or -1 */
} scan_pipeline;

/* Validates the configuration (scan_config_validate), resolves a copy of it with scan_pipeline_resolve_config
   (p->cfg; the caller's cfg is left as given), reads every stage's settings (p->settings) and creates the run
   directory; writes nothing into it. */
scan_status scan_pipeline_open(scan_pipeline *p, const scan_config *cfg, const char *run_dir);
/* Fills in the defaults that depend on the dataset (after the file and every --set): the Fashion-MNIST
 * recipe's training additions for fashion-mnist only (scan_config_apply_recipe); the normalisation constants
 * of the dataset (spec §4.5); the input crop (transformation_kwargs.crop_size) = the images' side; the
 * augmentation crops = the input crop; the Cutout length = scan_aug_cutout_length(input crop). A crop key the
 * user set to another side is refused with its file and line (one network takes one input size). Folders and
 * lists without image_size are read to learn their side: into p's train split when p is given (it needs
 * p->cfg == cfg), else read and freed. `scan config show` and every run call this, so they agree. */
scan_status scan_pipeline_resolve_config(scan_config *cfg, scan_pipeline *p);
/* Takes the run directory's exclusive lock (scan/dir_lock.h) for as long as p is open, then removes the temporaries
   that killed writers left in it. Every command that changes a run directory holds it. */
scan_status scan_pipeline_lock(scan_pipeline *p);
/* Frees the data and the configuration copy and releases the lock. */
void scan_pipeline_close(scan_pipeline *p);

/* The relations between the configuration and the data that no range check can see (batch <= N, k < N for both
   splits) for `stage` ("pretext", "mine", "cluster", "selflabel"), or for every stage at once (NULL, as `scan run`
   does before its first stage). Loads both splits. */
scan_status scan_pipeline_check_data(scan_pipeline *p, const char *stage);

/* The training stages ("pretext", "cluster", "selflabel") resume from <run>/<stage>/checkpoint.safetensors only under
   the configuration they started with (epochs, threads and num_workers may change). When the checkpoint was made
   under another one: with `restart`, removes the stage's checkpoint and log so that it starts afresh; otherwise
   fails naming the keys that differ. A damaged checkpoint is refused naming the file. */
scan_status scan_pipeline_check_resume(scan_pipeline *p, const char *stage, int restart);

/* "<run_dir>/<relative>" into buf[size] (scan_path_join: a path too long is refused, naming it). */
scan_status scan_pipeline_path(const scan_pipeline *p, char *buf, size_t size, const char *relative);

/* Where the train (validation = 0) or validation split lives, from the config: name, split, root (the
   validation split's is val_data_root when set, else data_root) and image size. Strings belong to p->cfg. */
scan_status scan_pipeline_data_spec(const scan_pipeline *p, int validation, scan_dataset_spec *spec);
/* The train split (for `stage`; STL-10 pretext may use train+unlabeled) and the validation split, loaded once. */
scan_status scan_pipeline_train_data(scan_pipeline *p, const scan_dataset **out);
scan_status scan_pipeline_val_data(scan_pipeline *p, const scan_dataset **out);

/* Fixes the network's input channels (e.g. to a model file's), so that with a crop size in the config the
   network and the validation transform are resolved without loading the training images. */
void scan_pipeline_set_input(scan_pipeline *p, int channels);
/* Network shapes and augmentation settings resolved from the config and the data. */
scan_status scan_pipeline_backbone(scan_pipeline *p, const char *stage, scan_backbone_config *out);
scan_status scan_pipeline_augment(scan_pipeline *p, const char *stage, int validation, scan_aug_config *out);
/* Creates the network for a stage: "pretext" (contrastive head) or "cluster"/"selflabel" (cluster heads). */
scan_status scan_pipeline_create_net(scan_pipeline *p, const char *stage, int max_batch, scan_net **out);
/* The same with an explicit head (e.g. as many cluster heads as a model file holds). */
scan_status scan_pipeline_create_net_with_head(scan_pipeline *p, const char *stage, const scan_head_config *head,
                                               int max_batch, scan_net **out);

/* Runs `net` in eval mode over every image of `data` with the val transform. Writes backbone features
   [count, D] (may be NULL), head-0 (or all heads) outputs [heads][count, head_dim] (may be NULL). */
scan_status scan_pipeline_predict(scan_pipeline *p, scan_net *net, const scan_dataset *data, const char *label,
                                  float *features, float **head_outputs);
/* The same divided over the ranks of a data-parallel run (a collective: every rank calls it): each rank predicts a
   contiguous share of whole batches (the batches a 1-process run forms, so every row is computed from the same batch)
   and the rows are all-gathered, so every rank ends with every row. With one process it is scan_pipeline_predict.
   A rank that fails makes every rank fail (its message on its stderr, "another rank failed" on the others'). */
scan_status scan_pipeline_predict_sharded(scan_pipeline *p, scan_net *net, const scan_dataset *data, const char *label,
                                          float *features, float **head_outputs);

/* Appends one JSON line to a log file (opened, written, flushed, closed: a crash loses nothing earlier). */
scan_status scan_log_line(const char *path, const char *json_line);
/* The wall time of a stage without an epoch log (mine, eval, explain) as RUN/<relative>, a JSON object
   {"seconds", "images", "images_per_second"} that the report shows. */
scan_status scan_pipeline_write_timing(const scan_pipeline *p, const char *relative, double seconds, long images);

#endif
