/* End to end: the whole pipeline on a tiny synthetic MNIST-format dataset with a
 * tiny VGG: every stage runs, writes its files in the run directory, skips when
 * up to date, resumes from a checkpoint, and stops cleanly on a NaN loss. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/npy.h"
#include "scan/rng.h"
#include "testlib.h"

enum { SIDE = 28, CLASSES = 3 };

/* Class 0: a horizontal bar, 1: a vertical bar, 2: a filled square; random position and noise. */
static void draw(uint8_t *img, int label, scan_rng *rng) {
  for (int i = 0; i < SIDE * SIDE; i++) img[i] = (uint8_t)scan_rng_int(rng, 40);
  int cy = 8 + scan_rng_int(rng, 12), cx = 8 + scan_rng_int(rng, 12);
  for (int y = 0; y < SIDE; y++)
    for (int x = 0; x < SIDE; x++) {
      int on = label == 0 ? (abs(y - cy) <= 2 && abs(x - cx) <= 9)
             : label == 1 ? (abs(x - cx) <= 2 && abs(y - cy) <= 9)
                          : (abs(x - cx) <= 5 && abs(y - cy) <= 5);
      if (on) img[y * SIDE + x] = (uint8_t)(200 + scan_rng_int(rng, 55));
    }
}

static void be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static void write_split(const char *dir, const char *prefix, int count, uint64_t seed) {
  size_t image_bytes = 16 + (size_t)count * SIDE * SIDE, label_bytes = 8 + (size_t)count;
  uint8_t *images = calloc(image_bytes, 1), *labels = calloc(label_bytes, 1);
  be32(images, 2051); be32(images + 4, (uint32_t)count); be32(images + 8, SIDE); be32(images + 12, SIDE);
  be32(labels, 2049); be32(labels + 4, (uint32_t)count);
  scan_rng rng = scan_rng_make(seed, 0, 0);
  for (int i = 0; i < count; i++) {
    labels[8 + i] = (uint8_t)(i % CLASSES);
    draw(images + 16 + (size_t)i * SIDE * SIDE, i % CLASSES, &rng);
  }
  char path[512];
  snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix);
  test_write_file(path, images, (long)image_bytes);
  snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
  test_write_file(path, labels, (long)label_bytes);
  free(images);
  free(labels);
}

static int exists(const char *dir, const char *relative) {
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, relative);
  return stat(path, &st) == 0;
}

static char output[1 << 16];

static int run(const char *args) {
  char command[4096];
  snprintf(command, sizeof command, "%s %s --quiet", test_scan_bin(), args);
  int rc = test_run(command, output, sizeof output);
  if (rc != 0) fprintf(stderr, "`%s` exited %d:\n%s\n", command, rc, output);
  return rc;
}

/* Overwrites every tensor byte of a safetensors file with 0xFF (float NaN). */
static void poison_safetensors(const char *path) {
  FILE *f = fopen(path, "r+b");
  if (!f) return;
  uint64_t header = 0;
  if (fread(&header, 8, 1, f) == 1) {
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long start = 8 + (long)header;
    fseek(f, start, SEEK_SET);
    for (long i = start; i < size; i++) fputc(0xFF, f);
  }
  fclose(f);
}

int main(void) {
  const char *tmp = test_tmpdir();
  char data[512], run_dir[512], config[512], args[2048];
  snprintf(data, sizeof data, "%s/data", tmp);
  snprintf(run_dir, sizeof run_dir, "%s/run", tmp);
  snprintf(config, sizeof config, "%s/tiny.yml", tmp);
  mkdir(data, 0777);
  write_split(data, "train", 240, 1);
  write_split(data, "t10k", 90, 2);
  FILE *f = fopen(config, "w");
  fprintf(f,
          "train_db_name: mnist\nval_db_name: mnist\ndata_root: %s\nnum_classes: 3\nnum_workers: 1\n"
          "num_neighbors: 5\nnum_neighbors_val: 3\n"
          "model_kwargs:\n  vgg_widths: [4, 8]\n  features_dim: 16\n"
          "pretext:\n  epochs: 2\n  batch_size: 32\n  scheduler_kwargs:\n    warmup_steps: 2\n"
          "scan:\n  epochs: 1\n  head_warmup_epochs: 2\n  batch_size: 32\n  num_heads: 2\n"
          "selflabel:\n  epochs: 1\n  batch_size: 32\n  confidence_threshold: 0.5\n"
          "eval:\n  prototypes_topk: 3\n"
          "explain:\n  lime_samples: 40\n",
          data);
  fclose(f);

  snprintf(args, sizeof args, "run --config %s --out %s", config, run_dir);
  CHECK(run(args) == 0);
  CHECK(exists(run_dir, "config.yml"));
  CHECK(exists(run_dir, "pretext/model.safetensors"));
  CHECK(exists(run_dir, "pretext/log.jsonl"));
  CHECK(exists(run_dir, "scan/model.safetensors"));
  CHECK(exists(run_dir, "selflabel/model.safetensors"));

  char path[1024];
  scan_array a;
  snprintf(path, sizeof path, "%s/pretext/neighbors-train.npy", run_dir);
  CHECK(scan_npy_read(path, &a) == SCAN_OK);
  CHECK(a.dtype == SCAN_I64 && a.ndim == 2 && a.shape[0] == 240 && a.shape[1] == 6);
  if (a.data && a.shape[0] == 240) {
    const int64_t *rows = a.data;
    int self_first = 1;
    for (int i = 0; i < 240; i++) self_first &= rows[i * a.shape[1]] == i;
    CHECK_MSG(self_first, "column 0 of the neighbour file must be the image itself");
    scan_array_free(&a);
  }

  /* Up to date: every stage is skipped. */
  CHECK(run(args) == 0);
  CHECK_MSG(strstr(output, "pretext: up to date") != NULL, "second run should skip pretext:\n%s", output);

  /* A changed selflabel setting reruns only selflabel. */
  snprintf(args, sizeof args, "run --config %s --out %s --set selflabel.confidence_threshold=0.6", config, run_dir);
  CHECK(run(args) == 0);
  CHECK(strstr(output, "pretext: up to date") != NULL);
  CHECK_MSG(strstr(output, "selflabel: running") != NULL, "selflabel should rerun:\n%s", output);

  /* Resume: with the model gone but the checkpoint there, pretext continues after its last epoch. */
  snprintf(path, sizeof path, "%s/pretext/model.safetensors", run_dir);
  remove(path);
  snprintf(args, sizeof args, "pretext --config %s --out %s --set pretext.epochs=3", config, run_dir);
  CHECK(run(args) == 0);
  CHECK_MSG(strstr(output, "resuming after epoch 2") != NULL, "pretext should resume:\n%s", output);
  CHECK(exists(run_dir, "pretext/model.safetensors"));

  /* A NaN loss stops training with exit status 2 and keeps the checkpoint. */
  snprintf(path, sizeof path, "%s/pretext/checkpoint.safetensors", run_dir);
  poison_safetensors(path);
  snprintf(args, sizeof args, "pretext --config %s --out %s --set pretext.epochs=4", config, run_dir);
  char command[4096];
  snprintf(command, sizeof command, "%s %s --quiet", test_scan_bin(), args);
  int rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2, "NaN loss should exit 2, got %d:\n%s", rc, output);
  CHECK_MSG(strstr(output, "NaN") != NULL, "message should say NaN:\n%s", output);
  CHECK(exists(run_dir, "pretext/checkpoint.safetensors"));

  /* Bad config values: exit 2 naming the key. */
  snprintf(command, sizeof command, "%s pretext --config %s --out %s/bad --set pretext.batch_size=abc", test_scan_bin(), config,
           tmp);
  rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "batch_size") != NULL, "bad --set: rc %d\n%s", rc, output);
  return test_main_end();
}
