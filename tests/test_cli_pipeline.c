/* End to end: the whole pipeline on a tiny synthetic MNIST-format dataset with a
 * tiny VGG: every stage runs, writes its files in the run directory, skips when
 * up to date, resumes from a checkpoint, and stops cleanly on a NaN loss. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/npy.h"
#include "testlib.h"
#include "tiny_run.h"

static int exists(const char *dir, const char *relative) {
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, relative);
  return stat(path, &st) == 0;
}

static char output[1 << 16];

static int run(const char *args) {
  char quiet[8192];
  snprintf(quiet, sizeof quiet, "%s --quiet", args);
  return test_scan_run(quiet, output, sizeof output, 1);
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
  char data[512], run_dir[512], config[512], args[4096];
  tiny_setup(240, 90, data, sizeof data, config, sizeof config);
  snprintf(run_dir, sizeof run_dir, "%s/run", tmp);

  snprintf(args, sizeof args, "run --config %s --out %s", config, run_dir);
  CHECK(run(args) == 0);
  CHECK(exists(run_dir, "config.yml"));
  CHECK(exists(run_dir, "pretext/model.safetensors"));
  CHECK(exists(run_dir, "pretext/log.jsonl"));
  CHECK(exists(run_dir, "cluster/model.safetensors"));
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

  /* The synthetic classes are obvious: the clustering must find them (issue 7: ACC >= 0.9). */
  snprintf(path, sizeof path, "%s/eval/metrics.json", run_dir);
  char *json = test_read_text(path, NULL);
  const char *acc = json ? strstr(json, "\"acc\":") : NULL;
  double acc_value = acc ? atof(acc + 6) : 0;
  CHECK_MSG(acc_value >= 0.9, "tiny run ACC %.3f, expected >= 0.9", acc_value);
  free(json);

  /* Over-clustering (K > C): 5 clusters for 3 classes runs end to end; eval matches rectangularly. */
  char run_k5[600];
  snprintf(run_k5, sizeof run_k5, "%s/run_k5", tmp);
  snprintf(args, sizeof args,
           "run --config %s --out %s --set num_classes=5 --set pretext.epochs=1 --set cluster.head_warmup_epochs=5 "
           "--set cluster.epochs=0 --set selflabel.epochs=0",
           config, run_k5);
  CHECK(run(args) == 0);
  snprintf(path, sizeof path, "%s/eval/metrics.json", run_k5);
  json = test_read_text(path, NULL);
  CHECK_MSG(json && strstr(json, "\"num_clusters\":\t5") != NULL, "5 clusters expected in %s", path);
  CHECK(json && strstr(json, "\"majority_acc\"") != NULL);
  free(json);

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
  char command[8192];
  snprintf(command, sizeof command, "%s %s --quiet", test_scan_bin(), args);
  int rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2, "NaN loss should exit 2, got %d:\n%s", rc, output);
  CHECK_MSG(strstr(output, "NaN") != NULL, "message should say NaN:\n%s", output);
  CHECK(exists(run_dir, "pretext/checkpoint.safetensors"));

  /* Naming clusters: the report's labels.csv format applied with `scan annotate`, shown in the report. */
  char names[512];
  snprintf(names, sizeof names, "%s/labels.csv", tmp);
  const char *labels_csv = "file_or_index,cluster,name\n0,0,\"bars, flat\"\n1,1,squares\n2,0,\"bars, flat\"\n";
  test_write_file(names, labels_csv, (long)strlen(labels_csv));
  snprintf(args, sizeof args, "annotate --config %s --out %s --names %s", config, run_dir, names);
  CHECK(run(args) == 0);
  CHECK(exists(run_dir, "eval/predictions_named.csv"));
  CHECK(exists(run_dir, "eval/cluster_names.json"));
  snprintf(args, sizeof args, "report --config %s --out %s", config, run_dir);
  CHECK(run(args) == 0);
  snprintf(path, sizeof path, "%s/report.html", run_dir);
  char *html = test_read_text(path, NULL);
  /* (an empty cluster has no name box, so either given name may be the one shown) */
  CHECK_MSG(html && (strstr(html, "value=\"bars, flat\"") || strstr(html, "value=\"squares\"")),
            "the report should pre-fill the given names");
  CHECK(html && strstr(html, "download-labels") != NULL);
  free(html);
  /* A name for a cluster the run does not have is an error naming the file and line. */
  test_write_file(names, "cluster,name\n7,ghost\n", 21);
  snprintf(command, sizeof command, "%s annotate --config %s --out %s --names %s", test_scan_bin(), config, run_dir, names);
  rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "labels.csv:2") != NULL, "rc %d: %s", rc, output);

  /* A missing or corrupt model file for `scan eval --model` names the file. */
  snprintf(path, sizeof path, "%s/not-a-model.safetensors", tmp);
  test_write_file(path, "garbage", 7);
  snprintf(command, sizeof command, "%s eval --config %s --out %s --model %s", test_scan_bin(), config, run_dir, path);
  rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "not-a-model.safetensors"), "corrupt --model: rc %d\n%s", rc, output);

  /* Bad config values: exit 2 naming the key. */
  snprintf(command, sizeof command, "%s pretext --config %s --out %s/bad --set pretext.batch_size=abc", test_scan_bin(), config,
           tmp);
  rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "batch_size") != NULL, "bad --set: rc %d\n%s", rc, output);
  return test_main_end();
}
