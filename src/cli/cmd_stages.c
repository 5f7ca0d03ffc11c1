/* One command per training stage: scan pretext | mine | cluster | selflabel.
 * Each runs its stage in a run directory and resumes from its checkpoint. */
#include <stdio.h>

#include "scan/stages.h"
#include "stage_common.h"

int cmd_pretext(int argc, char **argv) {
  return stage_command_main(argc, argv, scan_stage_pretext, "pretext", "scan pretext [--config FILE] [--set K=V] [--out DIR] [--restart]",
                           "Stage 1: SimCLR contrastive training of the backbone. Writes pretext/model.safetensors,\n"
                           "a checkpoint every epoch (rerun to resume) and pretext/log.jsonl.");
}

int cmd_mine(int argc, char **argv) {
  return stage_command_main(argc, argv, scan_stage_mine, "mine", "scan mine [--config FILE] [--set K=V] [--out DIR]",
                           "Mines each image's nearest neighbours in the pretext feature space (exact, inner product).\n"
                           "Writes pretext/features-{train,val}.npy and pretext/neighbors-{train,val}.npy ([N, k+1], self first).");
}

int cmd_cluster(int argc, char **argv) {
  return stage_command_main(argc, argv, scan_stage_cluster, "cluster", "scan cluster [--config FILE] [--set K=V] [--out DIR] [--restart]",
                           "Stage 2: SCAN clustering. Trains num_heads cluster heads (and the backbone) so that images and\n"
                           "their mined neighbours share a cluster. Writes cluster/model.safetensors with the best head.");
}

int cmd_selflabel(int argc, char **argv) {
  return stage_command_main(argc, argv, scan_stage_selflabel, "selflabel", "scan selflabel [--config FILE] [--set K=V] [--out DIR] [--restart]",
                           "Stage 3: self-labelling on the model's own confident predictions.\n"
                           "Writes selflabel/model.safetensors.");
}
