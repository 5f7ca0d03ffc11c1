#include "scan/training.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/dist.h"
#include "scan/safetensors.h"

scan_status training_check_loss(double loss, const char *stage, int epoch, long step) {
  if (isfinite(loss)) return SCAN_OK;
  return scan_fail(SCAN_ERR_INPUT,
                   "%s: the loss became %s at epoch %d, step %ld; training stopped and the last good checkpoint was kept "
                   "(try a lower learning rate)",
                   stage, isnan(loss) ? "NaN" : "infinite", epoch + 1, step);
}

scan_loader_config training_loader_config(const scan_pipeline *p, const scan_dataset *data, scan_batch_kind kind,
                                          const scan_aug_config *aug_a, const scan_aug_config *aug_b, int batch_size,
                                          int workers) {
  scan_loader_config lc = {0};
  lc.data = data;
  lc.kind = kind;
  lc.aug_a = aug_a;
  lc.aug_b = aug_b;
  lc.batch_size = batch_size;
  lc.shuffle = 1;
  lc.drop_last = 1;
  lc.seed = p->seed;
  lc.threads = workers > 0 ? workers : 1;
  /* Data-parallel: this rank's contiguous part of every global batch (one part of one with a single process). */
  lc.shard_index = scan_dist_rank();
  lc.shard_count = scan_dist_size();
  return lc;
}
