/* One command per training stage: scan pretext | mine | cluster | selflabel.
 * Each runs its stage in a run directory and resumes from its checkpoint. */
#include <stdio.h>

#include "stage_common.h"

typedef scan_status (*stage_fn)(scan_pipeline *p);

static int run_stage_command(int argc, char **argv, stage_fn fn, const char *usage, const char *description) {
  stage_options o;
  stage_options_init(&o);
  const arg_option options[] = {STAGE_OPTIONS(o), {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL, usage, description);
  if (rc) return rc < 0 ? 0 : rc;
  scan_config *cfg;
  scan_pipeline p;
  rc = stage_open(&o, &cfg, &p);
  if (rc) return rc;
  rc = cli_report_error(fn(&p));
  if (rc == 0) printf("%s: done, outputs in %s\n", argv[0], p.run_dir);
  stage_close(cfg, &p);
  return rc;
}

int cmd_pretext(int argc, char **argv) {
  return run_stage_command(argc, argv, scan_stage_pretext, "scan pretext [--config FILE] [--set K=V] [--out DIR]",
                           "Stage 1: SimCLR contrastive training of the backbone. Writes pretext/model.safetensors,\n"
                           "a checkpoint every epoch (rerun to resume) and pretext/log.jsonl.");
}

int cmd_mine(int argc, char **argv) {
  return run_stage_command(argc, argv, scan_stage_mine, "scan mine [--config FILE] [--set K=V] [--out DIR]",
                           "Mines each image's nearest neighbours in the pretext feature space (exact, inner product).\n"
                           "Writes pretext/features-{train,val}.npy and pretext/neighbors-{train,val}.npy ([N, k+1], self first).");
}

int cmd_cluster(int argc, char **argv) {
  return run_stage_command(argc, argv, scan_stage_cluster, "scan cluster [--config FILE] [--set K=V] [--out DIR]",
                           "Stage 2: SCAN clustering. Trains num_heads cluster heads (and the backbone) so that images and\n"
                           "their mined neighbours share a cluster. Writes scan/model.safetensors with the best head.");
}

int cmd_selflabel(int argc, char **argv) {
  return run_stage_command(argc, argv, scan_stage_selflabel, "scan selflabel [--config FILE] [--set K=V] [--out DIR]",
                           "Stage 3: self-labelling on the model's own confident predictions.\n"
                           "Writes selflabel/model.safetensors.");
}
