/* `scan select` and `scan features` through the binary: the ImageSets file a small hand-made case must give,
 * the evidence files, and exit status 2 with a message naming the file for bad input (missing or corrupt .npy,
 * mismatched dimensions, k above the pool size, a names file of the wrong length). `scan features` on a tiny
 * IDX dataset with a randomly initialised model matches the network run in-process. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_writers.h"
#include "scan/atomic_file.h"
#include "scan/curate.h"
#include "scan/npy.h"
#include "scan/nn.h"
#include "testlib.h"

static char output[65536];

static int scan(const char *args) { return test_scan_run(args, output, sizeof output, 0); }

static void expect_input_error(const char *args, const char *needle) {
  test_scan_rejects(args, needle, output, sizeof output);
}

static void write_features(const char *relative, const float *rows, int64_t n, int d) {
  scan_array a = {SCAN_F32, 2, {n, d}, (void *)rows};
  CHECK(scan_npy_write(test_path(relative), &a) == SCAN_OK);
}

/* 2-D unit vectors by angle: the target holds 0, 1 (a near-duplicate of 0) and 90 degrees; the pool has
 * images at 2, 4, 45, 88, 91, 180, 270 degrees. With k = 2: target 0 -> pool 2 deg, 4 deg; target 90 -> 91, 88.
 * The union in pool order: p0 (2), p1 (4), p3 (88), p4 (91). */
static void test_select_small(void) {
  const double target_angles[] = {0, 1, 90};
  const double pool_angles[] = {2, 4, 45, 88, 91, 180, 270};
  float target[3 * 2], pool[7 * 2];
  for (int i = 0; i < 3; i++) target[2 * i] = (float)cos(target_angles[i] * M_PI / 180), target[2 * i + 1] = (float)sin(target_angles[i] * M_PI / 180);
  for (int i = 0; i < 7; i++) pool[2 * i] = (float)cos(pool_angles[i] * M_PI / 180), pool[2 * i + 1] = (float)sin(pool_angles[i] * M_PI / 180);
  write_features("target.npy", target, 3, 2);
  write_features("pool.npy", pool, 7, 2);
  const char pool_names[] = "p0.jpg\np1.png\np2.jpg\ndir/p3.JPG\np4\np5.jpg\np6.jpg\n";
  CHECK(test_write_file(test_path("pool.names.txt"), pool_names, (long)strlen(pool_names)) == 0);
  char args[4096];
  snprintf(args, sizeof args, "select --target %s --pool %s --k 2 --k 1 --dedup 0.98 --out %s", test_path("target.npy"),
           test_path("pool.npy"), test_path("sel"));
  int rc = scan(args);
  CHECK_MSG(rc == 0, "scan %s -> %d: %s", args, rc, output);
  CHECK_MSG(strstr(output, "target: 3 images, 2 after removing near-duplicates"), "%s", output);
  CHECK_MSG(strstr(output, "k=2: 4 neighbours, 4 after de-duplication"), "%s", output);
  char *text = test_read_text(test_path("sel/ImageSets/scan_nn2.txt"), NULL);
  CHECK_MSG(text && strcmp(text, "p0\np1\ndir/p3\np4\n") == 0, "scan_nn2.txt: %s", text ? text : "(none)");
  free(text);
  text = test_read_text(test_path("sel/ImageSets/scan_nn1.txt"), NULL);
  CHECK_MSG(text && strcmp(text, "p0\np4\n") == 0, "scan_nn1.txt: %s", text ? text : "(none)");
  free(text);
  scan_array a;
  if (scan_npy_read(test_path("sel/neighbors_nn2.npy"), &a) == SCAN_OK) {
    const int64_t *n = a.data;
    CHECK(a.dtype == SCAN_I64 && a.shape[0] == 2 && a.shape[1] == 2 && n[0] == 0 && n[1] == 1 && n[2] == 4 && n[3] == 3);
    scan_array_free(&a);
  } else {
    CHECK(!"neighbors_nn2.npy unreadable");
  }
  CHECK(scan_file_exists(test_path("sel/evidence.json")) && scan_file_exists(test_path("sel/evidence.png")));

  /* --voc-root: p0 and p3 have annotations, p1 and p4 do not. */
  make_dir(test_path("voc"));
  make_dir(test_path("voc/Annotations"));
  make_dir(test_path("voc/Annotations/dir"));
  CHECK(test_write_file(test_path("voc/Annotations/p0.xml"), "<a/>", 4) == 0);
  CHECK(test_write_file(test_path("voc/Annotations/dir/p3.xml"), "<a/>", 4) == 0);
  snprintf(args, sizeof args, "select --target %s --pool %s --k 2 --out %s --voc-root %s", test_path("target.npy"),
           test_path("pool.npy"), test_path("sel"), test_path("voc"));
  rc = scan(args);
  CHECK_MSG(rc == 0 && strstr(output, "2 selected names have no annotation"), "%d: %s", rc, output);
  text = test_read_text(test_path("sel/missing_annotations_nn2.txt"), NULL);
  CHECK_MSG(text && strcmp(text, "p1\np4\n") == 0, "missing: %s", text ? text : "(none)");
  free(text);
}

static void test_select_bad_input(void) {
  char args[4096];
  snprintf(args, sizeof args, "select --target %s --pool %s --out %s", test_path("absent.npy"), test_path("pool.npy"),
           test_path("bad"));
  expect_input_error(args, "absent.npy");
  CHECK(test_write_file(test_path("corrupt.npy"), "\x93NUMPY\x01\x00garbage", 16) == 0);
  snprintf(args, sizeof args, "select --target %s --pool %s --out %s", test_path("target.npy"), test_path("corrupt.npy"),
           test_path("bad"));
  expect_input_error(args, "corrupt.npy");
  float three_d[2 * 3] = {1, 0, 0, 0, 1, 0};
  write_features("three_d.npy", three_d, 2, 3);
  snprintf(args, sizeof args, "select --target %s --pool %s --out %s", test_path("three_d.npy"), test_path("pool.npy"),
           test_path("bad"));
  expect_input_error(args, "3 dimensions");
  snprintf(args, sizeof args, "select --target %s --pool %s --k 8 --out %s", test_path("target.npy"), test_path("pool.npy"),
           test_path("bad"));
  expect_input_error(args, "k = 8");
  CHECK(test_write_file(test_path("short.txt"), "a\nb\n", 4) == 0);
  snprintf(args, sizeof args, "select --target %s --pool %s --target-names %s --out %s", test_path("target.npy"),
           test_path("pool.npy"), test_path("short.txt"), test_path("bad"));
  expect_input_error(args, "short.txt: 2 names");
  scan_array empty = {SCAN_F32, 2, {0, 2}, NULL};
  CHECK(scan_npy_write(test_path("empty.npy"), &empty) == SCAN_OK);
  snprintf(args, sizeof args, "select --target %s --pool %s --out %s", test_path("empty.npy"), test_path("pool.npy"),
           test_path("bad"));
  expect_input_error(args, "empty.npy");
}

/* `scan features` with the default configuration (VGG, 28x28 grey, MLP head of 128) on 6 IDX images. */
static void test_features(void) {
  enum { N = 6 };
  make_dir(test_path("fm"));
  const uint8_t labels[N] = {0, 1, 2, 3, 4, 5};
  CHECK(write_idx_images(test_path("fm/train-images-idx3-ubyte"), 2051, N, 28, 28) == 0);
  CHECK(write_idx_labels(test_path("fm/train-labels-idx1-ubyte"), 2049, N, labels) == 0);
  scan_backbone_config backbone = {SCAN_BACKBONE_VGG, 1, 28, 28, 1.0, {16, 32, 64}, 3};
  scan_head_config head = {SCAN_HEAD_MLP, 128, 1, 0};
  scan_net *net = NULL;
  CHECK(scan_net_create(&net, scan_context_default(), &backbone, &head, N, 11) == SCAN_OK);
  if (!net) return;
  const char *metadata[] = {"stage", "pretext", NULL};
  CHECK(scan_net_save(net, test_path("model.safetensors"), metadata) == SCAN_OK);
  char args[4096];
  snprintf(args, sizeof args,
           "features --model %s --dataset fashion-mnist --root %s --split train --out %s --csv %s --quiet --threads 1",
           test_path("model.safetensors"), test_path("fm"), test_path("feat/f.npy"), test_path("feat/f.csv"));
  int rc = scan(args);
  CHECK_MSG(rc == 0, "scan %s -> %d: %s", args, rc, output);

  /* The same network in-process on the val transform (a 28-px centre crop of 28-px images is the image itself). */
  float *input = malloc(sizeof(float) * N * 28 * 28);
  for (int n = 0; n < N; n++)
    for (int y = 0; y < 28; y++)
      for (int x = 0; x < 28; x++) input[(n * 28 + y) * 28 + x] = (test_pixel(n, y, x, 0) / 255.0f - 0.2860f) / 0.3530f;
  CHECK(scan_net_forward(net, input, N, 0) == SCAN_OK);
  const float *expected = scan_net_head_output(net, 0);
  scan_array a;
  if (scan_npy_read(test_path("feat/f.npy"), &a) == SCAN_OK) {
    CHECK(a.dtype == SCAN_F32 && a.ndim == 2 && a.shape[0] == N && a.shape[1] == 128);
    double worst = 0, norm0 = 0;
    for (int i = 0; i < N * 128 && a.shape[1] == 128; i++) worst = test_worse(worst, fabs(((float *)a.data)[i] - expected[i]));
    for (int c = 0; c < 128; c++) norm0 += (double)((float *)a.data)[c] * ((float *)a.data)[c];
    CHECK_MSG(worst < 1e-4, "features differ from the in-process forward by %g", worst);
    CHECK_NEAR(norm0, 1.0, 1e-5, 0);
    scan_array_free(&a);
  } else {
    CHECK(!"features .npy unreadable");
  }
  char *text = test_read_text(test_path("feat/f.names.txt"), NULL);
  CHECK_MSG(text && strcmp(text, "0\n1\n2\n3\n4\n5\n") == 0, "names: %s", text ? text : "(none)");
  free(text);
  text = test_read_text(test_path("feat/f.csv"), NULL);
  int lines = 0, commas_first = 0;
  for (char *c = text; c && *c; c++) {
    lines += *c == '\n';
    commas_first += lines == 0 && *c == ',';
  }
  CHECK_MSG(text && strncmp(text, "0,", 2) == 0 && lines == N && commas_first == 128, "csv: %d lines, %d commas", lines,
            commas_first);
  free(text);

  /* --backbone: the 64 backbone features; then select runs on what features wrote (names found next to it). */
  snprintf(args, sizeof args, "features --model %s --dataset fashion-mnist --root %s --split train --out %s --backbone --quiet",
           test_path("model.safetensors"), test_path("fm"), test_path("feat/b.npy"));
  rc = scan(args);
  CHECK_MSG(rc == 0 && strstr(output, "64 dimensions (backbone"), "%d: %s", rc, output);
  snprintf(args, sizeof args,
           "select --target %s --pool %s --k 2 --dedup 2 --out %s --target-dataset fashion-mnist --target-root %s "
           "--pool-dataset fashion-mnist --pool-root %s --strips 2",
           test_path("feat/f.npy"), test_path("feat/f.npy"), test_path("fsel"), test_path("fm"), test_path("fm"));
  rc = scan(args);
  CHECK_MSG(rc == 0 && strstr(output, "class histogram"), "%d: %s", rc, output);
  CHECK(scan_file_exists(test_path("fsel/strips/strip_001.png")) && scan_file_exists(test_path("fsel/evidence_classes.png")));

  /* A model that does not match the configuration names the tensor. */
  snprintf(args, sizeof args, "features --model %s --dataset fashion-mnist --root %s --out %s --set model_kwargs.features_dim=64",
           test_path("model.safetensors"), test_path("fm"), test_path("feat/x.npy"));
  expect_input_error(args, "contrastive_head");
  free(input);
  scan_net_free(net);
}

int main(void) {
  test_select_small();
  test_select_bad_input();
  test_features();
  return test_main_end();
}
