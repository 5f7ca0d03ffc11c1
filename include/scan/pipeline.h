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
#include "scan/nn.h"

typedef struct {
  scan_config *cfg;     /* not owned */
  char run_dir[1024];
  scan_dataset train, val;
  int train_loaded, val_loaded;
  int threads;
  uint64_t seed;
} scan_pipeline;

scan_status scan_pipeline_open(scan_pipeline *p, scan_config *cfg, const char *run_dir);
void scan_pipeline_close(scan_pipeline *p);

/* "<run_dir>/<relative>" into buf. */
const char *scan_pipeline_path(const scan_pipeline *p, char *buf, int size, const char *relative);

/* The train split (for `stage`; STL-10 pretext may use train+unlabeled) and the validation split, loaded once. */
scan_status scan_pipeline_train_data(scan_pipeline *p, const scan_dataset **out);
scan_status scan_pipeline_val_data(scan_pipeline *p, const scan_dataset **out);

/* Network shapes and augmentation settings resolved from the config and the data. */
scan_status scan_pipeline_backbone(scan_pipeline *p, const char *stage, scan_backbone_config *out);
scan_status scan_pipeline_augment(scan_pipeline *p, const char *stage, int validation, scan_aug_config *out);
/* Creates the network for a stage: "pretext" (contrastive head) or "scan"/"selflabel" (cluster heads). */
scan_status scan_pipeline_create_net(scan_pipeline *p, const char *stage, int max_batch, scan_net **out);

/* Runs `net` in eval mode over every image of `data` with the val transform. Writes backbone features
   [count, D] (may be NULL), head-0 (or all heads) outputs [heads][count, head_dim] (may be NULL). */
scan_status scan_pipeline_predict(scan_pipeline *p, scan_net *net, const scan_dataset *data, const char *label,
                                  float *features, float **head_outputs);

/* Appends one JSON line to a log file (opened, written, flushed, closed: a crash loses nothing earlier). */
scan_status scan_log_line(const char *path, const char *json_line);

/* The stages. */
scan_status scan_stage_pretext(scan_pipeline *p);
scan_status scan_stage_mine(scan_pipeline *p);
scan_status scan_stage_cluster(scan_pipeline *p);
scan_status scan_stage_selflabel(scan_pipeline *p);

/* Every stage in order, skipping finished ones for the same config and resuming interrupted ones.
   stage_seconds (may be NULL) receives each stage's wall time (0 when skipped). */
scan_status scan_run_all(scan_pipeline *p, double *stage_seconds);

#endif
