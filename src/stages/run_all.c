/* `scan run`: every stage in order, skipping those whose outputs already exist
 * for the same resolved configuration, resuming an interrupted one.
 *
 * Each stage keeps two stamps in <run>/.stamps/: "<stage>.started" (written before
 * it runs) and "<stage>.done" (after it succeeds), each holding the hash of the
 * configuration it ran with, chained with the hashes of the stages before it and
 * with the fingerprint of the data (so changed data redoes every stage).
 *   done == hash      → skip;
 *   started == hash   → run again: it resumes from its own checkpoint;
 *   otherwise         → the stage's old checkpoint belongs to another config: remove it, run afresh. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan/stages.h"
#include "scan/atomic_file.h"
#include "scan/dist.h"
#include "scan/pipeline.h"
#include "scan/progress.h"

typedef struct {
  const char *name;           /* stage name in stamps and progress lines */
  const char *config_section; /* config section whose keys it depends on */
  scan_status (*run)(scan_pipeline *p);
  const char *stale_files[3]; /* checkpoint files to remove when the config changed */
} stage_entry;

static const stage_entry stages[] = {
    {"pretext", "pretext", scan_stage_pretext,
     {"pretext/checkpoint.safetensors", "pretext/log.jsonl", NULL}},
    {"mine", "cluster", scan_stage_mine, {NULL}},
    {"cluster", "cluster", scan_stage_cluster,
     {"cluster/checkpoint.safetensors", "cluster/log.jsonl", NULL}},
    {"selflabel", "selflabel", scan_stage_selflabel,
     {"selflabel/checkpoint.safetensors", "selflabel/log.jsonl", NULL}},
    {"eval", "eval", scan_stage_eval, {NULL}},
    {"explain", "explain", scan_stage_explain, {NULL}},
};

static uint64_t read_stamp(const scan_pipeline *p, const char *stage, const char *kind) {
  char rel[128], path[SCAN_PATH_MAX];
  snprintf(rel, sizeof rel, ".stamps/%s.%s", stage, kind);
  if (scan_pipeline_path(p, path, sizeof path, rel) != SCAN_OK) return 0; /* write_stamp refuses the same path */
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  uint64_t value = 0;
  if (fscanf(f, "%" SCNx64, &value) != 1) value = 0;
  fclose(f);
  return value;
}

static scan_status write_stamp(const scan_pipeline *p, const char *stage, const char *kind, uint64_t hash) {
  char rel[128], path[SCAN_PATH_MAX], text[32];
  snprintf(rel, sizeof rel, ".stamps/%s.%s", stage, kind);
  snprintf(text, sizeof text, "%016" PRIx64 "\n", hash);
  SCAN_TRY(scan_pipeline_path(p, path, sizeof path, rel));
  return scan_write_file_atomic(path, text, strlen(text));
}

const char *const *scan_run_stage_names(void) {
  static const char *names[sizeof stages / sizeof stages[0] + 1];
  for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) names[i] = stages[i].name;
  return names;
}

scan_status scan_run_all(scan_pipeline *p, double *stage_seconds) {
  /* Loading the data first checks it against the configuration before any stage starts, and fingerprints it. */
  SCAN_TRY(scan_pipeline_check_data(p, NULL));
  char stamps[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, stamps, sizeof stamps, ".stamps"));
  SCAN_TRY(scan_make_dirs(stamps));
  int count = (int)(sizeof stages / sizeof stages[0]);
  uint64_t chained = 0x5CA11u ^ p->train_fingerprint ^ (p->val_fingerprint * 0x9E3779B97F4A7C15ull);
  double run_start = scan_now_seconds();
  for (int i = 0; i < count; i++) {
    const stage_entry *s = &stages[i];
    chained = chained * 0x100000001B3ull ^ scan_config_stage_hash(p->cfg, s->config_section);
    chained ^= chained >> 29;
    if (stage_seconds) stage_seconds[i] = 0;
    /* Under mpirun rank 0 reads the stamps and decides for every rank (the others must not race its writes). */
    int state[2] = {0, 0}; /* done, started under this configuration */
    if (scan_dist_is_root()) {
      state[0] = read_stamp(p, s->name, "done") == chained;
      state[1] = read_stamp(p, s->name, "started") == chained;
    }
    scan_dist_broadcast(state, sizeof state, 0);
    if (state[0]) {
      if (scan_dist_is_root()) fprintf(stderr, "[%d/%d] %s: up to date, skipped\n", i + 1, count, s->name);
      continue;
    }
    if (!state[1]) {
      for (int f = 0; f < 3 && s->stale_files[f] && scan_dist_is_root(); f++) {
        char path[SCAN_PATH_MAX];
        SCAN_TRY(scan_pipeline_path(p, path, sizeof path, s->stale_files[f]));
        unlink(path);
      }
      SCAN_TRY(write_stamp(p, s->name, "started", chained));
    }
    scan_dist_barrier(); /* the stale files are gone on every rank's view before the stage looks for a checkpoint */
    double elapsed = scan_now_seconds() - run_start;
    if (scan_dist_is_root()) fprintf(stderr, "[%d/%d] %s: running (run time so far %.0f s)\n", i + 1, count, s->name, elapsed);
    double start = scan_now_seconds();
    scan_status status = s->run(p);
    if (status != SCAN_OK) return scan_fail_context(status, "stage %s", s->name);
    double seconds = scan_now_seconds() - start;
    if (stage_seconds) stage_seconds[i] = seconds;
    char rel[128], path[SCAN_PATH_MAX], text[32];
    snprintf(rel, sizeof rel, ".stamps/%s.seconds", s->name);
    snprintf(text, sizeof text, "%.1f\n", seconds);
    SCAN_TRY(scan_pipeline_path(p, path, sizeof path, rel));
    SCAN_TRY(scan_write_file_atomic(path, text, strlen(text)));
    SCAN_TRY(write_stamp(p, s->name, "done", chained));
    scan_dist_barrier(); /* the next stage reads what rank 0 wrote for this one */
    if (scan_dist_is_root()) fprintf(stderr, "[%d/%d] %s: done in %.1f s\n", i + 1, count, s->name, seconds);
  }
  return SCAN_OK;
}
