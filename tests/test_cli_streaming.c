/* Both splits streamed (issue 19): a tiny run whose training and validation images are packed files read image by
 * image (data_streaming: on) gives the same files as the same run with the images in memory (off): the models, the
 * mined neighbours, the evaluation (predictions, prototypes, the pixel k-means baseline, the contact sheets), the
 * explanations of prototypes, members, a given index and the faithfulness sample, and query clustering by index
 * and by image file (its copy search reads every validation image). Every reader of validation images runs here
 * on a streamed split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/datasets.h"
#include "scan/image_io.h"
#include "testlib.h"
#include "tiny_run.h"

enum { TRAIN = 240, VAL = 90 };

static char output[1 << 16];
static char config[512];

/* `scan ARGS` on run directory <tmp>/<run>, with the packed splits, streamed or not. */
static int scan_on(const char *run, const char *streaming, const char *args) {
  char command[8192];
  const char *tmp = test_tmpdir();
  snprintf(command, sizeof command,
           "%s %s --config %s --out %s/%s --quiet --set train_db_name=packed --set data_root=%s/train.pack "
           "--set val_db_name=packed --set val_data_root=%s/val.pack --set data_streaming=%s",
           test_scan_bin(), args, config, tmp, run, tmp, tmp, streaming);
  return test_run(command, output, sizeof output);
}

/* Whether <tmp>/streamed/<relative> and <tmp>/whole/<relative> exist and hold the same bytes, up to the run
   directory's name where a JSON file names a path ("/streamed/" is read as "/whole/"). */
static int same_file(const char *relative) {
  char a[1024], b[1024];
  snprintf(a, sizeof a, "%s/streamed/%s", test_tmpdir(), relative);
  snprintf(b, sizeof b, "%s/whole/%s", test_tmpdir(), relative);
  long size_a = 0, size_b = 0;
  char *x = test_read_text(a, &size_a), *y = test_read_text(b, &size_b);
  if (x && strstr(relative, ".json"))
    for (char *at = strstr(x, "/streamed/"); at; at = strstr(at, "/streamed/")) {
      memmove(at + 7, at + 10, (size_t)(size_a - (at + 10 - x)) + 1); /* "/streamed/" -> "/whole/" */
      memcpy(at, "/whole/", 7);
      size_a -= 3;
    }
  int same = x && y && size_a == size_b && memcmp(x, y, (size_t)size_a) == 0;
  free(x);
  free(y);
  return same;
}

/* Whether a file of the in-memory run exists. */
static int whole_has(const char *relative) {
  char path[1024];
  snprintf(path, sizeof path, "%s/whole/%s", test_tmpdir(), relative);
  FILE *f = fopen(path, "rb");
  if (f) fclose(f);
  return f != NULL;
}

int main(void) {
  char data[512], args[2048];
  const char *tmp = test_tmpdir();
  tiny_setup(TRAIN, VAL, data, sizeof data, config, sizeof config);
  snprintf(args, sizeof args, "%s data pack --dataset mnist --root %s --split train --out %s/train.pack",
           test_scan_bin(), data, tmp);
  CHECK_MSG(test_run(args, output, sizeof output) == 0, "%s", output);
  snprintf(args, sizeof args, "%s data pack --dataset mnist --root %s --split test --out %s/val.pack",
           test_scan_bin(), data, tmp);
  CHECK_MSG(test_run(args, output, sizeof output) == 0, "%s", output);

  /* A probe image for the query by file: validation image 5, read back from the packed file. */
  char probe[1024];
  snprintf(probe, sizeof probe, "%s/probe.png", tmp);
  const char *modes[2][2] = {{"streamed", "on"}, {"whole", "off"}};
  for (int m = 0; m < 2; m++) {
    const char *run = modes[m][0], *streaming = modes[m][1];
    int rc = scan_on(run, streaming, "run");
    CHECK_MSG(rc == 0, "scan run (%s) exited %d:\n%s", run, rc, output);
    if (m == 0) {
      snprintf(args, sizeof args, "%s data show --dataset packed --root %s/val.pack --out %s/val-samples.png",
               test_scan_bin(), tmp, tmp);
      CHECK_MSG(test_run(args, output, sizeof output) == 0, "%s", output);
      /* The probe file is image 5 itself: write it from the whole dataset read by the test. */
      scan_dataset val;
      scan_dataset_spec spec = {.name = "packed", .root = NULL};
      char root[600];
      snprintf(root, sizeof root, "%s/val.pack", tmp);
      spec.root = root;
      spec.streaming = SCAN_STREAM_OFF;
      if (scan_dataset_load(&val, &spec) == SCAN_OK) {
        CHECK(scan_image_write_png(probe, TEST_DATASET_IMAGE(&val, 5), val.height, val.width, val.channels) == SCAN_OK);
        scan_dataset_free(&val);
      } else {
        CHECK_MSG(0, "%s: %s", root, scan_error_message());
      }
    }
    rc = scan_on(run, streaming, "explain --index 5 --method gradcam");
    CHECK_MSG(rc == 0, "explain --index (%s) exited %d:\n%s", run, rc, output);
    rc = scan_on(run, streaming, "explain --cluster 0 --top 2 --method gradcam");
    CHECK_MSG(rc == 0, "explain --cluster (%s) exited %d:\n%s", run, rc, output);
    rc = scan_on(run, streaming, "explain --faithfulness --samples 3");
    CHECK_MSG(rc == 0, "explain --faithfulness (%s) exited %d:\n%s", run, rc, output);
    rc = scan_on(run, streaming, "candidates --n-list 10,20");
    CHECK_MSG(rc == 0, "candidates (%s) exited %d:\n%s", run, rc, output);
    rc = scan_on(run, streaming, "query --query 5 --n 20 --prototypes");
    CHECK_MSG(rc == 0, "query (%s) exited %d:\n%s", run, rc, output);
    snprintf(args, sizeof args, "query --query-image %s --n 10", probe);
    rc = scan_on(run, streaming, args);
    CHECK_MSG(rc == 0, "query --query-image (%s) exited %d:\n%s", run, rc, output);
  }

  const char *same[] = {"pretext/model.safetensors", "pretext/neighbors-train.npy", "pretext/neighbors-val.npy",
                        "cluster/model.safetensors", "eval/predictions.csv", "eval/prototypes.json",
                        "eval/prototypes.png", "eval/clusters/cluster_00.png", "eval/clusters/cluster_01.png",
                        "explain/cluster_00_gradcam.png", "explain/val_00005_gradcam.png",
                        "explain/cluster_00_member_00_gradcam.png", "explain/faithfulness.json",
                        "eval/metrics.json", /* with the pixel k-means baseline, which read every image */
                        "pretext/candidates-N20.npy", "query/5-n20/members.json", "query/5-n20/metrics.json",
                        "query/file-probe-n10/members.json"};
  for (size_t i = 0; i < sizeof same / sizeof *same; i++)
    CHECK_MSG(same_file(same[i]), "%s differs between the streamed and the in-memory run (or is missing)", same[i]);
  /* The query's grids: one per cluster its candidates fell into. */
  int grids = 0;
  for (int c = 0; c < TINY_CLASSES; c++) {
    char rel[2][64];
    snprintf(rel[0], sizeof rel[0], "query/5-n20/cluster_%02d.png", c);
    snprintf(rel[1], sizeof rel[1], "query/5-n20/prototype_%02d.png", c);
    for (int f = 0; f < 2; f++)
      if (whole_has(rel[f])) {
        grids++;
        CHECK_MSG(same_file(rel[f]), "%s differs between the streamed and the in-memory run (or is missing)", rel[f]);
      }
  }
  CHECK(grids >= 2);
  return test_main_end();
}
