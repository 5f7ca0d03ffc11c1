/* scan explain from the command line:
 * - bad input exits 2 and names the problem: a corrupt or missing image file, a corrupt --model file,
 *   an unknown --method;
 * - on a tiny run (tiny_run.h): `--cluster K --top N` explains exactly the N members predictions.csv
 *   ranks most confident in K; `--model M --image PATH --out DIR` writes the image's JSON (assigned
 *   cluster and every probability) and figures into DIR; `--faithfulness --samples 2` writes
 *   faithfulness.json with AUCs in [0, 1] and both charts.
 * (The explanations themselves are tested in test_pipeline_explain.c.) */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/atomic_file.h"
#include "scan/image_io.h"
#include "testlib.h"
#include "tiny_run.h"

enum { VAL = 60, TOP = 2 };

static char output[1 << 16];
static char run_dir[400], config[400];

static int scan_cmd(const char *args) {
  char command[4096];
  snprintf(command, sizeof command, "%s %s --config %s --quiet", test_scan_bin(), args, config);
  return test_run(command, output, sizeof output);
}

static int file_ok(const char *dir, const char *name) {
  char path[1600];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &st) == 0 && st.st_size > 100;
}

static cJSON *read_json(const char *dir, const char *name) {
  char path[1600];
  unsigned char *text = NULL;
  size_t size = 0;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (scan_read_file(path, &text, &size) != SCAN_OK) return NULL;
  cJSON *json = cJSON_ParseWithLength((const char *)text, size);
  free(text);
  return json;
}

static void test_bad_input(const char *tmp) {
  char image[512], command[2048];
  snprintf(image, sizeof image, "%s/corrupt.png", tmp);
  /* a PNG signature followed by garbage */
  const unsigned char bytes[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1, 2, 3, 4, 5, 6, 7, 8, 9};
  CHECK(test_write_file(image, bytes, sizeof bytes) == 0);
  snprintf(command, sizeof command, "%s explain --image %s --out %s/bad --quiet", test_scan_bin(), image, tmp);
  int rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, image) != NULL, "corrupt image: exit %d, output:\n%s", rc, output);

  snprintf(command, sizeof command, "%s explain --image %s/missing.jpg --out %s/bad --quiet", test_scan_bin(), tmp, tmp);
  rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "missing.jpg") != NULL, "missing image: exit %d, output:\n%s", rc, output);

  snprintf(command, sizeof command, "%s explain --method shap --out %s/bad", test_scan_bin(), tmp);
  rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "shap") != NULL, "bad method: exit %d, output:\n%s", rc, output);
}

/* predictions.csv's members of `cluster`, most confident first (the file names are empty for MNIST files). */
static int top_members(int cluster, int *members, int max) {
  char path[1200];
  snprintf(path, sizeof path, "%s/eval/predictions.csv", run_dir);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[256];
  int index[VAL], count = 0;
  double confidence[VAL];
  if (!fgets(line, sizeof line, f)) line[0] = 0;
  while (count < VAL && fgets(line, sizeof line, f)) {
    int i, c;
    double p;
    if (sscanf(line, "%d,,%d,%lf", &i, &c, &p) == 3 && c == cluster) {
      index[count] = i;
      confidence[count++] = p;
    }
  }
  fclose(f);
  int found = 0;
  for (; found < max && found < count; found++) { /* selection of the most confident left, ties by index */
    int best = -1;
    for (int k = 0; k < count; k++)
      if (index[k] >= 0 && (best < 0 || confidence[k] > confidence[best])) best = k;
    members[found] = index[best];
    index[best] = -1;
    confidence[best] = -1;
  }
  return found;
}

static void test_cluster_members(void) {
  int members[TOP], cluster = -1, found = 0;
  for (int c = 0; c < TINY_CLASSES && found == 0; c++) {
    found = top_members(c, members, TOP);
    cluster = c;
  }
  CHECK_MSG(found > 0, "no cluster has members in predictions.csv");
  if (!found) return;
  char args[2048], dir[600];
  snprintf(dir, sizeof dir, "%s/members", run_dir);
  snprintf(args, sizeof args, "explain --out %s --cluster %d --top %d --save-path %s", run_dir, cluster, TOP, dir);
  int rc = scan_cmd(args);
  CHECK_MSG(rc == 0, "explain --cluster exited %d:\n%s", rc, output);
  char name[128];
  snprintf(name, sizeof name, "cluster_%02d_members.json", cluster);
  cJSON *root = read_json(dir, name);
  const cJSON *list = cJSON_GetObjectItem(root, "explanations");
  CHECK_MSG(cJSON_GetArraySize(list) == found, "%d explanations, %d expected", cJSON_GetArraySize(list), found);
  for (int m = 0; m < found && m < cJSON_GetArraySize(list); m++) {
    const cJSON *item = cJSON_GetArrayItem(list, m);
    CHECK(cJSON_GetObjectItem(item, "index")->valueint == members[m]);
    CHECK(cJSON_GetObjectItem(item, "cluster")->valueint == cluster);
    CHECK(cJSON_GetObjectItem(item, "assigned")->valueint == cluster);
    for (int k = 0; k < 3; k++) {
      static const char *const suffix[] = {"gradcam", "lime", "lime_weights"};
      snprintf(name, sizeof name, "cluster_%02d_member_%02d_%s.png", cluster, m, suffix[k]);
      CHECK_MSG(file_ok(dir, name), "%s/%s missing", dir, name);
    }
  }
  cJSON_Delete(root);
}

static void test_model_file(const char *tmp) {
  char args[4096], model[1024], image[1024], out[1024];
  snprintf(model, sizeof model, "%s/selflabel/model.safetensors", run_dir);
  snprintf(image, sizeof image, "%s/query.png", tmp);
  snprintf(out, sizeof out, "%s/single", tmp);
  uint8_t pixels[TINY_SIDE * TINY_SIDE];
  scan_rng rng = scan_rng_make(9, 0, 0);
  tiny_draw(pixels, 2, &rng);
  CHECK(scan_image_write_png(image, pixels, TINY_SIDE, TINY_SIDE, 1) == SCAN_OK);
  snprintf(args, sizeof args, "explain --model %s --image %s --out %s", model, image, out);
  int rc = scan_cmd(args);
  CHECK_MSG(rc == 0, "explain --model --image exited %d:\n%s", rc, output);
  cJSON *root = read_json(out, "query.json");
  const cJSON *item = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "explanations"), 0);
  const cJSON *probs = cJSON_GetObjectItem(item, "probabilities");
  double sum = 0, best = -1;
  int arg = -1;
  for (int k = 0; k < cJSON_GetArraySize(probs); k++) {
    const double p = cJSON_GetArrayItem(probs, k)->valuedouble;
    sum += p;
    if (p > best) best = p, arg = k;
  }
  CHECK_MSG(cJSON_GetArraySize(probs) == TINY_CLASSES && fabs(sum - 1) < 1e-4, "%d probabilities summing to %g",
            cJSON_GetArraySize(probs), sum);
  CHECK(cJSON_GetObjectItem(item, "assigned") && cJSON_GetObjectItem(item, "assigned")->valueint == arg);
  CHECK(root && strstr(cJSON_GetObjectItem(root, "model")->valuestring, model) != NULL);
  CHECK(file_ok(out, "query_gradcam.png") && file_ok(out, "query_lime.png") && file_ok(out, "query_lime_weights.png"));
  cJSON_Delete(root);

  /* a corrupt model file is bad input, named in the message */
  char corrupt[1024];
  snprintf(corrupt, sizeof corrupt, "%s/corrupt.safetensors", tmp);
  const char junk[] = "\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": broken}   ";
  CHECK(test_write_file(corrupt, junk, sizeof junk - 1) == 0);
  snprintf(args, sizeof args, "explain --model %s --index 0 --out %s/corrupt-out", corrupt, tmp);
  rc = scan_cmd(args);
  CHECK_MSG(rc == 2 && strstr(output, "corrupt.safetensors"), "corrupt model: exit %d, output:\n%s", rc, output);
}

static void test_faithfulness(void) {
  char args[1200];
  snprintf(args, sizeof args, "explain --out %s --faithfulness --samples 2", run_dir);
  int rc = scan_cmd(args);
  CHECK_MSG(rc == 0 && strstr(output, "insertion AUC"), "explain --faithfulness exited %d:\n%s", rc, output);
  char dir[1200];
  snprintf(dir, sizeof dir, "%s/explain", run_dir);
  cJSON *root = read_json(dir, "faithfulness.json");
  CHECK(cJSON_GetObjectItem(root, "images") && cJSON_GetObjectItem(root, "images")->valueint == 2);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(root, "per_image")) == 2);
  const cJSON *summary = cJSON_GetObjectItem(root, "summary");
  static const char *const orders[] = {"lime", "gradcam", "random"};
  for (int k = 0; k < 3; k++) {
    const cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(summary, "deletion_auc"), orders[k]);
    const cJSON *i = cJSON_GetObjectItem(cJSON_GetObjectItem(summary, "insertion_auc"), orders[k]);
    CHECK_MSG(cJSON_IsNumber(d) && cJSON_IsNumber(i) && d->valuedouble >= 0 && d->valuedouble <= 1 &&
                  i->valuedouble >= 0 && i->valuedouble <= 1,
              "AUCs of the %s order", orders[k]);
  }
  const cJSON *check = cJSON_GetObjectItem(summary, "randomisation_rank_correlation");
  CHECK(cJSON_IsNumber(cJSON_GetObjectItem(check, "gradcam")) && cJSON_IsNumber(cJSON_GetObjectItem(check, "lime")));
  CHECK(file_ok(dir, "faithfulness_deletion.png") && file_ok(dir, "faithfulness_insertion.png"));
  cJSON_Delete(root);
}

int main(void) {
  const char *tmp = test_tmpdir();
  test_bad_input(tmp);
  char data[512];
  tiny_setup(150, VAL, data, sizeof data, config, sizeof config);
  snprintf(run_dir, sizeof run_dir, "%.380s/run", tmp);
  char args[1200];
  snprintf(args, sizeof args, "run --out %s", run_dir);
  int rc = scan_cmd(args);
  CHECK_MSG(rc == 0, "scan run exited %d:\n%s", rc, output);
  if (rc != 0) return test_main_end();
  test_cluster_members();
  test_model_file(tmp);
  test_faithfulness();
  return test_main_end();
}
