/* Training checkpoints that resume only what they were made for. One file holds the model and the optimiser state,
 * so no kill can leave them from different epochs; its metadata holds the stage's configuration and the training
 * data's fingerprint, so a stage never continues under other settings or on other data (it says what differs). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan/atomic_file.h"
#include "scan/dist.h"
#include "scan/safetensors.h"
#include "scan/stop_point.h"
#include "scan/training.h"

/* Keys that change how long or how fast a stage trains, not what it trains: a killed run may be resumed with more
   epochs, on a machine with fewer cores, or with its images streamed instead of held (the same bytes either way). */
static const char *const may_change_on_resume[] = {"epochs", "threads", "num_workers", "data_streaming", "data_cache_mb",
                                                   NULL};

static const char restart_hint[] =
    "start the stage afresh with its command's --restart (scan pretext, scan cluster or scan selflabel)";

static scan_status checkpoint_path(const scan_pipeline *p, const char *stage, char *out, size_t size) {
  return scan_path_format(out, size, "%s/%s/checkpoint.safetensors", p->run_dir, stage);
}

/* Reads a checkpoint and its epoch; a file that does not parse is called what it most likely is. */
static scan_status read_checkpoint(const char *path, scan_safetensors **f, int *epoch) {
  if (scan_safetensors_read(path, f) != SCAN_OK)
    return scan_fail_context(SCAN_ERR_INPUT, "%s: truncated or corrupt checkpoint; delete it or %s", path, restart_hint);
  const char *text = scan_safetensors_metadata(*f, "epoch");
  char *end = NULL;
  long value = text ? strtol(text, &end, 10) : -1;
  if (!text || *end || value < 0 || value > 1000000) {
    scan_safetensors_free(*f);
    *f = NULL;
    return scan_fail(SCAN_ERR_INPUT, "%s: not a scan training checkpoint (no epoch in its metadata); delete it or %s", path,
                     restart_hint);
  }
  *epoch = (int)value;
  return SCAN_OK;
}

static scan_status check_config(scan_pipeline *p, const char *stage, const scan_safetensors *f, const char *path) {
  const char *started = scan_safetensors_metadata(f, "config");
  if (!started)
    return scan_fail(SCAN_ERR_INPUT, "%s: records no configuration (written by an older scan), so it cannot be resumed; %s",
                     path, restart_hint);
  char *now = scan_config_stage_text(p->cfg, stage);
  if (!now) return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  char differences[2048];
  int count = scan_config_stage_diff(started, now, may_change_on_resume, differences, sizeof differences);
  free(now);
  if (count == 0) return SCAN_OK;
  return scan_fail(SCAN_ERR_INPUT,
                   "%s: the %s stage started under another configuration (%d key%s: %s); resume with the same "
                   "values, or %s",
                   path, stage, count, count == 1 ? " differs" : "s differ", differences, restart_hint);
}

static scan_status check_resume(scan_pipeline *p, const char *stage, int restart) {
  /* Under mpirun rank 0 removes for --restart; the other ranks find the result after the barrier. */
  if (restart && !scan_dist_is_root()) return SCAN_OK;
  char path[SCAN_PATH_MAX];
  SCAN_TRY(checkpoint_path(p, stage, path, sizeof path));
  if (!scan_file_exists(path)) return SCAN_OK;
  if (restart) {
    char log[SCAN_PATH_MAX];
    SCAN_TRY(scan_path_format(log, sizeof log, "%s/%s/log.jsonl", p->run_dir, stage));
    if (unlink(path) != 0) return scan_fail(SCAN_ERR_INPUT, "%s: cannot remove for --restart", path);
    unlink(log);
    fprintf(stderr, "%s: --restart: removed the checkpoint and log; the stage starts afresh\n", stage);
    return SCAN_OK;
  }
  scan_safetensors *f = NULL;
  int epoch = 0;
  SCAN_TRY(read_checkpoint(path, &f, &epoch));
  scan_status status = check_config(p, stage, f, path);
  scan_safetensors_free(f);
  return status;
}

scan_status scan_pipeline_check_resume(scan_pipeline *p, const char *stage, int restart) {
  scan_status status = check_resume(p, stage, restart);
  if (status == SCAN_OK) scan_dist_barrier(); /* a failure reaches main, which stops every rank */
  return status;
}

static void fingerprint_text(uint64_t fingerprint, char *out, size_t size) {
  snprintf(out, size, "%016" PRIx64, fingerprint);
}

scan_status training_resume(scan_pipeline *p, const char *stage, scan_net *net, scan_optimizer *opt, int *start_epoch) {
  char path[SCAN_PATH_MAX], data[32];
  SCAN_TRY(checkpoint_path(p, stage, path, sizeof path));
  *start_epoch = 0;
  if (!scan_file_exists(path)) return SCAN_OK;
  scan_safetensors *f = NULL;
  int epoch = 0;
  SCAN_TRY(read_checkpoint(path, &f, &epoch));
  scan_status status = check_config(p, stage, f, path);
  const char *recorded = scan_safetensors_metadata(f, "data");
  fingerprint_text(p->train_fingerprint, data, sizeof data);
  if (status == SCAN_OK && (!recorded || strcmp(recorded, data) != 0))
    status = scan_fail(SCAN_ERR_INPUT, "%s: the training data changed since this checkpoint was written; %s", path,
                       restart_hint);
  if (status == SCAN_OK) status = scan_net_load_from(net, f, path, SCAN_CHECKPOINT_OPTIMIZER);
  if (status == SCAN_OK && opt) status = scan_optim_load_from(opt, f, path, SCAN_CHECKPOINT_OPTIMIZER);
  scan_safetensors_free(f);
  if (status != SCAN_OK) return scan_fail_context(status, "resuming %s", stage);
  *start_epoch = epoch;
  fprintf(stderr, "%s: resuming after epoch %d from %s\n", stage, epoch, path);
  return SCAN_OK;
}

scan_status training_checkpoint(scan_pipeline *p, const char *stage, const scan_net *net, const scan_optimizer *opt,
                                int finished_epochs, const char *extra_key, const char *extra_value) {
  char path[SCAN_PATH_MAX], epoch_text[32], data[32];
  SCAN_TRY(checkpoint_path(p, stage, path, sizeof path));
  snprintf(epoch_text, sizeof epoch_text, "%d", finished_epochs);
  fingerprint_text(p->train_fingerprint, data, sizeof data);
  char *config = scan_config_stage_text(p->cfg, stage);
  if (!config) return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  const char *metadata[] = {"epoch", epoch_text, "config", config, "data", data, extra_key, extra_value, NULL};
  scan_status status = scan_checkpoint_save(net, opt, path, metadata);
  free(config);
  if (status != SCAN_OK)
    return scan_fail_context(status, "%s epoch %d: training stopped and the last good checkpoint was kept", stage,
                             finished_epochs);
  /* Under mpirun rank 0 wrote it: the other ranks wait, so that on every rank the checkpoint is in place from here
     (a rank killed after this point leaves a run that resumes from this epoch). A failure above reaches main, which
     stops every rank, so no rank waits here for one that failed. */
  scan_dist_barrier();
  scan_stop_point("checkpoint-written", stage);
  return SCAN_OK;
}
