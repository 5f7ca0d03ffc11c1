/* `scan metrics` against scikit-learn: every case of tests/data/metrics_cli/expected.json (written by
 * tools/make_metrics_cli_fixture.py: K > C with empty clusters inside the id range, K < C, empty clusters
 * after the largest id, CSV columns; .npy of int8, uint8, int16..uint64) run through the command, each metric
 * within 1e-6 of scikit-learn's, the matching and the confusion table exact. Then every kind of bad input:
 * a message naming the file and exit status 2. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/npy.h"
#include "testlib.h"

static char output[1 << 16];

static int run_metrics(const char *args) {
  char command[4096];
  snprintf(command, sizeof command, "metrics %s", args);
  return test_scan_run(command, output, sizeof output, 0);
}

static int same_int_array(const cJSON *a, const cJSON *b) {
  if (!cJSON_IsArray(a) || !cJSON_IsArray(b) || cJSON_GetArraySize(a) != cJSON_GetArraySize(b)) return 0;
  for (int i = 0; i < cJSON_GetArraySize(a); i++) {
    const cJSON *x = cJSON_GetArrayItem(a, i), *y = cJSON_GetArrayItem(b, i);
    if (cJSON_IsArray(x) ? !same_int_array(x, y) : !(cJSON_IsNumber(x) && cJSON_IsNumber(y) && x->valuedouble == y->valuedouble))
      return 0;
  }
  return 1;
}

static void check_case(const cJSON *c) {
  const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
  const cJSON *probs = cJSON_GetObjectItem(c, "probs"), *expected = cJSON_GetObjectItem(c, "expected");
  char args[2048];
  int n = snprintf(args, sizeof args, "--json --truth %s/metrics_cli/%s --pred %s/metrics_cli/%s", test_data_dir(),
                   cJSON_GetObjectItem(c, "truth")->valuestring, test_data_dir(), cJSON_GetObjectItem(c, "pred")->valuestring);
  if (probs) snprintf(args + n, sizeof args - (size_t)n, " --probs %s/metrics_cli/%s", test_data_dir(), probs->valuestring);
  int rc = run_metrics(args);
  CHECK_MSG(rc == 0, "%s: exit %d: %s", name, rc, output);
  cJSON *got = cJSON_Parse(output);
  CHECK_MSG(got != NULL, "%s: not JSON: %s", name, output);
  if (!got) return;
  static const char *const keys[] = {"acc", "majority_acc", "nmi", "ari", "ami", "top5",
                                     "precision_weighted", "recall_weighted", "f1_weighted", "n", "num_clusters", "num_classes"};
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
    const cJSON *want = cJSON_GetObjectItem(expected, keys[k]), *have = cJSON_GetObjectItem(got, keys[k]);
    if (!want) {
      CHECK_MSG(!have, "%s: %s given without probabilities", name, keys[k]);
      continue;
    }
    CHECK_MSG(cJSON_IsNumber(have), "%s: no %s", name, keys[k]);
    if (cJSON_IsNumber(have)) CHECK_MSG(fabs(have->valuedouble - want->valuedouble) <= 1e-6, "%s: %s = %.9f, scikit-learn %.9f",
                                        name, keys[k], have->valuedouble, want->valuedouble);
  }
  CHECK_MSG(same_int_array(cJSON_GetObjectItem(got, "match"), cJSON_GetObjectItem(expected, "match")), "%s: matching differs", name);
  CHECK_MSG(same_int_array(cJSON_GetObjectItem(got, "confusion"), cJSON_GetObjectItem(expected, "confusion")),
            "%s: confusion differs", name);
  cJSON_Delete(got);
}

static void test_against_sklearn(void) {
  char path[1024];
  snprintf(path, sizeof path, "%s/metrics_cli/expected.json", test_data_dir());
  unsigned char *text = NULL;
  size_t size = 0;
  CHECK(scan_read_file(path, &text, &size) == SCAN_OK);
  cJSON *root = text ? cJSON_Parse((const char *)text) : NULL;
  free(text);
  const cJSON *cases = cJSON_GetObjectItem(root, "cases");
  CHECK(cJSON_GetArraySize(cases) == 4);
  const cJSON *c;
  cJSON_ArrayForEach(c, cases) check_case(c);
  /* The table a person reads has the same numbers. */
  snprintf(path, sizeof path, "--truth %s/metrics_cli/plain_truth.txt --pred %s/metrics_cli/eval_predictions.csv",
           test_data_dir(), test_data_dir());
  CHECK(run_metrics(path) == 0 && strstr(output, "ACC (Hungarian)  0.800000") && strstr(output, "confusion"));
  cJSON_Delete(root);
}

static void write_ids(const char *path, scan_dtype dtype, const void *data, int64_t n) {
  scan_array a = {dtype, 1, {n}, (void *)data};
  CHECK(scan_npy_write(path, &a) == SCAN_OK);
}

/* Exit status 2 and a message naming `file` (and containing `words`). */
static void check_refused(const char *args, const char *file, const char *words) {
  int rc = run_metrics(args);
  CHECK_MSG(rc == 2, "`scan metrics %s` exited %d: %s", args, rc, output);
  CHECK_MSG(strstr(output, file) != NULL, "message does not name %s: %s", file, output);
  CHECK_MSG(strstr(output, words) != NULL, "message lacks '%s': %s", words, output);
}

static void test_bad_input(void) {
  const char *dir = test_tmpdir();
  char truth[512], shorter[512], negative[512], floats[512], garbage[512], text[512], probs[512], args[2048];
  snprintf(truth, sizeof truth, "%s/truth.npy", dir);
  snprintf(shorter, sizeof shorter, "%s/short.npy", dir);
  snprintf(negative, sizeof negative, "%s/negative.npy", dir);
  snprintf(floats, sizeof floats, "%s/floats.npy", dir);
  snprintf(garbage, sizeof garbage, "%s/garbage.npy", dir);
  snprintf(text, sizeof text, "%s/bad.csv", dir);
  snprintf(probs, sizeof probs, "%s/probs.npy", dir);
  const int64_t ids[6] = {0, 1, 2, 0, 1, 2}, with_negative[6] = {0, 1, -3, 0, 1, 2};
  const float as_floats[6] = {0, 1, 2, 0, 1, 2};
  const float narrow[6 * 2] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  write_ids(truth, SCAN_I64, ids, 6);
  write_ids(shorter, SCAN_I64, ids, 5);
  write_ids(negative, SCAN_I64, with_negative, 6);
  write_ids(floats, SCAN_F32, as_floats, 6);
  scan_array p = {SCAN_F32, 2, {6, 2}, (void *)narrow};
  CHECK(scan_npy_write(probs, &p) == SCAN_OK);
  CHECK(test_write_file(garbage, "not a numpy file", 16) == 0);
  CHECK(test_write_file(text, "cluster\n0\n1\nseven\n", 19) == 0);

  snprintf(args, sizeof args, "--truth %s --pred %s", truth, shorter);
  check_refused(args, shorter, "6 ids");
  snprintf(args, sizeof args, "--truth %s --pred %s", negative, truth);
  check_refused(args, negative, "negative");
  snprintf(args, sizeof args, "--truth %s --pred %s", truth, floats);
  check_refused(args, floats, "integer");
  snprintf(args, sizeof args, "--truth %s --pred %s", garbage, truth);
  check_refused(args, garbage, "npy");
  snprintf(args, sizeof args, "--truth %s --pred %s", truth, text);
  check_refused(args, text, "seven");
  snprintf(args, sizeof args, "--truth %s --pred %s/missing.npy", truth, dir);
  check_refused(args, "missing.npy", "no such file");
  /* Two probability columns cannot hold cluster 2. */
  snprintf(args, sizeof args, "--truth %s --pred %s --probs %s", truth, truth, probs);
  check_refused(args, probs, "columns");
  CHECK(run_metrics("--truth x.npy") == 2 && strstr(output, "--pred"));
}

/* A predictions.csv read by its columns through the RFC 4180 reader: file names holding a quoted line break, a
   comma and doubled quotes stay one field, and comment and blank lines are skipped. */
static void test_quoted_csv(void) {
  char path[512], args[2048];
  snprintf(path, sizeof path, "%s/quoted.csv", test_tmpdir());
  const char text[] = "# predictions\nindex,file,cluster,label\n0,\"a\nb.png\",0,1\n1,\"c,d.png\",1,2\n\n"
                      "2,\"say \"\"hi\"\".png\",2,0\n3,e.png,0,1\n4,f.png,1,2\n5,g.png,2,0\n";
  CHECK(test_write_file(path, text, sizeof text - 1) == 0);
  snprintf(args, sizeof args, "--truth %s --pred %s", path, path);
  CHECK_MSG(run_metrics(args) == 0, "%s", output);
  CHECK_MSG(strstr(output, "samples 6, clusters 3") && strstr(output, "ACC (Hungarian)  1.000000"), "%s", output);
}

int main(void) {
  test_against_sklearn();
  test_bad_input();
  test_quoted_csv();
  return test_main_end();
}
