/* End to end: query-candidate clustering on a tiny run (the synthetic data and
 * config of tiny_run.h): `scan candidates` files against brute-force kNN over
 * the run's own features, `scan query` outputs (by index and by image file)
 * against the candidate files and a brute-force matching, `scan charts` files
 * with the expected number of points, and exit status 2 for bad input. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/atomic_file.h"
#include "scan/image_io.h"
#include "scan/npy.h"
#include "testlib.h"
#include "tiny_run.h"

enum { VAL = 90, IMG = TINY_SIDE * TINY_SIDE };

static char output[1 << 16];
static char run_dir[512], config[512];
static uint8_t val_pixels[VAL * IMG];
static int32_t val_labels[VAL];

/* Every command gets the run's own config file (see query_cli.h for why not RUN/config.yml). */
static int scan_cmd(const char *args) {
  char command[4096];
  snprintf(command, sizeof command, "%s %s --config %s --out %s --quiet", test_scan_bin(), args, config, run_dir);
  return test_run(command, output, sizeof output);
}

static int exists(const char *relative) {
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", run_dir, relative);
  return stat(path, &st) == 0 && st.st_size > 0;
}

static cJSON *read_json(const char *relative) {
  char path[1024];
  unsigned char *text = NULL;
  size_t size = 0;
  snprintf(path, sizeof path, "%s/%s", run_dir, relative);
  if (scan_read_file(path, &text, &size) != SCAN_OK) return NULL;
  cJSON *json = cJSON_Parse((const char *)text);
  free(text);
  return json;
}

static double json_number(const cJSON *object, const char *key) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
  return cJSON_IsNumber(item) ? item->valuedouble : NAN;
}

static void read_val_split(const char *data) {
  char path[1024];
  unsigned char *bytes = NULL;
  size_t size = 0;
  snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", data);
  if (scan_read_file(path, &bytes, &size) == SCAN_OK && size == 16 + sizeof val_pixels) memcpy(val_pixels, bytes + 16, sizeof val_pixels);
  free(bytes);
  snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", data);
  if (scan_read_file(path, &bytes, &size) == SCAN_OK && size == 8 + VAL)
    for (int i = 0; i < VAL; i++) val_labels[i] = bytes[8 + i];
  free(bytes);
}

/* The candidate files: shapes, prefixes of each other, and the same similarities position by position
 * as a brute-force search over features-val.npy that skips the image and byte-identical copies. */
static void check_candidate_files(const int *counts, int num) {
  char path[1024];
  scan_array features, wide;
  snprintf(path, sizeof path, "%s/pretext/features-val.npy", run_dir);
  CHECK(scan_npy_read(path, &features) == SCAN_OK);
  int k = counts[num - 1];
  snprintf(path, sizeof path, "%s/pretext/candidates-N%d.npy", run_dir, k);
  CHECK(scan_npy_read(path, &wide) == SCAN_OK);
  CHECK(wide.dtype == SCAN_I64 && wide.ndim == 2 && wide.shape[0] == VAL && wide.shape[1] == k);
  if (features.shape[0] != VAL || wide.shape[0] != VAL || wide.shape[1] != k) return;
  int d = (int)features.shape[1];
  const float *x = features.data;
  const int64_t *cand = wide.data;
  int order_ok = 1, no_self = 1;
  for (int i = 0; i < VAL; i++) {
    double sims[VAL];
    int used[VAL] = {0};
    for (int j = 0; j < VAL; j++) {
      double s = 0;
      for (int t = 0; t < d; t++) s += (double)x[i * d + t] * x[j * d + t];
      sims[j] = s;
      used[j] = memcmp(val_pixels + j * IMG, val_pixels + i * IMG, IMG) == 0; /* i and its copies */
    }
    for (int r = 0; r < k; r++) {
      int best = -1;
      for (int j = 0; j < VAL; j++)
        if (!used[j] && (best < 0 || sims[j] > sims[best])) best = j;
      used[best] = 1;
      int64_t got = cand[i * k + r];
      if (got < 0 || got >= VAL) { order_ok = 0; continue; }
      /* Equal up to float rounding (near-ties may swap places). */
      if (fabs(sims[got] - sims[best]) > 1e-5) order_ok = 0;
      if (memcmp(val_pixels + got * IMG, val_pixels + i * IMG, IMG) == 0) no_self = 0;
    }
  }
  CHECK_MSG(order_ok, "candidates differ from brute-force kNN");
  CHECK_MSG(no_self, "an image (or a copy) is among its own candidates");
  for (int c = 0; c + 1 < num; c++) {
    scan_array a;
    snprintf(path, sizeof path, "%s/pretext/candidates-N%d.npy", run_dir, counts[c]);
    CHECK(scan_npy_read(path, &a) == SCAN_OK);
    int prefix = a.ndim == 2 && a.shape[0] == VAL && a.shape[1] == counts[c];
    for (int i = 0; prefix && i < VAL; i++)
      prefix = memcmp((int64_t *)a.data + i * counts[c], cand + i * k, sizeof(int64_t) * counts[c]) == 0;
    CHECK_MSG(prefix, "candidates-N%d.npy is not a prefix of candidates-N%d.npy", counts[c], k);
    /* The printed accuracy is the share of candidates with the image's label. */
    long hits = 0;
    for (int i = 0; i < VAL; i++)
      for (int j = 0; j < counts[c]; j++) hits += val_labels[cand[i * k + j]] == val_labels[i];
    char line[128];
    snprintf(line, sizeof line, "top-%d candidates on the val set: %.2f%%", counts[c], 100.0 * hits / (VAL * counts[c]));
    CHECK_MSG(strstr(output, line) != NULL, "expected '%s' in:\n%s", line, output);
    scan_array_free(&a);
  }
  scan_array_free(&features);
  scan_array_free(&wide);
}

/* The best accuracy over every one-to-one map from the present clusters to the present classes, by trying them all. */
static int best_hits(int (*table)[3], int cluster, unsigned used) {
  if (cluster == 3) return 0;
  int best = best_hits(table, cluster + 1, used); /* cluster left unmatched */
  for (int y = 0; y < 3; y++)
    if (!(used & (1u << y))) {
      int h = table[cluster][y] + best_hits(table, cluster + 1, used | (1u << y));
      if (h > best) best = h;
    }
  return best;
}

/* query 5, n 20: files, members = the candidate row, metrics consistent with the members. */
static void check_query_outputs(void) {
  CHECK(exists("query/5-n20/query.png"));
  CHECK(exists("query/5-n20/confusion.png"));
  cJSON *metrics = read_json("query/5-n20/metrics.json"), *members = read_json("query/5-n20/members.json");
  CHECK(metrics && members);
  if (!metrics || !members) return;
  CHECK(json_number(metrics, "query") == 5 && json_number(metrics, "n") == 20 && json_number(metrics, "query_label") == 2);
  const char *keys[] = {"accuracy", "ari", "nmi", "top5_accuracy", "f1", "precision", "recall"};
  for (int k = 0; k < 7; k++) CHECK_MSG(cJSON_GetObjectItemCaseSensitive(metrics, keys[k]) != NULL, "metrics.json has no %s", keys[k]);
  CHECK(cJSON_GetObjectItemCaseSensitive(metrics, "silhouette") != NULL);

  char path[1024];
  scan_array a;
  snprintf(path, sizeof path, "%s/pretext/candidates-N20.npy", run_dir);
  CHECK(scan_npy_read(path, &a) == SCAN_OK);
  const int64_t *row = (const int64_t *)a.data + 5 * 20;
  int seen[VAL] = {0}, total = 0, sheets_ok = 1, prototypes_ok = 1;
  int table[3][3] = {{0}};
  const cJSON *cluster;
  int present = 0;
  cJSON_ArrayForEach(cluster, cJSON_GetObjectItemCaseSensitive(members, "clusters")) {
    int c = (int)json_number(cluster, "cluster");
    char rel[128];
    snprintf(rel, sizeof rel, "query/5-n20/cluster_%02d.png", c);
    sheets_ok &= exists(rel);
    const char *prototype_files[] = {"", "_gradcam", "_lime"};
    for (int f = 0; f < 3; f++) {
      snprintf(rel, sizeof rel, "query/5-n20/prototype_%02d%s.png", c, prototype_files[f]);
      prototypes_ok &= exists(rel);
    }
    int prototype = (int)json_number(cluster, "prototype"), prototype_member = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(cluster, "members")) {
      int index = m->valueint;
      if (index < 0 || index >= VAL) continue;
      seen[index]++, total++;
      prototype_member |= index == prototype;
      if (present < 3 && c >= 0) table[present][val_labels[index]]++;
    }
    prototypes_ok &= prototype_member;
    present++;
  }
  CHECK_MSG(sheets_ok, "a present cluster has no contact sheet");
  CHECK_MSG(prototypes_ok, "a present cluster lacks its prototype image or explanations, or its prototype is not a member");
  cJSON *explanations = read_json("query/5-n20/explanations.json");
  CHECK(explanations && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(explanations, "explanations")) == present);
  cJSON_Delete(explanations);
  CHECK(total == 20 && seen[5] == 0);
  int same = 1;
  for (int j = 0; j < 20; j++) same &= seen[row[j]] == 1;
  CHECK_MSG(same, "members.json differs from row 5 of candidates-N20.npy");
  CHECK(present >= 1 && present <= 3);
  CHECK_NEAR(json_number(metrics, "accuracy"), best_hits(table, 0, 0) / 20.0, 1e-9, 0);
  scan_array_free(&a);
  cJSON_Delete(metrics);
  cJSON_Delete(members);
}

/* Validation image 5 saved as an RGB PNG: converted back to grey it is byte-identical to image 5,
 * so its candidates are image 5's (the copy itself left out). */
static void check_query_image(void) {
  char path[1024], args[1200];
  uint8_t rgb[IMG * 3];
  for (int i = 0; i < IMG; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = val_pixels[5 * IMG + i];
  snprintf(path, sizeof path, "%s/../probe.png", run_dir);
  CHECK(scan_image_write_png(path, rgb, TINY_SIDE, TINY_SIDE, 3) == SCAN_OK);
  snprintf(args, sizeof args, "query --query-image %s --n 10", path);
  int rc = scan_cmd(args);
  CHECK_MSG(rc == 0, "query --query-image exited %d:\n%s", rc, output);
  CHECK(exists("query/file-probe-n10/query.png"));
  cJSON *members = read_json("query/file-probe-n10/members.json");
  scan_array a;
  snprintf(path, sizeof path, "%s/pretext/candidates-N10.npy", run_dir);
  CHECK(members && scan_npy_read(path, &a) == SCAN_OK);
  if (!members) return;
  int seen[VAL] = {0}, total = 0, overlap = 0;
  const cJSON *cluster, *m;
  cJSON_ArrayForEach(cluster, cJSON_GetObjectItemCaseSensitive(members, "clusters"))
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(cluster, "members")) if (m->valueint >= 0 && m->valueint < VAL) seen[m->valueint]++, total++;
  for (int j = 0; j < 10; j++) overlap += seen[((int64_t *)a.data)[5 * 10 + j]];
  CHECK(total == 10 && seen[5] == 0);
  CHECK_MSG(overlap >= 9, "the image file's candidates share only %d of 10 with image 5's", overlap);
  scan_array_free(&a);
  cJSON_Delete(members);
}

static int csv_lines(const char *relative) {
  char path[1024];
  unsigned char *text = NULL;
  size_t size = 0;
  snprintf(path, sizeof path, "%s/%s", run_dir, relative);
  if (scan_read_file(path, &text, &size) != SCAN_OK) return -1;
  int lines = 0;
  for (size_t i = 0; i < size; i++) lines += text[i] == '\n';
  free(text);
  return lines;
}

static void check_charts(void) {
  const char *charts[] = {"accuracy", "ari", "nmi", "top5_accuracy", "f1", "precision", "recall", "silhouette"};
  for (int k = 0; k < 8; k++) {
    char rel[128];
    snprintf(rel, sizeof rel, "query/5-charts/%s.png", charts[k]);
    CHECK_MSG(exists(rel), "missing %s", rel);
  }
  CHECK(csv_lines("query/5-charts/charts.csv") == 1 + 3);
  cJSON *json = read_json("query/5-charts/charts.json"), *metrics = read_json("query/5-n20/metrics.json");
  CHECK(json && metrics);
  if (!json || !metrics) return;
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(json, "n")) == 3);
  const cJSON *all = cJSON_GetObjectItemCaseSensitive(json, "metrics");
  CHECK(cJSON_GetArraySize(all) == 8);
  const cJSON *acc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(all, "accuracy"), "mean");
  CHECK(cJSON_GetArraySize(acc) == 3);
  /* N = 20 is the second point: the same clustering as `scan query --query 5 --n 20`. */
  const cJSON *second = cJSON_GetArrayItem(acc, 1);
  CHECK(second && fabs(second->valuedouble - json_number(metrics, "accuracy")) < 1e-9);
  cJSON_Delete(json);
  cJSON_Delete(metrics);
}

int main(void) {
  const char *tmp = test_tmpdir();
  char data[512], args[1200];
  tiny_setup(240, VAL, data, sizeof data, config, sizeof config);
  snprintf(run_dir, sizeof run_dir, "%s/run", tmp);
  read_val_split(data);

  int rc = scan_cmd("run");
  CHECK_MSG(rc == 0, "scan run exited %d:\n%s", rc, output);

  const int counts[] = {10, 20, 40};
  rc = scan_cmd("candidates --n-list 10,20,40");
  CHECK_MSG(rc == 0, "candidates exited %d:\n%s", rc, output);
  check_candidate_files(counts, 3);

  rc = scan_cmd("query --query 5 --n 20 --prototypes");
  CHECK_MSG(rc == 0, "query exited %d:\n%s", rc, output);
  CHECK(strstr(output, "ACC ") && strstr(output, "ARI ") && strstr(output, "NMI ") && strstr(output, "ACC Top-5 "));
  CHECK(strstr(output, "cluster ") != NULL);
  check_query_outputs();
  check_query_image();

  rc = scan_cmd("charts --query 5 --n-list 10,20,40");
  CHECK_MSG(rc == 0, "charts exited %d:\n%s", rc, output);
  check_charts();
  rc = scan_cmd("charts --queries 5,6 --n-list 10,40");
  CHECK_MSG(rc == 0, "charts --queries exited %d:\n%s", rc, output);
  CHECK(csv_lines("query/charts-2-queries/charts.csv") == 1 + 2 * 2 + 2); /* header, per query, mean */

  /* Bad input: exit 2 with a message that names the problem. */
  rc = scan_cmd("query --query 90 --n 10");
  CHECK_MSG(rc == 2 && strstr(output, "out of range"), "bad index: rc %d\n%s", rc, output);
  rc = scan_cmd("query --query 3 --n 41");
  CHECK_MSG(rc == 2 && strstr(output, "widest candidate file has 40"), "N too large: rc %d\n%s", rc, output);
  rc = scan_cmd("candidates --n-list 20,10");
  CHECK_MSG(rc == 2, "decreasing --n-list: rc %d\n%s", rc, output);
  rc = scan_cmd("charts --query -5");
  CHECK_MSG(rc == 2, "no query: rc %d\n%s", rc, output);
  snprintf(args, sizeof args, "%s query --query 1 --n 10 --config %s --out %s/empty --quiet", test_scan_bin(), config, tmp);
  rc = test_run(args, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "scan candidates"), "missing candidate files: rc %d\n%s", rc, output);
  return test_main_end();
}
