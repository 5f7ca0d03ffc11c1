/* Pieces shared by the training stages: optimiser settings, learning-rate
 * schedules, checkpoints that resume, and the NaN guard. Used by the stages that train (src/stages/). */
#ifndef SCAN_PIPELINE_TRAINING_H
#define SCAN_PIPELINE_TRAINING_H

#include "scan/loader.h"
#include "scan/optim.h"
#include "scan/pipeline.h"

/* Checkpoints in <run>/<stage>/checkpoint.safetensors (stage: pretext, scan, selflabel): the model and the optimiser
   state in one file, with metadata "epoch" = finished epochs, "config" = the stage's configuration text and "data" =
   the training data's fingerprint. training_resume returns the epoch to start from (0 without a checkpoint) after
   checking that the configuration and the data are those the checkpoint was made with. */
scan_status training_resume(scan_pipeline *p, const char *stage, scan_net *net, scan_optimizer *opt, int *start_epoch);
scan_status training_checkpoint(scan_pipeline *p, const char *stage, const scan_net *net, const scan_optimizer *opt,
                                int finished_epochs, const char *extra_key, const char *extra_value);

/* A training loader: shuffled by (seed, epoch), whole batches only, `workers` threads (0 is read as 1). */
scan_loader_config training_loader_config(const scan_pipeline *p, const scan_dataset *data, scan_batch_kind kind,
                                          const scan_aug_config *aug_a, const scan_aug_config *aug_b, int batch_size,
                                          int workers);

/* Fails with a clear message when a loss is NaN or infinite. */
scan_status training_check_loss(double loss, const char *stage, int epoch, long step);

#endif
