/* Robustness of the training stages run one by one (scan pretext | mine | cluster | selflabel) on the
 * tiny synthetic dataset of tiny_run.h, where users of the original got stuck (spec §19):
 *   - a SIGKILL in the middle of training (SCAN_TEST_STOP_AT: after a checkpoint, and between a checkpoint's write
 *     and its rename): the rerun resumes to the same model bytes, and no temporary file is left behind;
 *   - self-labelling with a threshold nothing reaches (upstream #46 crashed there), and the adaptive threshold;
 *   - update_cluster_head_only really leaves the backbone alone;
 *   - a reference-style single-stage config (configs/scan/scan_cifar10.yml layout);
 *   - bad inputs: broken neighbour files, a pretext model of another backbone, stages run out of order,
 *     num_classes 1: exit status 2 and a message naming the file or key;
 *   - determinism: same seed and threads give identical model bytes (with a killed-and-resumed run in the mix),
 *     and mined neighbours do not depend on the thread count.
 * SCAN_TEST_LIGHT=1 (the sanitizer run) drops the second pretext run and shortens the killed runs. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scan/npy.h"
#include "scan/safetensors.h"
#include "cli_scan.h"
#include "testlib.h"
#include "tiny_run.h"

enum { TRAIN_IMAGES = 120, VAL_IMAGES = 60, BATCH = 32 };

static char config_path[512];
static int light;

static const char *join(char *buf, size_t size, const char *dir, const char *relative) {
  snprintf(buf, size, "%s/%s", dir, relative);
  return buf;
}

static int exists(const char *dir, const char *relative) {
  char path[1024];
  struct stat st;
  return stat(join(path, sizeof path, dir, relative), &st) == 0;
}

static int same_bytes(const char *a, const char *b) {
  long na, nb;
  char *da = test_read_text(a, &na), *db = test_read_text(b, &nb);
  int same = da && db && na >= 0 && na == nb && memcmp(da, db, (size_t)na) == 0;
  free(da);
  free(db);
  return same;
}

static void copy_file(const char *from, const char *to) {
  long n;
  char *data = test_read_text(from, &n);
  if (!data || n < 0 || test_write_file(to, data, n) != 0) fprintf(stderr, "cannot copy %s to %s\n", from, to);
  free(data);
}

/* A run directory holding another run's pretext model and mined neighbours, ready for `scan cluster`. */
static void copy_pretext(const char *from_run, const char *to_run) {
  static const char *const files[] = {"pretext/model.safetensors", "pretext/neighbors-train.npy", "pretext/neighbors-val.npy"};
  char from[1024], to[1024];
  mkdir(to_run, 0777);
  mkdir(join(to, sizeof to, to_run, "pretext"), 0777);
  for (int i = 0; i < 3; i++) copy_file(join(from, sizeof from, from_run, files[i]), join(to, sizeof to, to_run, files[i]));
}

/* Files in dir whose name holds ".tmp." (the atomic writer's temporary names). */
static int temp_files(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int count = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strstr(e->d_name, ".tmp.")) {
      fprintf(stderr, "left behind: %s/%s\n", dir, e->d_name);
      count++;
    }
  closedir(d);
  return count;
}

/* The value of `"key": <number>` in the last line of a JSON-lines file, or `fallback`. */
static double last_log_value(const char *path, const char *key, double fallback) {
  long n;
  char *text = test_read_text(path, &n);
  if (!text || n <= 0) { free(text); return fallback; }
  while (n > 0 && text[n - 1] == '\n') text[--n] = 0;
  char *line = strrchr(text, '\n');
  line = line ? line + 1 : text;
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\": ", key);
  char *at = strstr(line, pattern);
  double value = at ? strtod(at + strlen(pattern), NULL) : fallback;
  free(text);
  return value;
}

/* Runs `scan <args>` with SCAN_TEST_STOP_AT=<point>, so that it kills itself with SIGKILL exactly there; returns
   whether it did (rather than finishing or failing first). */
static int scan_killed_at(const char *point, const char *args) {
  setenv("SCAN_TEST_STOP_AT", point, 1);
  int rc = scan("%s", args);
  unsetenv("SCAN_TEST_STOP_AT");
  /* popen's shell either execs scan (killed: -1) or reports 128 + SIGKILL */
  return (rc == -1 || rc == 128 + SIGKILL) && strstr(output, "SCAN_TEST_STOP_AT: stopping at") != NULL;
}

/* A temporary file as a SIGKILL in the middle of an atomic write leaves it: the real name plus ".tmp.<pid>"
   of a process that no longer exists. */
static void plant_stale_temp(const char *dir, const char *name) {
  char path[1024];
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, NULL, 0); /* its pid is now free: nobody is writing under it */
  snprintf(path, sizeof path, "%s/%s.tmp.%ld", dir, name, (long)child);
  test_write_file(path, "partial", 7);
}

/* 1. Kill in the middle of a stage (after its first epoch's checkpoint, or at `point` when given), rerun: it
   resumes, finishes, and leaves no temporary file. */
static void check_kill_and_resume(const char *run, const char *command, const char *subdir, const char *point,
                                  const char *args) {
  char full_args[2048], dir[1024], stop[128];
  snprintf(full_args, sizeof full_args, "%s --out %s %s", command, run, args);
  snprintf(dir, sizeof dir, "%s/%s", run, subdir);
  snprintf(stop, sizeof stop, "checkpoint-written:%s", subdir);
  CHECK_MSG(scan_killed_at(point ? point : stop, full_args), "scan %s was not killed at %s:\n%s", command,
            point ? point : stop, output);
  CHECK_MSG(exists(dir, "checkpoint.safetensors") || point, "scan %s wrote no checkpoint before it was killed", command);
  CHECK_MSG(!exists(dir, "model.safetensors") || strcmp(command, "cluster") == 0,
            "scan %s was killed but already wrote its final model", command);
  plant_stale_temp(dir, "checkpoint.safetensors");
  plant_stale_temp(dir, "model.safetensors");
  CHECK_RUNS("%s", full_args);
  CHECK_MSG(strstr(output, "resuming after epoch ") != NULL, "scan %s should resume from its checkpoint:\n%s", command, output);
  CHECK(exists(dir, "model.safetensors"));
  CHECK_MSG(temp_files(dir) == 0, "scan %s left temporary files in %s", command, dir);
}

/* The tensors of two safetensors files: do the ones whose names start with `prefix` (or, with invert, the
   others) agree byte for byte? Returns 1 same, 0 different, -1 unreadable/missing. */
static int same_tensors(const char *path_a, const char *path_b, const char *prefix, int invert) {
  scan_safetensors *a = NULL, *b = NULL;
  int result = -1;
  if (scan_safetensors_read(path_a, &a) == SCAN_OK && scan_safetensors_read(path_b, &b) == SCAN_OK) {
    result = 1;
    int compared = 0;
    for (int i = 0; i < scan_safetensors_count(a) && result != -1; i++) {
      const scan_tensor_view *t = scan_safetensors_get(a, i);
      int matches = strncmp(t->name, prefix, strlen(prefix)) == 0;
      if (matches == invert) continue;
      const scan_tensor_view *u = scan_safetensors_find(b, t->name);
      if (!u || u->nbytes != t->nbytes) { fprintf(stderr, "%s: '%s' missing or resized\n", path_b, t->name); result = -1; break; }
      if (memcmp(t->data, u->data, t->nbytes) != 0) result = 0;
      compared++;
    }
    if (compared == 0) result = -1;
  }
  if (a) scan_safetensors_free(a);
  if (b) scan_safetensors_free(b);
  return result;
}

/* 3. update_cluster_head_only: the backbone in the SCAN model is the pretext backbone, bit for bit, also after a
   whole-network ("full") epoch, while the heads train. The warm-up epoch alone never touches the backbone, so
   the full epoch is what is checked: its checkpoint against the one after warm-up. */
static void check_head_only(const char *tmp, const char *trained_run) {
  char run[512], pretext[1024], model[1024], checkpoint[1024], after_warmup[1024];
  snprintf(run, sizeof run, "%s/head-only", tmp);
  copy_pretext(trained_run, run);
  join(pretext, sizeof pretext, run, "pretext/model.safetensors");
  join(model, sizeof model, run, "cluster/model.safetensors");
  join(checkpoint, sizeof checkpoint, run, "cluster/checkpoint.safetensors");
  join(after_warmup, sizeof after_warmup, run, "after-warmup.safetensors");
  const char *head_only = "--set cluster.update_cluster_head_only=true --set cluster.head_warmup_epochs=1";
  CHECK_RUNS("cluster --out %s %s --set cluster.epochs=0", run, head_only);
  copy_file(checkpoint, after_warmup);
  CHECK_RUNS("cluster --out %s %s --set cluster.epochs=1", run, head_only);
  CHECK_MSG(strstr(output, "resuming after epoch 1") != NULL, "the full epoch should continue the warm-up:\n%s", output);
  CHECK_MSG(same_tensors(pretext, model, "backbone.", 0) == 1, "head-only SCAN changed the backbone of %s", model);
  CHECK_MSG(same_tensors(pretext, checkpoint, "backbone.", 0) == 1, "head-only SCAN changed the backbone of %s", checkpoint);
  CHECK_MSG(same_tensors(after_warmup, checkpoint, "cluster_head.", 0) == 0, "the heads did not train in the full epoch");
}

/* 2. Self-labelling where no sample is confident: no crash, every batch skipped and counted, a message that
   suggests a threshold; then the per-class quantile threshold trains. */
static void check_selflabel_thresholds(const char *run) {
  char log[1024];
  join(log, sizeof log, run, "selflabel/log.jsonl");
  CHECK_RUNS("selflabel --out %s --set selflabel.epochs=1 --set selflabel.confidence_threshold=0.999999", run);
  CHECK_MSG(strstr(output, "no sample reached the confidence threshold") != NULL && strstr(output, "confidence_threshold") &&
                strstr(output, "adaptive_threshold"),
            "an epoch without confident samples should say so and suggest a threshold:\n%s", output);
  /* The suggested threshold lies below the most confident prediction the message reports. */
  const char *top_text = strstr(output, "the most confident prediction was ");
  const char *suggestion = strstr(output, "(e.g. ");
  double top = top_text ? atof(top_text + strlen("the most confident prediction was ")) : 0;
  double suggested = suggestion ? atof(suggestion + strlen("(e.g. ")) : 1;
  CHECK_MSG(top > 1.0 / TINY_CLASSES - 1e-3 && top < 0.999999 && suggested > 0 && suggested < top,
            "suggested threshold %g for a top confidence of %g:\n%s", suggested, top, output);
  CHECK(exists(run, "selflabel/model.safetensors"));
  CHECK_NEAR(last_log_value(log, "skipped_batches", -1), TRAIN_IMAGES / BATCH, 0, 0);
  CHECK_NEAR(last_log_value(log, "confident_fraction", -1), 0, 0, 0);
  /* The quantile thresholds are another configuration: resuming the first epoch's checkpoint under them is refused,
     naming the key, and changes nothing in the run directory; --restart trains afresh with them. */
  char config[1024], config_before[1024];
  join(config, sizeof config, run, "config.yml");
  join(config_before, sizeof config_before, run, "config-before.yml");
  copy_file(config, config_before);
  CHECK_REJECTS("adaptive_threshold none -> quantile",
                "selflabel --out %s --set selflabel.epochs=2 --set selflabel.confidence_threshold=0.999999 "
                "--set selflabel.adaptive_threshold=quantile",
                run);
  CHECK_MSG(same_bytes(config, config_before), "a refused resume rewrote %s", config);
  CHECK_MSG(last_log_value(log, "epoch", -1) == 1, "a refused resume changed %s", log);
  CHECK_RUNS("selflabel --out %s --restart --set selflabel.epochs=1 --set selflabel.confidence_threshold=0.999999 "
             "--set selflabel.adaptive_threshold=quantile",
             run);
  CHECK_MSG(strstr(output, "resuming") == NULL, "--restart should start afresh:\n%s", output);
  CHECK_MSG(last_log_value(log, "epoch", -1) == 1, "selflabel should have logged its first epoch afresh");
  CHECK_MSG(last_log_value(log, "confident_fraction", 0) > 0, "adaptive thresholds found no confident sample:\n%s", output);
  CHECK_MSG(last_log_value(log, "skipped_batches", -1) < TRAIN_IMAGES / BATCH, "adaptive thresholds trained no batch");
}

/* 7. Mining: the same neighbour files with 1 and 2 threads, and the printed accuracy is the share of
   neighbours (columns 1..k) with the anchor's label. An untrained network keeps the accuracy below 100 %. */
static void check_mine(const char *tmp) {
  char run[512], path[1024], copy[1024];
  snprintf(run, sizeof run, "%s/mine", tmp);
  CHECK_RUNS("pretext --out %s --set pretext.epochs=0", run);
  CHECK_RUNS("mine --out %s --threads 1", run);
  join(path, sizeof path, run, "pretext/neighbors-train.npy");
  join(copy, sizeof copy, run, "neighbors-train-1-thread.npy");
  copy_file(path, copy);
  CHECK_RUNS("mine --out %s --threads 2", run);
  CHECK_MSG(same_bytes(path, copy), "neighbours differ between 1 and 2 threads");
  const char *line = strstr(output, "nearest neighbours on the train set: ");
  double printed = line ? strtod(line + strlen("nearest neighbours on the train set: "), NULL) : -1;
  scan_array a;
  if (scan_npy_read(path, &a) != SCAN_OK) { CHECK_MSG(0, "%s: unreadable", path); return; }
  CHECK(a.dtype == SCAN_I64 && a.ndim == 2 && a.shape[0] == TRAIN_IMAGES && a.shape[1] == 6);
  long agree = 0, total = 0;
  const int64_t *rows = a.data;
  for (int64_t i = 0; a.dtype == SCAN_I64 && i < a.shape[0]; i++) {
    CHECK_MSG(rows[i * a.shape[1]] == i, "row %ld does not start with the image itself", (long)i);
    for (int64_t c = 1; c < a.shape[1]; c++, total++) agree += rows[i * a.shape[1] + c] % TINY_CLASSES == i % TINY_CLASSES;
  }
  scan_array_free(&a);
  double expected = total ? 100.0 * (double)agree / (double)total : -1;
  CHECK_NEAR(printed, expected, 0.005, 0); /* printed with two decimals */
  CHECK_MSG(expected < 100, "an untrained network should not mine perfect neighbours (%.2f%%)", expected);
}

/* 4. A single-stage config in the reference's layout (configs/scan/scan_cifar10.yml), pointed at the tiny data
   with a small VGG. Its data and model keys serve every stage, so the same file trains the pretext model
   (0 epochs: only its shape matters here) and mines the neighbours that SCAN needs. */
static void check_reference_config(const char *tmp, const char *data) {
  char run[512], path[1024], reference[512], command[4096];
  snprintf(run, sizeof run, "%s/reference", tmp);
  snprintf(reference, sizeof reference, "%s/scan_tiny.yml", tmp);
  FILE *f = fopen(reference, "w");
  if (!f) return;
  fprintf(f,
          "# setup\nsetup: scan\n\n# Loss\ncriterion: scan\ncriterion_kwargs:\n   entropy_weight: 5.0\n\n"
          "# Weight update\nupdate_cluster_head_only: False # Update full network in SCAN\nnum_heads: 1 # Only use one head\n\n"
          "# Model\nbackbone: vgg\nmodel_kwargs:\n   vgg_widths: [4, 8]\n\n"
          "# Dataset\ntrain_db_name: mnist\nval_db_name: mnist\ndata_root: %s\nnum_classes: 3\nnum_neighbors: 5\n\n"
          "# Transformations\naugmentation_strategy: ours\naugmentation_kwargs:\n   crop_size: 28\n   normalize:\n"
          "      mean: [0.1307]\n      std: [0.3081]\n   num_strong_augs: 4\n   cutout_kwargs:\n     n_holes: 1\n"
          "     length: 14\n     random: True\n\n"
          "transformation_kwargs:\n   crop_size: 28\n   normalize:\n      mean: [0.1307]\n      std: [0.3081]\n\n"
          "# Hyperparameters\noptimizer: adam\noptimizer_kwargs:\n   lr: 0.0001\n   weight_decay: 0.0001\n"
          "epochs: 1\nbatch_size: %d\nnum_workers: 1\n\n# Scheduler\nscheduler: constant\n",
          data, BATCH);
  fclose(f);
  static const char *const steps[] = {"pretext --set pretext.epochs=0 --set pretext.batch_size=32", "mine", "cluster"};
  for (int i = 0; i < 3; i++) {
    snprintf(command, sizeof command, "%s %s --config %s --out %s --quiet", test_scan_bin(), steps[i], reference, run);
    int rc = test_run(command, output, sizeof output);
    CHECK_MSG(rc == 0, "the reference-style config was not accepted by `scan %s` (exit %d):\n%s", steps[i], rc, output);
  }
  CHECK(exists(run, "cluster/model.safetensors"));
  /* The file's own values were used: its one whole-network epoch was logged, and Adam is in config.yml. */
  join(path, sizeof path, run, "cluster/log.jsonl");
  long size;
  char *log = test_read_text(path, &size);
  CHECK_MSG(log && strstr(log, "\"phase\": \"full\""), "no whole-network SCAN epoch in %s", path);
  free(log);
  char *written = test_read_text(join(path, sizeof path, run, "config.yml"), &size);
  CHECK_MSG(written && strstr(written, "optimizer: adam"), "config.yml should show the reference file's optimizer");
  free(written);
}

/* Writes an int64 [rows, cols] neighbour file whose row i is i, i+1, ... (mod rows), with one entry replaced. */
static void write_neighbors(const char *path, long rows, long cols, long bad_row, int64_t bad_value) {
  int64_t *values = malloc(sizeof(int64_t) * (size_t)(rows * cols));
  if (!values) return;
  for (long i = 0; i < rows; i++)
    for (long c = 0; c < cols; c++) values[i * cols + c] = (i + c) % rows;
  if (bad_row >= 0) values[bad_row * cols + cols - 1] = bad_value;
  scan_array a = {SCAN_I64, 2, {rows, cols}, values};
  if (scan_npy_write(path, &a) != SCAN_OK) fprintf(stderr, "%s: cannot write\n", path);
  free(values);
}

/* 5. Bad inputs: exit status 2 and a message naming the file, key or the command to run first. */
static void check_bad_inputs(const char *tmp, const char *trained_run) {
  char run[512], path[1024];
  snprintf(run, sizeof run, "%s/bad", tmp);
  copy_pretext(trained_run, run);
  join(path, sizeof path, run, "pretext/neighbors-train.npy");
  write_neighbors(path, TRAIN_IMAGES - 1, 6, -1, 0); /* one image short */
  CHECK_REJECTS("neighbors-train.npy", "cluster --out %s", run);
  write_neighbors(path, TRAIN_IMAGES, 6, 7, TRAIN_IMAGES); /* index one past the end */
  CHECK_REJECTS("neighbors-train.npy", "cluster --out %s", run);
  CHECK_MSG(strstr(output, "row 7") != NULL, "the message should name the row:\n%s", output);
  write_neighbors(path, TRAIN_IMAGES, 6, 3, -1); /* negative index */
  CHECK_REJECTS("neighbors-train.npy", "cluster --out %s", run);
  write_neighbors(path, TRAIN_IMAGES, 6, -1, 0); /* valid again */

  /* The pretext model is a VGG of the tiny config's widths: another backbone, or other widths, do not fit it. */
  CHECK_REJECTS("missing key 'backbone.", "cluster --out %s --set backbone=resnet18 --set model_kwargs.width_multiplier=0.125",
                run);
  CHECK_MSG(strstr(output, "pretext/model.safetensors") != NULL, "the message should name the pretext model:\n%s", output);
  CHECK_REJECTS("has shape", "cluster --out %s --set model_kwargs.vgg_widths=[3,5]", run);

  CHECK_REJECTS("num_classes", "cluster --out %s --set num_classes=1", run);
  CHECK(!exists(run, "cluster/checkpoint.safetensors"));

  /* Stages out of order, in an empty run directory. */
  snprintf(run, sizeof run, "%s/empty", tmp);
  CHECK_REJECTS("scan pretext", "cluster --out %s", run);
  CHECK_REJECTS("scan pretext", "mine --out %s", run);
  CHECK_REJECTS("scan cluster", "selflabel --out %s", run);
}

/* A checkpoint's model tensors alone (not the optimiser's state), as a model file `scan features` reads. */
static scan_status model_of_checkpoint(const char *checkpoint, const char *model) {
  scan_safetensors *f = NULL;
  SCAN_TRY(scan_safetensors_read(checkpoint, &f));
  scan_tensor_view *kept = calloc((size_t)scan_safetensors_count(f), sizeof *kept);
  int count = 0;
  for (int i = 0; kept && i < scan_safetensors_count(f); i++)
    if (strncmp(scan_safetensors_get(f, i)->name, "optimizer.", 10) != 0) kept[count++] = *scan_safetensors_get(f, i);
  const char *metadata[] = {"stage", "cluster", NULL};
  scan_status status = kept ? scan_safetensors_write(model, kept, count, metadata) : SCAN_ERR_INTERNAL;
  free(kept);
  scan_safetensors_free(f);
  return status;
}

/* 7. cluster.neighbor_refresh_epochs: the training neighbours mined again on the backbone being trained.
   - killed right after a refresh, the checkpoint holds the model it was mined with: its top-k by a brute-force
     search over that model's features (`scan features`) are the refreshed table's, up to the float rounding of two
     inference batchings;
   - killed after the epoch that follows a refresh, the resume continues with the saved table: the same model bytes
     as an uninterrupted run; without the table the resume stops with exit status 2 naming it;
   - the refresh changes training (another model than without it). */
static void check_neighbor_refresh(const char *tmp, const char *trained_run, const char *data) {
  const char *settings = "--threads 2 --set cluster.head_warmup_epochs=1 --set cluster.epochs=4 "
                         "--set cluster.neighbor_refresh_epochs=2";
  char killed[512], whole[512], plain[512], args[2048], path[1024], features[1024];
  snprintf(killed, sizeof killed, "%s/refresh-killed", tmp);
  snprintf(whole, sizeof whole, "%s/refresh-whole", tmp);
  snprintf(plain, sizeof plain, "%s/refresh-none", tmp);
  copy_pretext(trained_run, killed);
  copy_pretext(trained_run, whole);
  copy_pretext(trained_run, plain);

  CHECK_REJECTS("neighbor_refresh_epochs", "cluster --out %s --set cluster.neighbor_refresh_epochs=-1", whole);
  CHECK_RUNS("cluster --out %s %s", whole, settings);
  CHECK_MSG(strstr(output, "mined again on the backbone") != NULL, "no refresh reported:\n%s", output);
  CHECK_RUNS("cluster --out %s --threads 2 --set cluster.head_warmup_epochs=1 --set cluster.epochs=4", plain);
  char model_a[1024], model_b[1024];
  /* The last epoch's weights (the kept model may come from before the refresh). */
  CHECK_MSG(same_tensors(join(model_a, sizeof model_a, whole, "cluster/checkpoint.safetensors"),
                         join(model_b, sizeof model_b, plain, "cluster/checkpoint.safetensors"), "optimizer.", 1) == 0,
            "refreshing the neighbours changed nothing (or a checkpoint is missing)");

  /* Killed right after the refresh (at the start of whole-network epoch 3, stage epoch 4). */
  snprintf(args, sizeof args, "cluster --out %s %s", killed, settings);
  CHECK_MSG(scan_killed_at("cluster-refresh", args), "scan cluster was not killed after the refresh:\n%s", output);
  snprintf(features, sizeof features, "%s/refresh-features.npy", tmp);
  char weights[1024];
  snprintf(weights, sizeof weights, "%s/refresh-checkpoint-model.safetensors", tmp);
  CHECK(model_of_checkpoint(join(path, sizeof path, killed, "cluster/checkpoint.safetensors"), weights) == SCAN_OK);
  CHECK_RUNS("features --model %s --config %s --dataset mnist --root %s --split train --out %s", weights,
             config_path, data, features);
  scan_array f = {0}, table = {0};
  CHECK(scan_npy_read(features, &f) == SCAN_OK);
  CHECK(scan_npy_read(join(path, sizeof path, killed, "cluster/neighbors-refreshed.npy"), &table) == SCAN_OK);
  const int shaped = f.dtype == SCAN_F32 && f.ndim == 2 && f.shape[0] == TRAIN_IMAGES && table.dtype == SCAN_I64 &&
                     table.ndim == 2 && table.shape[0] == TRAIN_IMAGES && table.shape[1] == 6; /* tiny: 5 neighbours */
  CHECK_MSG(shaped, "features or refreshed neighbours have the wrong shape");
  if (shaped) {
    const long n = TRAIN_IMAGES, d = (long)f.shape[1];
    const int k = 5;
    const float *x = f.data;
    const int64_t *rows = table.data;
    int ok = 1;
    for (long i = 0; i < n; i++) {
      double sims[TRAIN_IMAGES], sorted[TRAIN_IMAGES];
      int m = 0;
      for (long j = 0; j < n; j++) {
        double dot = 0;
        for (long t = 0; t < d; t++) dot += (double)x[i * d + t] * x[j * d + t];
        sims[j] = dot;
        if (j != i) sorted[m++] = dot;
      }
      for (int a = 0; a < m; a++) /* descending */
        for (int b = a + 1; b < m; b++)
          if (sorted[b] > sorted[a]) {
            double tmp_value = sorted[a];
            sorted[a] = sorted[b];
            sorted[b] = tmp_value;
          }
      ok &= rows[i * (k + 1)] == i;
      for (int r = 1; r <= k; r++) {
        const int64_t got = rows[i * (k + 1) + r];
        /* each rank's similarity equals the brute force's at that rank: near-ties may swap two neighbours */
        ok &= got >= 0 && got < n && got != i && fabs(sims[got] - sorted[r - 1]) <= 1e-5;
      }
    }
    CHECK_MSG(ok, "the refreshed neighbours are not the top-%d of the model they were mined with", k);
  }
  scan_array_free(&f);
  scan_array_free(&table);

  /* Killed after stage epoch 5 (whole-network epoch 3, after the refresh), resumed: the uninterrupted run's model. */
  char resumed[512];
  snprintf(resumed, sizeof resumed, "%s/refresh-resumed", tmp);
  copy_pretext(trained_run, resumed);
  snprintf(args, sizeof args, "cluster --out %s %s", resumed, settings);
  CHECK_MSG(scan_killed_at("checkpoint-written:cluster#4", args), "scan cluster was not killed:\n%s", output);
  join(path, sizeof path, resumed, "cluster/neighbors-refreshed.npy");
  CHECK(rename(path, features) == 0); /* away for a moment: the resume must need it */
  CHECK_REJECTS("neighbors-refreshed.npy", "cluster --out %s %s", resumed, settings);
  CHECK(rename(features, path) == 0);
  CHECK_RUNS("cluster --out %s %s", resumed, settings);
  CHECK_MSG(strstr(output, "resuming after epoch 4") != NULL, "the run did not resume after stage epoch 4:\n%s", output);
  CHECK_MSG(same_bytes(join(model_a, sizeof model_a, resumed, "cluster/model.safetensors"),
                       join(model_b, sizeof model_b, whole, "cluster/model.safetensors")),
            "a run killed after a refresh resumed to another model than the uninterrupted run");
}

/* 8. cluster.selection_entropy_weight: the validation loss that chooses the model is consistency - w * entropy with
   that weight (1 by default, not the training weight 5), as each head's log entry shows; -1 exits 2. */
static double last_head_loss(const char *run, double *consistency, double *entropy) {
  char path[1024];
  long size = 0;
  snprintf(path, sizeof path, "%s/cluster/log.jsonl", run);
  char *text = test_read_text(path, &size), *line = NULL, *at = NULL;
  for (char *p = text; p && (p = strstr(p, "\"heads\"")) != NULL; p++) line = p; /* the last line's heads */
  double loss = NAN;
  if (line && (at = strstr(line, "\"loss\": ")) != NULL &&
      sscanf(at, "\"loss\": %lf, \"consistency\": %lf, \"entropy\": %lf", &loss, consistency, entropy) != 3)
    loss = NAN;
  free(text);
  return loss;
}

static void check_selection_weight(const char *tmp, const char *trained_run) {
  char run[512];
  double consistency = NAN, entropy = NAN;
  snprintf(run, sizeof run, "%s/selection", tmp);
  copy_pretext(trained_run, run);
  CHECK_REJECTS("selection_entropy_weight", "cluster --out %s --set cluster.selection_entropy_weight=-1", run);
  const double weights[] = {1, 3};
  for (int i = 0; i < 2; i++) {
    CHECK_RUNS("cluster --out %s --restart --set cluster.head_warmup_epochs=1 --set cluster.epochs=1 "
               "--set cluster.selection_entropy_weight=%g",
               run, weights[i]);
    const double loss = last_head_loss(run, &consistency, &entropy);
    CHECK_MSG(isfinite(loss) && fabs(loss - (consistency - weights[i] * entropy)) <= 1e-5 * (1 + fabs(loss)),
              "weight %g: logged loss %g, consistency %g, entropy %g", weights[i], loss, consistency, entropy);
  }
}

int main(void) {
  light = test_light();
  const char *tmp = test_tmpdir();
  char data[512], trained[512], again[512], between[512], model_a[1024], model_b[1024];
  tiny_setup(TRAIN_IMAGES, VAL_IMAGES, data, sizeof data, config_path, sizeof config_path);
  snprintf(trained, sizeof trained, "%s/trained", tmp);
  snprintf(again, sizeof again, "%s/again", tmp);
  snprintf(cli_extra_args, sizeof cli_extra_args, " --config %s", config_path);

  /* 1. Killed pretext, resumed. Same seed and threads for both runs, so item 6 can compare them. */
  char pretext_args[256];
  snprintf(pretext_args, sizeof pretext_args, "--threads 2 --set pretext.epochs=%d", light ? 3 : 4);
  check_kill_and_resume(trained, "pretext", "pretext", NULL, pretext_args);
  /* Killed between writing the second epoch's checkpoint and renaming it into place (where the model and the
     optimiser state, once two files, could come from different epochs): it resumes after the first epoch. */
  snprintf(between, sizeof between, "%s/between", tmp);
  check_kill_and_resume(between, "pretext", "pretext", "before-rename:checkpoint.safetensors#2", pretext_args);
  CHECK_MSG(strstr(output, "resuming after epoch 1 ") != NULL, "the unrenamed checkpoint was used:\n%s", output);

  /* 6. Determinism: an uninterrupted run gives the same model bytes as the killed-and-resumed ones
     (so neither the seed handling nor the resume changes anything, and no timestamp is in the file). */
  if (!light) {
    CHECK_RUNS("pretext --out %s %s", again, pretext_args);
    join(model_b, sizeof model_b, again, "pretext/model.safetensors");
    CHECK_MSG(same_bytes(join(model_a, sizeof model_a, trained, "pretext/model.safetensors"), model_b),
              "two pretext runs with the same seed and threads (one killed and resumed) wrote different models");
    CHECK_MSG(same_bytes(join(model_a, sizeof model_a, between, "pretext/model.safetensors"), model_b),
              "a run killed between a checkpoint's write and its rename resumed to a different model");
  }

  CHECK_RUNS("mine --out %s", trained);
  check_kill_and_resume(trained, "cluster", "cluster", NULL,
                        light ? "--set cluster.head_warmup_epochs=1 --set cluster.epochs=1"
                              : "--set cluster.head_warmup_epochs=1 --set cluster.epochs=3");
  check_selflabel_thresholds(trained);
  check_head_only(tmp, trained);
  check_mine(tmp);
  check_reference_config(tmp, data);
  check_bad_inputs(tmp, trained);
  check_neighbor_refresh(tmp, trained, data);
  check_selection_weight(tmp, trained);
  return test_main_end();
}
