/* `scan predict` on a tiny run (240 training images, 300 validation images: two prediction batches):
 *  - the validation images exported as PNG files into a folder get, image by image, the cluster (and the
 *    confidence) that `scan eval` wrote in eval/predictions.csv with the same model; so do the same images
 *    read from the dataset file (--dataset) and the run's own validation split (no images option);
 *  - --link makes one folder per cluster holding a link to each of its images, named by the cluster's name
 *    after `scan annotate`; --copy from a dataset file writes the images as PNG files;
 *  - images of another size and channel count are predicted; an RGB copy of a grey image gets its cluster;
 *  - bad input: undecodable files (named on stderr and in failed.csv, the others predicted, exit status 3),
 *    an empty folder, a folder of only broken files, a list naming a missing file, a pretext model, a model that
 *    does not fit the configuration, --link on a dataset file: each message names the file, exit status 2;
 *  - the data options of every stage command (--dataset, --root, --val-dataset, --val-root) as config.yml shows
 *    them, and a whole run trained through --root alone;
 *  - a run trained on a folder of non-square images (squashed to image_size by the reader): predict on those
 *    files gives eval's clusters and confidences too. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan/atomic_file.h"
#include "scan/csv.h"
#include "scan/image_io.h"
#include "testlib.h"
#include "tiny_run.h"

enum { TRAIN_COUNT = 240, VAL_COUNT = 300, MAX_ROWS = 400 };

static char output[1 << 16];

static int run_scan(const char *args) { return test_scan_run(args, output, sizeof output, 0); }

/* One predictions file: cluster, confidence and name by row, with the file column. */
typedef struct {
  int count;
  char file[MAX_ROWS][64], name[MAX_ROWS][32];
  int cluster[MAX_ROWS];
  double confidence[MAX_ROWS];
} table;

/* Reads a predictions CSV (eval's or predict's): the columns are found by their header names. */
static int read_table(const char *path, table *t) {
  memset(t, 0, sizeof *t);
  unsigned char *text = NULL;
  size_t size = 0;
  if (scan_read_file_max(path, SCAN_CSV_MAX_BYTES, "a predictions file", &text, &size) != SCAN_OK) return 0;
  scan_csv_reader csv;
  scan_csv_begin(&csv, (char *)text);
  int file_col = -1, cluster_col = -1, confidence_col = -1, name_col = -1;
  char *fields[64];
  int n = scan_csv_next(&csv, fields, 64);
  for (int i = 0; i < n && i < 64; i++) {
    if (strcmp(fields[i], "file") == 0) file_col = i;
    if (strcmp(fields[i], "cluster") == 0) cluster_col = i;
    if (strcmp(fields[i], "confidence") == 0) confidence_col = i;
    if (strcmp(fields[i], "name") == 0) name_col = i;
  }
  while (n > 0 && t->count < MAX_ROWS && (n = scan_csv_next(&csv, fields, 64)) > 0) {
    if (cluster_col < 0 || cluster_col >= n || confidence_col >= n) break;
    snprintf(t->file[t->count], sizeof t->file[0], "%s", file_col >= 0 ? fields[file_col] : "");
    snprintf(t->name[t->count], sizeof t->name[0], "%s", name_col >= 0 && name_col < n ? fields[name_col] : "");
    t->cluster[t->count] = atoi(fields[cluster_col]);
    t->confidence[t->count] = confidence_col >= 0 ? atof(fields[confidence_col]) : -1;
    t->count++;
  }
  free(text);
  return t->count;
}

/* The validation images of the tiny dataset as PNG files val_00000.png ... (sorted name = index), `pad` black
   columns added on the right (pad > 0 makes them wider than high). */
static void export_val_pngs(const char *data, const char *dir, int pad) {
  char path[1024];
  snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", data);
  unsigned char *idx = NULL;
  size_t size = 0;
  CHECK(scan_read_file(path, &idx, &size) == SCAN_OK);
  CHECK(size == 16 + (size_t)VAL_COUNT * TINY_SIDE * TINY_SIDE);
  mkdir(dir, 0777);
  const int width = TINY_SIDE + pad;
  uint8_t image[TINY_SIDE * (TINY_SIDE + 16)];
  for (int i = 0; idx && i < VAL_COUNT && pad <= 16; i++) {
    memset(image, 0, sizeof image);
    for (int y = 0; y < TINY_SIDE; y++)
      memcpy(image + y * width, idx + 16 + ((size_t)i * TINY_SIDE + y) * TINY_SIDE, TINY_SIDE);
    snprintf(path, sizeof path, "%s/val_%05d.png", dir, i);
    CHECK(scan_image_write_png(path, image, TINY_SIDE, width, 1) == SCAN_OK);
  }
  free(idx);
}

/* predict's rows agree with eval's row for row: file val_XXXXX.png (or index XXXXX) is eval's row XXXXX. */
static void check_same_as_eval(const table *eval, const table *pred, const char *what) {
  CHECK_MSG(pred->count == VAL_COUNT, "%s: %d rows", what, pred->count);
  int same_cluster = 0, same_confidence = 0;
  for (int r = 0; r < pred->count; r++) {
    int index = strncmp(pred->file[r], "val_", 4) == 0 ? atoi(pred->file[r] + 4) : r;
    if (index < 0 || index >= eval->count) continue;
    same_cluster += pred->cluster[r] == eval->cluster[index];
    same_confidence += fabs(pred->confidence[r] - eval->confidence[index]) <= 2e-6;
  }
  CHECK_MSG(same_cluster == VAL_COUNT, "%s: %d of %d images in eval's cluster", what, same_cluster, VAL_COUNT);
  CHECK_MSG(same_confidence == VAL_COUNT, "%s: %d of %d confidences as eval's", what, same_confidence, VAL_COUNT);
}

/* --link DIR: one folder per cluster that has images, named `folder_names[c]`, each entry a link to an image
   predicted into that cluster. */
static void check_links(const char *dir, const table *pred, const char *const *folder_names, int clusters) {
  int expected_folders = 0, links = 0, right = 0;
  for (int c = 0; c < clusters; c++) {
    int size = 0;
    for (int r = 0; r < pred->count; r++) size += pred->cluster[r] == c;
    if (!size) continue;
    expected_folders++;
    char folder[1024];
    snprintf(folder, sizeof folder, "%s/%s", dir, folder_names[c]);
    DIR *d = opendir(folder);
    CHECK_MSG(d != NULL, "no folder %s", folder);
    struct dirent *e;
    int here = 0;
    while (d && (e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      char path[2048], target[PATH_MAX];
      snprintf(path, sizeof path, "%s/%s", folder, e->d_name);
      ssize_t n = readlink(path, target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = '\0';
      here++;
      for (int r = 0; r < pred->count; r++)
        if (strcmp(pred->file[r], e->d_name) == 0 && pred->cluster[r] == c && access(target, R_OK) == 0) right++;
    }
    if (d) closedir(d);
    CHECK_MSG(here == size, "%s holds %d links, cluster %d has %d images", folder, here, c, size);
    links += here;
  }
  int folders = 0;
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) folders += e->d_name[0] != '.';
  if (d) closedir(d);
  CHECK_MSG(folders == expected_folders && expected_folders >= 2, "%d folders for %d clusters with images", folders,
            expected_folders);
  CHECK_MSG(right == links && links == pred->count, "%d of %d links point to an image of their cluster", right, links);
}

/* Exit status `status` and a message naming `file`. */
static void check_refused(const char *args, int status, const char *file, const char *words) {
  int rc = run_scan(args);
  CHECK_MSG(rc == status, "`scan %s` exited %d, expected %d: %s", args, rc, status, output);
  CHECK_MSG(strstr(output, file) != NULL, "`scan %s`: the message does not name %s: %s", args, file, output);
  CHECK_MSG(!words || strstr(output, words) != NULL, "`scan %s`: no '%s' in: %s", args, words, output);
}

static void write_text(const char *path, const char *text) { CHECK(test_write_file(path, text, (long)strlen(text)) == 0); }

static void test_equivalence(const char *tmp, const char *data, const char *run) {
  char pngs[512], links[512], copies[512], args[4096], path[1024];
  snprintf(pngs, sizeof pngs, "%s/pngs", tmp);
  snprintf(links, sizeof links, "%s/links", tmp);
  snprintf(copies, sizeof copies, "%s/copies", tmp);
  export_val_pngs(data, pngs, 0);
  static table eval, pred;
  snprintf(path, sizeof path, "%s/eval/predictions.csv", run);
  CHECK(read_table(path, &eval) == VAL_COUNT);

  /* Clusters named by `scan annotate` name the link folders and fill the name column; cluster 2 stays unnamed. */
  snprintf(path, sizeof path, "%s/names.csv", tmp);
  write_text(path, "cluster,name\n0,bars across\n1,bars/upright\n");
  snprintf(args, sizeof args, "annotate --out %s --names %s", run, path);
  CHECK(run_scan(args) == 0);

  snprintf(args, sizeof args, "predict --quiet --out %s --images %s --link %s", run, pngs, links);
  int rc = run_scan(args);
  CHECK_MSG(rc == 0, "predict exited %d: %s", rc, output);
  CHECK(strstr(output, "300 of 300 images predicted") != NULL);
  snprintf(path, sizeof path, "%s/predict/predictions.csv", run);
  CHECK(read_table(path, &pred) == VAL_COUNT);
  check_same_as_eval(&eval, &pred, "--images");
  const char *const folders[3] = {"bars across", "bars_upright", "cluster_02"};
  check_links(links, &pred, folders, 3);
  int named = 0;
  for (int r = 0; r < pred.count; r++)
    named += strcmp(pred.name[r], pred.cluster[r] == 0 ? "bars across" : pred.cluster[r] == 1 ? "bars/upright" : "") == 0;
  CHECK_MSG(named == VAL_COUNT, "%d of %d rows carry their cluster's name", named, VAL_COUNT);
  /* The run's eval/ is untouched: predict writes beside it. */
  snprintf(path, sizeof path, "%s/eval/predictions.csv", run);
  static table eval_after;
  CHECK(read_table(path, &eval_after) == VAL_COUNT && memcmp(eval_after.cluster, eval.cluster, sizeof eval.cluster) == 0);

  /* The same images read from the dataset file, copied out as PNGs; --json gives the cluster sizes. */
  snprintf(args, sizeof args, "predict --quiet --out %s --dataset mnist --root %s --split test --pred-out %s/from-idx "
                              "--copy %s --json --top 2",
           run, data, tmp, copies);
  rc = run_scan(args);
  CHECK_MSG(rc == 0, "predict --dataset exited %d: %s", rc, output);
  cJSON *summary = cJSON_Parse(output);
  CHECK_MSG(summary != NULL, "--json printed: %s", output);
  const cJSON *c;
  double total = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(summary, "clusters")) total += cJSON_GetObjectItem(c, "size")->valuedouble;
  CHECK(total == VAL_COUNT && cJSON_GetObjectItem(summary, "failed")->valuedouble == 0);
  cJSON_Delete(summary);
  snprintf(path, sizeof path, "%s/from-idx/predictions.csv", tmp);
  CHECK(read_table(path, &pred) == VAL_COUNT);
  check_same_as_eval(&eval, &pred, "--dataset");
  uint8_t *pixels = NULL;
  int h = 0, w = 0, ch = 0;
  snprintf(path, sizeof path, "%s/%s/000007.png", copies, folders[pred.cluster[7]]);
  CHECK_MSG(scan_image_read(path, &pixels, &h, &w, &ch) == SCAN_OK && h == TINY_SIDE && w == TINY_SIDE && ch == 1,
            "no copy %s", path);
  free(pixels);
  snprintf(path, sizeof path, "%s/from-idx/predictions.csv", tmp);
  FILE *f = fopen(path, "r");
  char header[256] = "";
  CHECK(f && fgets(header, sizeof header, f));
  if (f) fclose(f);
  CHECK(strcmp(header, "index,file,cluster,name,confidence,top1_cluster,top1_prob,top2_cluster,top2_prob\n") == 0);

  /* No images option: the run's validation split. */
  snprintf(args, sizeof args, "predict --quiet --out %s --pred-out %s/own-val", run, tmp);
  CHECK(run_scan(args) == 0);
  snprintf(path, sizeof path, "%s/own-val/predictions.csv", tmp);
  CHECK(read_table(path, &pred) == VAL_COUNT);
  check_same_as_eval(&eval, &pred, "the run's validation split");
}

/* Other sizes and channel counts, and files that cannot be decoded. */
static void test_mixed_folder(const char *tmp, const char *data, const char *run) {
  char mixed[512], path[1024], args[4096];
  snprintf(mixed, sizeof mixed, "%s/mixed", tmp);
  mkdir(mixed, 0777);
  /* val image 0 as RGB (each channel the grey value: its luma is the grey value again) */
  snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", data);
  unsigned char *idx = NULL;
  size_t size = 0;
  CHECK(scan_read_file(path, &idx, &size) == SCAN_OK);
  uint8_t rgb[TINY_SIDE * TINY_SIDE * 3], big[45 * 60 * 3];
  for (int i = 0; idx && i < TINY_SIDE * TINY_SIDE; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = idx[16 + i];
  free(idx);
  snprintf(path, sizeof path, "%s/a_rgb_copy.png", mixed);
  CHECK(scan_image_write_png(path, rgb, TINY_SIDE, TINY_SIDE, 3) == SCAN_OK);
  for (int i = 0; i < 45 * 60 * 3; i++) big[i] = (uint8_t)(i * 7);
  snprintf(path, sizeof path, "%s/b_large_colour.png", mixed);
  CHECK(scan_image_write_png(path, big, 45, 60, 3) == SCAN_OK);
  snprintf(path, sizeof path, "%s/c_broken.png", mixed);
  write_text(path, "\x89PNG\r\n\x1a\n not really");
  snprintf(path, sizeof path, "%s/d_empty.jpg", mixed);
  write_text(path, "");

  snprintf(args, sizeof args, "predict --quiet --out %s --images %s --pred-out %s/mixed-out", run, mixed, tmp);
  int rc = run_scan(args);
  CHECK_MSG(rc == 3, "a folder with broken files: exit %d (expected 3): %s", rc, output);
  CHECK_MSG(strstr(output, "c_broken.png") && strstr(output, "d_empty.jpg"), "broken files not named: %s", output);
  CHECK(strstr(output, "2 of 4 images predicted") != NULL);
  static table pred, eval;
  snprintf(path, sizeof path, "%s/mixed-out/predictions.csv", tmp);
  CHECK(read_table(path, &pred) == 2);
  snprintf(path, sizeof path, "%s/eval/predictions.csv", run);
  read_table(path, &eval);
  CHECK_MSG(strcmp(pred.file[0], "a_rgb_copy.png") == 0 && pred.cluster[0] == eval.cluster[0],
            "the RGB copy of val image 0: cluster %d, eval %d", pred.cluster[0], eval.cluster[0]);
  CHECK(strcmp(pred.file[1], "b_large_colour.png") == 0 && pred.cluster[1] >= 0 && pred.cluster[1] < TINY_CLASSES);
  char *failed = NULL;
  snprintf(path, sizeof path, "%s/mixed-out/failed.csv", tmp);
  CHECK(scan_read_file(path, (unsigned char **)&failed, &size) == SCAN_OK);
  CHECK(failed && strstr(failed, "c_broken.png,") && strstr(failed, "d_empty.jpg,"));
  free(failed);

  /* Nothing decodable: exit 2. */
  char broken[512];
  snprintf(broken, sizeof broken, "%s/broken", tmp);
  mkdir(broken, 0777);
  snprintf(path, sizeof path, "%s/x.png", broken);
  write_text(path, "garbage");
  snprintf(args, sizeof args, "predict --quiet --out %s --images %s --pred-out %s/broken-out", run, broken, tmp);
  check_refused(args, 2, "x.png", "none of the 1 images");

  /* A list naming a file that is not there: reported, the rest predicted. */
  snprintf(path, sizeof path, "%s/list.txt", tmp);
  write_text(path, "pngs/val_00001.png\npngs/val_00002.png\nmissing.png\n");
  snprintf(args, sizeof args, "predict --quiet --out %s --list %s --pred-out %s/list-out", run, path, tmp);
  check_refused(args, 3, "missing.png", NULL);
}

static void test_bad_input(const char *tmp, const char *data, const char *run, const char *config) {
  char args[4096], empty[512], dir[512];
  snprintf(empty, sizeof empty, "%s/empty", tmp);
  mkdir(empty, 0777);
  snprintf(args, sizeof args, "predict --quiet --out %s --images %s", run, empty);
  check_refused(args, 2, empty, "no PNG or JPEG");
  snprintf(args, sizeof args, "predict --quiet --out %s --images %s/nowhere", run, tmp);
  check_refused(args, 2, "nowhere", NULL);
  snprintf(args, sizeof args, "predict --quiet --out %s --images %s --model %s/pretext/model.safetensors", run, empty, run);
  check_refused(args, 2, "pretext/model.safetensors", "not a clustering model");
  snprintf(args, sizeof args, "predict --quiet --out %s --images %s --model %s/names.csv", run, empty, tmp);
  check_refused(args, 2, "names.csv", NULL);
  /* A model whose backbone the configuration does not describe. */
  snprintf(args, sizeof args, "predict --quiet --config %s --out %s --set model_kwargs.vgg_widths=[4,4] --model %s/cluster/model.safetensors",
           config, run, run);
  check_refused(args, 2, "cluster/model.safetensors", "does not fit");
  snprintf(dir, sizeof dir, "%s/links-idx", tmp);
  snprintf(args, sizeof args, "predict --quiet --out %s --dataset mnist --root %s --link %s", run, data, dir);
  check_refused(args, 2, dir, "--copy");
  snprintf(args, sizeof args, "predict --out %s --images %s --list %s/l.txt", run, empty, tmp);
  check_refused(args, 2, "--list", NULL);
  snprintf(args, sizeof args, "predict --quiet --out %s --images %s/pngs --pred-out %s/eval/", run, tmp, run);
  check_refused(args, 2, "eval", "--pred-out");
  CHECK(run_scan("predict --help") == 0 && strstr(output, "Exit status") && strstr(output, " 3 "));
}

/* The data options, as the config.yml they leave in a run directory shows them. image_size is set: without it the
   configuration is resolved by reading the folder's images for their side, and /pics does not exist (a refused
   command writes nothing into the run directory). */
static void test_data_options(const char *tmp, const char *config) {
  char args[4096], path[1024], other[512];
  struct {
    const char *options, *want[4];
  } cases[] = {
      {"--dataset folder --root /pics", {"train_db_name: folder", "val_db_name: folder", "data_root: /pics", "val_data_root: \"\""}},
      {"--dataset folder --root /pics --val-dataset mnist --val-root /digits",
       {"train_db_name: folder", "val_db_name: mnist", "data_root: /pics", "val_data_root: /digits"}},
  };
  for (int i = 0; i < 2; i++) {
    snprintf(args, sizeof args, "eval --quiet --config %s --out %s/options-%d --set image_size=28 %s", config, tmp, i,
             cases[i].options);
    run_scan(args); /* fails (no model): the config is written first */
    snprintf(path, sizeof path, "%s/options-%d/config.yml", tmp, i);
    char *text = NULL;
    size_t size = 0;
    CHECK(scan_read_file(path, (unsigned char **)&text, &size) == SCAN_OK);
    for (int k = 0; text && k < 4; k++) CHECK_MSG(strstr(text, cases[i].want[k]) != NULL, "%s: no '%s'", cases[i].options, cases[i].want[k]);
    free(text);
  }
  /* A config that validates on another dataset keeps it when only --dataset is given. */
  snprintf(other, sizeof other, "%s/other-val.yml", tmp);
  write_text(other, "train_db_name: mnist\nval_db_name: cifar-10\n");
  snprintf(args, sizeof args, "eval --quiet --config %s --out %s/options-2 --set image_size=28 --dataset folder --root /pics",
           other, tmp);
  run_scan(args);
  snprintf(path, sizeof path, "%s/options-2/config.yml", tmp);
  char *text = NULL;
  size_t size = 0;
  CHECK(scan_read_file(path, (unsigned char **)&text, &size) == SCAN_OK);
  CHECK(text && strstr(text, "train_db_name: folder") && strstr(text, "val_db_name: cifar-10"));
  free(text);
  CHECK(run_scan("pretext --help") == 0 && strstr(output, "--val-root"));
}

/* "Cluster your own images": a run trained on a folder of images wider than high (--dataset folder --root DIR,
   image_size 20: the reader squashes each to 20x20), then predict on the same files gives eval's clusters,
   which holds only when predict squashes new images the same way (a centre crop would see other pixels). */
static void test_folder_run(const char *tmp, const char *data, const char *config) {
  char wide[512], run[512], args[4096], path[1024];
  snprintf(wide, sizeof wide, "%s/wide", tmp);
  snprintf(run, sizeof run, "%s/folder-run", tmp);
  export_val_pngs(data, wide, 8);
  static const char *const stages[] = {"pretext", "mine", "cluster", "eval --baseline none"};
  for (int s = 0; s < 4; s++) {
    /* The clusters' quality does not matter here, only that predict and eval agree: short training. */
    snprintf(args, sizeof args,
             "%s --quiet --config %s --out %s --dataset folder --root %s --set image_size=20 --set pretext.epochs=1 "
             "--set cluster.head_warmup_epochs=4",
             stages[s], config, run, wide);
    int rc = run_scan(args);
    CHECK_MSG(rc == 0, "`scan %s` exited %d: %s", args, rc, output);
  }
  static table eval, pred;
  snprintf(path, sizeof path, "%s/eval/predictions.csv", run);
  CHECK(read_table(path, &eval) == VAL_COUNT);
  snprintf(args, sizeof args, "predict --quiet --out %s --images %s", run, wide);
  CHECK(run_scan(args) == 0);
  snprintf(path, sizeof path, "%s/predict/predictions.csv", run);
  CHECK(read_table(path, &pred) == VAL_COUNT);
  check_same_as_eval(&eval, &pred, "a folder-trained run");
}

int main(void) {
  const char *tmp = test_tmpdir();
  char data[512], run[512], config[512], args[2600];
  snprintf(data, sizeof data, "%s/data", tmp);
  snprintf(run, sizeof run, "%s/run", tmp);
  snprintf(config, sizeof config, "%s/tiny.yml", tmp);
  tiny_write_dataset(data, TRAIN_COUNT, VAL_COUNT);
  /* The config points at a folder that does not exist: the stages find the data through --root alone. */
  tiny_write_config(config, "/nonexistent");
  static const char *const stages[] = {"pretext", "mine", "cluster", "eval --baseline none"};
  for (int s = 0; s < 4; s++) {
    snprintf(args, sizeof args, "%s --quiet --config %s --out %s --root %s", stages[s], config, run, data);
    int rc = run_scan(args);
    CHECK_MSG(rc == 0, "`scan %s` exited %d: %s", args, rc, output);
  }
  test_equivalence(tmp, data, run);
  test_mixed_folder(tmp, data, run);
  test_bad_input(tmp, data, run, config);
  test_data_options(tmp, config);
  test_folder_run(tmp, data, config);
  return test_main_end();
}
