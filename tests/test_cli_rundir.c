/* A run directory that is never silently wrong (issue #22), on the tiny synthetic data of tiny_run.h:
 *   - values out of range (threads, batch 0, num_classes 0, threshold 1.5, prototypes_topk 0, bad betas) and
 *     relations to the data (k >= N) are refused with exit 2 before anything in the run directory changes, and
 *     `scan config show` reports the same errors;
 *   - a truncated, emptied, edited or missing config.yml is refused, never completed from defaults;
 *   - a second command on a run directory in use is refused at once, naming the holder's PID;
 *   - changed data redoes the stages; a stale temporary of a dead writer is removed;
 *   - a stage resumes only under the configuration it started with (--restart starts it afresh);
 *   - a truncated checkpoint is called truncated, naming the file;
 *   - non-finite weights stop a run with exit 2 and no model file.
 * "Unchanged" compares every file's path, size and bytes before and after (the lock file aside: it records the
 * PID of the last command that held the directory). */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scan/config.h"
#include "scan/hash.h"
#include "cli_scan.h"
#include "testlib.h"
#include "tiny_run.h"

/* The whole file, NUL-terminated (NULL when unreadable). */
/* Two batches of 32 per epoch: the checks need a run, not a good model. */
enum { TRAIN_IMAGES = 64, VAL_IMAGES = 32 };

/* A hash of every file under dir (relative path, size, bytes) but the lock file. */
static uint64_t snapshot(const char *dir, const char *relative, uint64_t h) {
  char path[2048];
  snprintf(path, sizeof path, "%s%s%s", dir, relative[0] ? "/" : "", relative);
  DIR *d = opendir(path);
  if (!d) return h;
  struct dirent *e;
  /* readdir's order is the file system's; sum the entries' hashes so that it does not matter */
  uint64_t sum = 0;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, ".lock")) continue;
    char child[2048], full[4096];
    snprintf(child, sizeof child, "%s%s%s", relative, relative[0] ? "/" : "", e->d_name);
    snprintf(full, sizeof full, "%s/%s", dir, child);
    struct stat st;
    if (stat(full, &st) != 0) continue;
    uint64_t entry = scan_hash_string(SCAN_HASH_SEED, child);
    if (S_ISDIR(st.st_mode)) {
      entry = snapshot(dir, child, entry);
    } else {
      long size = 0;
      char *bytes = test_read_text(full, &size);
      entry = scan_hash_bytes(entry, bytes ? bytes : "", bytes ? (size_t)size : 0);
      free(bytes);
    }
    sum += entry;
  }
  closedir(d);
  return scan_hash_bytes(h, &sum, sizeof sum);
}

static int exists(const char *dir, const char *relative) {
  char path[2048];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, relative);
  return stat(path, &st) == 0;
}

static void truncate_to_half(const char *path) {
  long size = 0;
  char *bytes = test_read_text(path, &size);
  if (bytes) test_write_file(path, bytes, size / 2);
  free(bytes);
}

/* The pipeline config, smaller than tiny_run.h's: one short epoch per stage is all these checks need. */
static void write_config(const char *path, const char *data) {
  char text[2048];
  int n = snprintf(text, sizeof text,
                   "train_db_name: mnist\nval_db_name: mnist\ndata_root: %s\nnum_classes: 3\nnum_workers: 1\n"
                   "num_neighbors: 5\nnum_neighbors_val: 3\n"
                   "model_kwargs:\n  vgg_widths: [4, 8]\n  features_dim: 8\n"
                   "pretext:\n  epochs: 1\n  batch_size: 32\n"
                   "cluster:\n  epochs: 0\n  head_warmup_epochs: 1\n  batch_size: 32\n  num_heads: 1\n"
                   "selflabel:\n  epochs: 1\n  batch_size: 32\n  confidence_threshold: 0.5\n"
                   "eval:\n  prototypes_topk: 2\n"
                   "explain:\n  lime_samples: 10\n",
                   data);
  test_write_file(path, text, n);
}

/* Bad values on a finished run: exit 2 naming the key, nothing in the run directory changed, and `scan config show`
   (which needs no run directory) gives the same message. */
static void check_bad_values(const char *config, const char *run) {
  char threads[64];
  snprintf(threads, sizeof threads, "--threads %d", scan_config_max_threads() + 1);
  const char *const bad[][2] = {
      {"--threads 10000", "--threads: threads = 10000 must be 0 (all cores) to"},
      {threads, "threads = "},
      {"--set scan.batch_size=0", "cluster.batch_size = 0 must be"}, /* the section's old name, still read */
      {"--set num_classes=0", "num_classes = 0 must be in [2, 10000]"},
      {"--set selflabel.confidence_threshold=1.5", "selflabel.confidence_threshold = 1.5 must be in (0, 1]"},
      {"--set eval.prototypes_topk=0", "eval.prototypes_topk = 0 must be >= 1"},
      {"--set pretext.optimizer_kwargs.betas=[0.9,1.5]", "pretext.optimizer_kwargs.betas = 1.5 must be in [0, 1)"},
      {"--set cluster.optimizer_kwargs.betas=[0.9]", "cluster.optimizer_kwargs.betas needs two values"},
      {"--set pretext.sync_batchnorm=maybe", "key 'sync_batchnorm' expects true or false, got 'maybe'"},
  };
  uint64_t before = snapshot(run, "", 0);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_REJECTS(bad[i][1], "run --config %s --out %s %s", config, run, bad[i][0]);
    CHECK_MSG(snapshot(run, "", 0) == before, "`scan run %s` changed the run directory", bad[i][0]);
    if (strncmp(bad[i][0], "--threads", 9) == 0) continue; /* config show has no --threads */
    CHECK_REJECTS(bad[i][1], "config show --config %s %s", config, bad[i][0]);
  }
  /* Relations to the data are known once the data is loaded, still before anything is written. */
  CHECK_REJECTS("cluster.num_neighbors = 500 must be at most 63", "run --config %s --out %s --set cluster.num_neighbors=500",
                config, run);
  CHECK_REJECTS("cluster.num_neighbors_val = 32 must be at most 31", "mine --config %s --out %s --set num_neighbors_val=32",
                config, run);
  CHECK_MSG(snapshot(run, "", 0) == before, "a refused neighbour count changed the run directory");
}

/* config.yml is the run's memory: damaged or missing, the run directory is refused rather than retrained with
   the built-in defaults (Fashion-MNIST). */
static void check_damaged_config(const char *run) {
  char path[1024];
  snprintf(path, sizeof path, "%s/config.yml", run);
  long size = 0;
  char *original = test_read_text(path, &size);
  CHECK_MSG(original && strstr(original, "\n# checksum: "), "config.yml should end with a checksum line");
  uint64_t before = snapshot(run, "", 0);
  truncate_to_half(path);
  CHECK_REJECTS("config.yml: damaged", "run --out %s", run);
  test_write_file(path, "", 0);
  CHECK_REJECTS("the file is empty", "run --out %s", run);
  /* an edit that keeps the YAML valid */
  char *edited = original ? strdup(original) : NULL;
  char *seed = edited ? strstr(edited, "seed: 0") : NULL;
  if (seed) seed[6] = '7';
  CHECK_MSG(seed != NULL, "no 'seed: 0' in config.yml");
  if (edited) test_write_file(path, edited, size);
  CHECK_REJECTS("checksum does not match", "eval --out %s", run);
  remove(path);
  CHECK_REJECTS("no config.yml in this run directory", "run --out %s", run);
  if (original) test_write_file(path, original, size);
  CHECK_MSG(snapshot(run, "", 0) == before, "a refused config.yml changed the run directory");
  free(original);
  free(edited);
}

/* Another process holds the directory: refused at once with its PID, nothing changed. */
static void check_lock(const char *config, const char *run) {
  char path[1024], pid[32];
  snprintf(path, sizeof path, "%s/.lock", run);
  int fd = open(path, O_RDWR | O_CREAT, 0644);
  CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
  int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  CHECK(ftruncate(fd, 0) == 0 && write(fd, pid, (size_t)n) == n);
  uint64_t before = snapshot(run, "", 0);
  pid[n - 1] = '\0';
  char needle[128];
  snprintf(needle, sizeof needle, "in use by scan process %s", pid);
  CHECK_REJECTS(needle, "run --config %s --out %s", config, run);
  CHECK_REJECTS(needle, "pretext --config %s --out %s --restart", config, run);
  CHECK_MSG(snapshot(run, "", 0) == before, "a refused command changed the locked run directory");
  close(fd);
}

/* Two scan processes on one directory: the first trains (for many epochs), the second is refused at once naming the
   first's PID. The first holds the lock once it has written its PID into the lock file. */
static void check_two_processes(const char *config, const char *tmp) {
  char run[600], lock[1024], command[4096];
  snprintf(run, sizeof run, "%s/busy", tmp);
  snprintf(lock, sizeof lock, "%s/.lock", run);
  snprintf(command, sizeof command, "exec %s pretext --config %s --out %s --set pretext.epochs=100000 --quiet >/dev/null 2>&1",
           test_scan_bin(), config, run);
  pid_t first = fork();
  if (first == 0) {
    execl("/bin/sh", "sh", "-c", command, (char *)NULL);
    _exit(127);
  }
  char expected[32];
  snprintf(expected, sizeof expected, "%ld\n", (long)first);
  int holding = 0;
  for (int i = 0; i < 3000 && !holding; i++) { /* at most 30 s for the first to start */
    long size = 0;
    char *text = test_read_text(lock, &size);
    holding = text && strcmp(text, expected) == 0;
    free(text);
    if (!holding) usleep(10000);
  }
  CHECK_MSG(holding, "the first scan never took the lock");
  char needle[96];
  snprintf(needle, sizeof needle, "in use by scan process %ld", (long)first);
  CHECK_REJECTS(needle, "run --config %s --out %s", config, run);
  kill(first, SIGKILL);
  waitpid(first, NULL, 0);
  /* The kernel released the dead process's lock: the directory is usable again at once. */
  CHECK_RUNS("pretext --config %s --out %s --set pretext.epochs=0 --restart", config, run);
}

/* Up to date, with a temporary that a killed writer left in eval/: removed. */
static void check_stale_temporary(const char *config, const char *run) {
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, NULL, 0); /* a pid nobody writes under any more */
  char path[1024];
  snprintf(path, sizeof path, "%s/eval/metrics.json.tmp.%ld", run, (long)child);
  test_write_file(path, "{\"partial", 9);
  CHECK_RUNS("run --config %s --out %s", config, run);
  CHECK_MSG(strstr(output, "pretext: up to date") && strstr(output, "explain: up to date"), "a second run should skip:\n%s",
            output);
  CHECK_MSG(!exists(run, "eval") || access(path, F_OK) != 0, "%s was not removed", path);
}

/* Other data (a class removed, images changed): the stages run again instead of calling themselves up to date.
   The run is stopped once pretext has retrained its first epoch: that is what is checked. */
static void check_changed_data(const char *config, const char *run, const char *data) {
  tiny_write_split(data, "train", 48, 7);
  setenv("SCAN_TEST_STOP_AT", "checkpoint-written:pretext", 1);
  int rc = scan("run --config %s --out %s", config, run);
  unsetenv("SCAN_TEST_STOP_AT");
  CHECK_MSG(rc != 0 && strstr(output, "pretext: running") && strstr(output, "stopping at checkpoint-written:pretext"),
            "changed data should retrain pretext (exit %d):\n%s", rc, output);
  tiny_write_split(data, "train", TRAIN_IMAGES, 1);
}

/* The case: a pretext stage checkpointed with seed 0 and lr 0.3 asked to continue with seed 5 and lr 0.01. */
static void check_resume_config(const char *config, const char *tmp) {
  char run[600], path[1024];
  snprintf(run, sizeof run, "%s/resume", tmp);
  setenv("SCAN_TEST_STOP_AT", "checkpoint-written:pretext", 1);
  scan("pretext --config %s --out %s", config, run);
  unsetenv("SCAN_TEST_STOP_AT");
  CHECK_MSG(exists(run, "pretext/checkpoint.safetensors") && !exists(run, "pretext/model.safetensors"),
            "pretext should have stopped after its first epoch:\n%s", output);
  uint64_t before = snapshot(run, "", 0);
  CHECK_REJECTS("seed 0 -> 5, optimizer_kwargs.lr 0.3 -> 0.01",
                "pretext --config %s --out %s --set seed=5 --set pretext.optimizer_kwargs.lr=0.01", config, run);
  CHECK_MSG(strstr(output, "--restart") != NULL, "the refusal should name --restart:\n%s", output);
  CHECK_MSG(snapshot(run, "", 0) == before, "a refused resume changed the run directory");
  /* More epochs and other thread counts are still the same run. */
  CHECK_RUNS("pretext --config %s --out %s --set pretext.epochs=3 --threads 1", config, run);
  CHECK_MSG(strstr(output, "resuming after epoch 1"), "should resume:\n%s", output);
  CHECK_RUNS("pretext --config %s --out %s --set seed=5 --restart", config, run);
  CHECK_MSG(strstr(output, "resuming") == NULL, "--restart should start afresh:\n%s", output);
  snprintf(path, sizeof path, "%s/config.yml", run);
  long size = 0;
  char *written = test_read_text(path, &size);
  CHECK_MSG(written && strstr(written, "seed: 5"), "config.yml should hold the new seed");
  free(written);

  /* A truncated checkpoint is called what it is, naming the file. */
  snprintf(path, sizeof path, "%s/pretext/checkpoint.safetensors", run);
  truncate_to_half(path);
  CHECK_REJECTS("checkpoint.safetensors: truncated or corrupt checkpoint", "pretext --config %s --out %s --set seed=5",
                config, run);
}

/* Normalisation constants that blow the activations up: the batch-norm statistics become infinite while the
   (normalised) SimCLR loss may stay finite. The run stops with exit 2 and writes no model. */
static void check_non_finite(const char *config, const char *tmp) {
  char run[600];
  snprintf(run, sizeof run, "%s/non-finite", tmp);
  int rc = scan("pretext --config %s --out %s --set pretext.augmentation_kwargs.normalize.std=[1e-30]", config, run);
  CHECK_MSG(rc == 2 && (strstr(output, "infinite") || strstr(output, "NaN")), "exit %d:\n%s", rc, output);
  CHECK_MSG(!exists(run, "pretext/model.safetensors"), "a model with non-finite numbers was written:\n%s", output);
  CHECK_MSG(!exists(run, "pretext/checkpoint.safetensors"), "a checkpoint with non-finite numbers was written");
}

/* A run written before the clustering stage's folder took the command's name keeps it in scan/: the next command
   moves it to cluster/ once, and the run is complete again (nothing retrains). */
static void check_old_cluster_folder(const char *config, const char *run) {
  char old_dir[1024], new_dir[1024];
  snprintf(old_dir, sizeof old_dir, "%s/scan", run);
  snprintf(new_dir, sizeof new_dir, "%s/cluster", run);
  CHECK(rename(new_dir, old_dir) == 0);
  CHECK_RUNS("eval --config %s --out %s", config, run);
  CHECK_MSG(strstr(output, "renamed to") != NULL, "no note of the renamed folder:\n%s", output);
  CHECK(exists(run, "cluster/model.safetensors") && !exists(run, "scan"));
  CHECK_RUNS("run --config %s --out %s", config, run);
  CHECK_MSG(strstr(output, "cluster: up to date, skipped") != NULL, "the clustering stage ran again:\n%s", output);
}

int main(void) {
  const char *tmp = test_tmpdir();
  char data[512], config[512], run[512];
  snprintf(data, sizeof data, "%s/data", tmp);
  snprintf(config, sizeof config, "%s/tiny.yml", tmp);
  snprintf(run, sizeof run, "%s/run", tmp);
  mkdir(data, 0777);
  tiny_write_split(data, "train", TRAIN_IMAGES, 1);
  tiny_write_split(data, "t10k", VAL_IMAGES, 2);
  write_config(config, data);

  check_resume_config(config, tmp);
  check_non_finite(config, tmp);
  CHECK_RUNS("run --config %s --out %s", config, run);
  check_bad_values(config, run);
  check_old_cluster_folder(config, run);
  check_damaged_config(run);
  check_lock(config, run);
  check_two_processes(config, tmp);
  check_stale_temporary(config, run);
  check_changed_data(config, run, data);
  return test_main_end();
}
