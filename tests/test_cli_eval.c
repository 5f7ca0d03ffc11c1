/* The evaluation and the report of a whole tiny run, checked the way a person would:
 *  - labelled (MNIST format): metrics.json lists every head with exactly one chosen, the metrics are in
 *    range and the chosen head's ACC and majority ACC agree with predictions.csv (recomputed here by brute
 *    force over every cluster-to-class assignment), the k-means baseline rows are there, prototypes.json
 *    names a member of each cluster, every figure is a valid PNG, report.html links only files that exist;
 *  - label-free (the same kind of images as a flat folder): `scan run` works end to end, eval writes the
 *    label-free diagnostics only, and the report shows only the label-free sections;
 *  - when Debian's chromium is installed, the page loads headless and renders a screenshot. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan/atomic_file.h"
#include "scan/csv.h"
#include "scan/safetensors.h"
#include "scan/image_io.h"
#include "testlib.h"
#include "tiny_run.h"

enum { TRAIN_COUNT = 240, VAL_COUNT = 90, FOLDER_COUNT = 96, CLUSTERS = 3 };

static char output[1 << 16];

static int run_scan(const char *args) { return test_scan_run(args, output, sizeof output, 1); }

static int file_exists(const char *dir, const char *relative) {
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, relative);
  return stat(path, &st) == 0;
}

/* 1 when dir/relative decodes as a PNG of at least 16x16 pixels. */
static int valid_png(const char *dir, const char *relative) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, relative);
  uint8_t *pixels = NULL;
  int h = 0, w = 0, c = 0;
  int ok = scan_image_read(path, &pixels, &h, &w, &c) == SCAN_OK && h >= 16 && w >= 16;
  scan_error_clear();
  free(pixels);
  return ok;
}

static char *read_text(const char *dir, const char *relative) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, relative);
  return test_read_text(path, NULL);
}

static cJSON *read_json(const char *dir, const char *relative) {
  char *text = read_text(dir, relative);
  cJSON *json = text ? cJSON_Parse(text) : NULL;
  free(text);
  return json;
}

static double number(const cJSON *object, const char *key) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
  return cJSON_IsNumber(item) ? item->valuedouble : -1e300;
}

static int has(const cJSON *object, const char *key) { return cJSON_GetObjectItemCaseSensitive(object, key) != NULL; }

typedef struct {
  int count;
  int cluster[VAL_COUNT + FOLDER_COUNT];
  int label[VAL_COUNT + FOLDER_COUNT]; /* -1 when the column is empty */
  char file[VAL_COUNT + FOLDER_COUNT][64];
  int well_formed;
} predictions;

/* eval/predictions.csv: header, then index,file,cluster,confidence,label with index 0, 1, ... in order. */
static void read_predictions(const char *run, predictions *p) {
  memset(p, 0, sizeof *p);
  char *text = read_text(run, "eval/predictions.csv");
  if (!text) return;
  char *save = NULL, *line = strtok_r(text, "\n", &save);
  p->well_formed = line && strcmp(line, "index,file,cluster,confidence,label") == 0;
  CHECK_MSG(p->well_formed, "predictions.csv header: %s", line ? line : "(none)");
  while ((line = strtok_r(NULL, "\n", &save)) && p->count < VAL_COUNT + FOLDER_COUNT) {
    int index = -1, cluster = -1;
    float confidence = -1;
    char file[64] = "", label[16] = "";
    /* file and label may be empty: split by hand rather than with scanf */
    char *fields[5] = {0}, *cursor = line;
    for (int f = 0; f < 5; f++) {
      fields[f] = cursor;
      char *comma = cursor ? strchr(cursor, ',') : NULL;
      if (comma) *comma = 0;
      cursor = comma ? comma + 1 : NULL;
    }
    if (!fields[4] || cursor) {
      p->well_formed = 0;
      break;
    }
    index = atoi(fields[0]);
    snprintf(file, sizeof file, "%s", fields[1]);
    cluster = atoi(fields[2]);
    confidence = strtof(fields[3], NULL);
    snprintf(label, sizeof label, "%s", fields[4]);
    if (index != p->count || cluster < 0 || cluster >= CLUSTERS || confidence < 1.0f / CLUSTERS - 1e-5f ||
        confidence > 1 + 1e-6f) {
      fprintf(stderr, "bad predictions.csv row %d: %d,%s,%d,%f,%s\n", p->count, index, file, cluster, confidence, label);
      p->well_formed = 0;
    }
    p->cluster[p->count] = cluster;
    p->label[p->count] = label[0] ? atoi(label) : -1;
    snprintf(p->file[p->count], sizeof p->file[0], "%s", file);
    p->count++;
  }
  free(text);
}

/* Hungarian ACC the slow way: every assignment of the clusters to distinct classes (0..9). */
static double brute_force_acc(const predictions *p) {
  int best = 0;
  for (int a = 0; a < 10; a++)
    for (int b = 0; b < 10; b++)
      for (int c = 0; c < 10; c++) {
        if (a == b || a == c || b == c) continue;
        const int map[CLUSTERS] = {a, b, c};
        int hits = 0;
        for (int i = 0; i < p->count; i++) hits += map[p->cluster[i]] == p->label[i];
        if (hits > best) best = hits;
      }
  return (double)best / p->count;
}

/* Majority ACC: each cluster counts its most frequent class. */
static double majority_acc(const predictions *p) {
  int counts[CLUSTERS][10] = {{0}}, hits = 0;
  for (int i = 0; i < p->count; i++) counts[p->cluster[i]][p->label[i]]++;
  for (int c = 0; c < CLUSTERS; c++) {
    int most = 0;
    for (int y = 0; y < 10; y++) most = counts[c][y] > most ? counts[c][y] : most;
    hits += most;
  }
  return (double)hits / p->count;
}

/* Every src="..." and href="..." of report.html is relative, exists, and (for .png) decodes. */
static void check_report_links(const char *run) {
  char *html = read_text(run, "report.html");
  CHECK_MSG(html != NULL, "%s/report.html is missing", run);
  if (!html) return;
  int links = 0;
  static const char *const attributes[] = {"src=\"", "href=\""};
  for (int a = 0; a < 2; a++)
    for (const char *at = strstr(html, attributes[a]); at; at = strstr(at + 1, attributes[a])) {
      const char *start = at + strlen(attributes[a]), *end = strchr(start, '"');
      if (!end || end - start >= 512) continue;
      char target[512];
      snprintf(target, sizeof target, "%.*s", (int)(end - start), start);
      if (target[0] == '#') continue; /* a link inside the page */
      links++;
      CHECK_MSG(target[0] != '/' && !strstr(target, "://"), "report links outside its folder: %s", target);
      CHECK_MSG(file_exists(run, target), "report links a missing file: %s", target);
      size_t n = strlen(target);
      if (n > 4 && strcmp(target + n - 4, ".png") == 0) CHECK_MSG(valid_png(run, target), "not a valid PNG: %s", target);
    }
  CHECK_MSG(links >= 5, "report.html links only %d files", links);
  free(html);
}

/* Headless Chromium (Debian's package) renders the page to a screenshot without crashing. */
static void check_page_renders(const char *run) {
  if (test_light() || test_run("command -v chromium >/dev/null", NULL, 0) != 0) {
    fprintf(stderr, "note: chromium not installed (or light mode): page rendering not checked\n");
    return;
  }
  char command[4096], profile[600], shot[600];
  snprintf(profile, sizeof profile, "%s/chromium-profile", test_tmpdir());
  snprintf(shot, sizeof shot, "%s/report-screenshot.png", test_tmpdir());
  snprintf(command, sizeof command,
           "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking "
           "--disable-component-update --disable-sync --no-first-run --user-data-dir=%s --screenshot=%s "
           "--window-size=1200,2000 file://%s/report.html",
           profile, shot, run);
  int rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 0, "chromium exited %d:\n%s", rc, output);
  uint8_t *pixels = NULL;
  int h = 0, w = 0, c = 0;
  CHECK_MSG(scan_image_read(shot, &pixels, &h, &w, &c) == SCAN_OK && w == 1200 && h == 2000,
            "screenshot %s is %dx%d", shot, w, h);
  scan_error_clear();
  free(pixels);
}

/* Whether any self-label epoch was kept, from the stage's log. */
static int selflabel_kept(const char *run) {
  char *log = read_text(run, "selflabel/log.jsonl");
  int kept = log && strstr(log, "\"kept\": true") != NULL;
  free(log);
  return kept;
}

/* What a person reads: a row per head with the chosen one marked, self-labelling kept or discarded, every
   stage's time, and the configuration table linking config.yml. */
static void check_report_page(const char *html, int kept) {
  if (!html) return;
  CHECK(strstr(html, "<td>SCAN head 0") && strstr(html, "<td>SCAN head 1"));
  CHECK_MSG(!strstr(html, "<td>self-label head") == !kept, "self-label row present: %d, kept: %d",
            strstr(html, "<td>self-label head") != NULL, kept);
  CHECK(strstr(html, kept ? "<td>self-label head (chosen)" : " (chosen)</td>") != NULL);
  CHECK(strstr(html, kept ? "is the chosen one" : "so it was discarded") != NULL);
  static const char *const stages[] = {"pretext (SimCLR)", "mine (kNN)", "cluster (SCAN)", "selflabel", "eval", "explain"};
  const char *timing = strstr(html, "<table class=\"timing\">");
  CHECK(timing != NULL);
  for (int s = 0; timing && s < 6; s++) {
    char row[96];
    snprintf(row, sizeof row, "<tr><td>%s</td>", stages[s]);
    const char *at = strstr(timing, row), *seconds = at ? strstr(at, " s</td>") : NULL, *end = at ? strstr(at, "</tr>") : NULL;
    CHECK_MSG(at && seconds && end && seconds < end, "no wall time for %s", stages[s]);
  }
  const char *config = strstr(html, "<table class=\"config\">");
  CHECK(config && strstr(config, "<td>backbone</td><td>vgg</td>") && strstr(config, "<td>clusters</td><td>3</td>") &&
        strstr(config, "<td>pretext (SimCLR)</td><td>2</td><td>32</td>") && strstr(config, "learning rate") &&
        strstr(config, "<td>seed</td>") && strstr(config, "<td>threads</td>") && strstr(config, "href=\"config.yml\""));
}

static void check_labelled_run(const char *run) {
  cJSON *metrics = read_json(run, "eval/metrics.json");
  CHECK_MSG(metrics != NULL, "eval/metrics.json is missing or not JSON");
  if (!metrics) return;
  CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(metrics, "labelled")));
  CHECK(number(metrics, "count") == VAL_COUNT && number(metrics, "num_clusters") == CLUSTERS);
  const cJSON *heads = cJSON_GetObjectItemCaseSensitive(metrics, "heads"), *head;
  int position = 0, chosen = 0, chosen_index = -1, scan_heads = 0, selflabel_heads = 0;
  CHECK(cJSON_GetArraySize(heads) >= 1);
  cJSON_ArrayForEach(head, heads) {
    /* The SCAN model's heads 0, 1 first, then the self-label model's head 0 when self-labelling was kept. */
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(head, "model");
    const int is_selflabel = cJSON_IsString(model) && strcmp(model->valuestring, "selflabel") == 0;
    CHECK_MSG(cJSON_IsString(model) && (is_selflabel || strcmp(model->valuestring, "cluster") == 0), "heads[%d]: model",
              position);
    CHECK_MSG(number(head, "head") == (is_selflabel ? selflabel_heads : scan_heads), "heads[%d] has head %g", position,
              number(head, "head"));
    if (is_selflabel) selflabel_heads++;
    else scan_heads++;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(head, "chosen"))) chosen++, chosen_index = position;
    double acc = number(head, "acc"), top5 = number(head, "top5");
    CHECK_MSG(acc >= 0 && acc <= 1, "head %d ACC %g", position, acc);
    CHECK(number(head, "majority_acc") >= acc - 1e-12 && number(head, "majority_acc") <= 1);
    CHECK(number(head, "nmi") >= 0 && number(head, "nmi") <= 1 + 1e-12);
    CHECK(number(head, "ari") >= -1 && number(head, "ari") <= 1 + 1e-12);
    CHECK(number(head, "ami") >= -1 && number(head, "ami") <= 1 + 1e-12);
    CHECK_MSG(top5 >= acc - 1e-12 && top5 <= 1, "head %d top-5 %g below ACC %g", position, top5, acc);
    CHECK(number(head, "nonempty_clusters") >= 1 && number(head, "mean_confidence") >= 1.0 / CLUSTERS - 1e-6);
    position++;
  }
  CHECK_MSG(chosen == 1, "%d heads marked chosen", chosen);
  CHECK(number(metrics, "chosen_head") == chosen_index);
  /* Every SCAN head is compared whether or not self-labelling was kept; when it was, its head is chosen. */
  const int kept = selflabel_kept(run);
  CHECK_MSG(scan_heads == 2 && selflabel_heads == kept, "%d SCAN heads, %d self-label heads, kept %d", scan_heads,
            selflabel_heads, kept);
  if (kept) CHECK(chosen_index == 2);
  /* The tiny run separates its three shapes (ACC 0.99-1.0 over seeds 1-3, tests/tiny_run.h): a chosen head near
     chance (1/3) means the pipeline broke, whatever a CPU's rounding does to the last few images. */
  const cJSON *chosen_row = cJSON_GetArrayItem(heads, chosen_index);
  CHECK_MSG(chosen_row && number(chosen_row, "acc") >= 0.9, "chosen head ACC %g on the separable tiny run",
            chosen_row ? number(chosen_row, "acc") : -1);

  const cJSON *baseline = cJSON_GetObjectItemCaseSensitive(metrics, "baseline");
  CHECK_MSG(cJSON_GetArraySize(baseline) == 2, "expected k-means on pixels and on features, got %d rows",
            cJSON_GetArraySize(baseline));
  const cJSON *row;
  cJSON_ArrayForEach(row, baseline) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(row, "name");
    CHECK(cJSON_IsString(name) && strstr(name->valuestring, "k-means"));
    CHECK(number(row, "acc") >= 1.0 / 3 - 1e-9 && number(row, "acc") <= 1);
    CHECK(number(row, "nmi") >= 0 && number(row, "nmi") <= 1 + 1e-12);
  }
  CHECK_MSG(strstr(output, "k-means on pixels") && strstr(output, "k-means on pretext features"),
            "scan run should print the baseline beside the heads:\n%s", output);

  /* The chosen head's metrics agree with its predictions, recomputed independently. */
  predictions p;
  read_predictions(run, &p);
  CHECK_MSG(p.well_formed && p.count == VAL_COUNT, "predictions.csv: %d rows", p.count);
  const cJSON *chosen_head = cJSON_GetArrayItem(heads, chosen_index < 0 ? 0 : chosen_index);
  int sizes[CLUSTERS] = {0}, labels_right = 1;
  for (int i = 0; i < p.count; i++) {
    sizes[p.cluster[i]]++;
    labels_right &= p.label[i] == i % TINY_CLASSES;
  }
  CHECK_MSG(labels_right, "predictions.csv labels differ from the data");
  if (p.well_formed && p.count == VAL_COUNT) {
    CHECK_NEAR(number(chosen_head, "acc"), brute_force_acc(&p), 1e-9, 0);
    CHECK_NEAR(number(chosen_head, "majority_acc"), majority_acc(&p), 1e-9, 0);
  }
  const cJSON *diagnostics = cJSON_GetObjectItemCaseSensitive(metrics, "diagnostics");
  const cJSON *size_list = cJSON_GetObjectItemCaseSensitive(diagnostics, "cluster_sizes");
  CHECK(cJSON_GetArraySize(size_list) == CLUSTERS);
  for (int c = 0; c < CLUSTERS; c++)
    CHECK_MSG(cJSON_GetArrayItem(size_list, c) && cJSON_GetArrayItem(size_list, c)->valuedouble == sizes[c],
              "cluster %d: size in metrics.json differs from predictions.csv (%d)", c, sizes[c]);

  /* One prototype per cluster, a member of it (or -1 for an empty cluster); one contact sheet per
     non-empty cluster. */
  cJSON *prototypes = read_json(run, "eval/prototypes.json");
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(prototypes, "prototypes");
  CHECK_MSG(cJSON_GetArraySize(list) == CLUSTERS, "prototypes.json: %d entries", cJSON_GetArraySize(list));
  for (int c = 0; c < CLUSTERS && cJSON_GetArraySize(list) == CLUSTERS; c++) {
    int index = (int)cJSON_GetArrayItem(list, c)->valuedouble;
    if (sizes[c] == 0) CHECK_MSG(index == -1, "empty cluster %d has prototype %d", c, index);
    else CHECK_MSG(index >= 0 && index < p.count && p.cluster[index] == c, "prototype %d of cluster %d", index, c);
    char sheet[64];
    snprintf(sheet, sizeof sheet, "eval/clusters/cluster_%02d.png", c);
    CHECK_MSG(sizes[c] ? valid_png(run, sheet) : !file_exists(run, sheet), "%s for a cluster of %d", sheet, sizes[c]);
  }
  cJSON_Delete(prototypes);
  CHECK(valid_png(run, "eval/confusion.png"));
  CHECK(valid_png(run, "eval/cluster_sizes.png"));
  CHECK(valid_png(run, "eval/prototypes.png"));

  check_report_links(run);
  char *html = read_text(run, "report.html");
  CHECK(html && strstr(html, "<th>ACC</th>") && strstr(html, "eval/confusion.png") && strstr(html, "k-means on pixels"));
  check_report_page(html, kept);
  free(html);
  cJSON_Delete(metrics);
}

/* The same kind of images as PNG files directly in one folder: no classes, no labels. */
static void write_flat_folder(const char *dir) {
  mkdir(dir, 0777);
  scan_rng rng = scan_rng_make(3, 0, 0);
  uint8_t image[TINY_SIDE * TINY_SIDE];
  for (int i = 0; i < FOLDER_COUNT; i++) {
    char path[600];
    tiny_draw(image, i % TINY_CLASSES, &rng);
    snprintf(path, sizeof path, "%s/img_%03d.png", dir, i);
    CHECK(scan_image_write_png(path, image, TINY_SIDE, TINY_SIDE, 1) == SCAN_OK);
  }
}

static void check_label_free_run(const char *run) {
  CHECK_MSG(strstr(output, "no labels") != NULL, "eval should say it has no labels:\n%s", output);
  cJSON *metrics = read_json(run, "eval/metrics.json");
  CHECK_MSG(metrics != NULL, "eval/metrics.json is missing or not JSON");
  if (!metrics) return;
  CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(metrics, "labelled")));
  const cJSON *head;
  int chosen = 0;
  cJSON_ArrayForEach(head, cJSON_GetObjectItemCaseSensitive(metrics, "heads")) {
    chosen += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(head, "chosen"));
    CHECK_MSG(!has(head, "acc") && !has(head, "nmi") && !has(head, "ari") && !has(head, "top5"),
              "label metrics in a label-free evaluation");
    CHECK(number(head, "entropy") >= 0 && number(head, "entropy") <= number(head, "uniform_entropy") + 1e-9);
    CHECK(number(head, "nonempty_clusters") >= 1 && number(head, "nonempty_clusters") <= CLUSTERS);
    CHECK(number(head, "mean_confidence") >= 1.0 / CLUSTERS - 1e-6 && number(head, "mean_confidence") <= 1 + 1e-6);
  }
  CHECK(chosen == 1);
  CHECK_MSG(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(metrics, "heads")) == 2,
            "self-labelling ran no epoch: both SCAN heads should be evaluated");
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(metrics, "baseline")) == 0);
  CHECK(!has(metrics, "cluster_names"));
  cJSON_Delete(metrics);

  predictions p;
  read_predictions(run, &p);
  CHECK_MSG(p.well_formed && p.count == FOLDER_COUNT, "predictions.csv: %d rows", p.count);
  CHECK(strcmp(p.file[0], "img_000.png") == 0 && strcmp(p.file[FOLDER_COUNT - 1], "img_095.png") == 0);
  int unlabelled = 1;
  for (int i = 0; i < p.count; i++) unlabelled &= p.label[i] == -1;
  CHECK_MSG(unlabelled, "predictions.csv has labels for unlabelled images");
  CHECK(!file_exists(run, "eval/confusion.png"));
  CHECK(valid_png(run, "eval/cluster_sizes.png") && valid_png(run, "eval/prototypes.png"));

  check_report_links(run);
  char *html = read_text(run, "report.html");
  CHECK_MSG(html && !strstr(html, "ACC") && !strstr(html, "NMI") && !strstr(html, "confusion") &&
                !strstr(html, "k-means") && !strstr(html, "mostly"),
            "the label-free report shows label sections");
  CHECK(html && strstr(html, "without labels") && strstr(html, "size entropy") && strstr(html, "eval/prototypes.png"));
  free(html);
}

/* Every tensor of two safetensors files is bit-identical (metadata such as the epoch may differ). */
static int same_tensors(const char *a_path, const char *b_path, int *compared) {
  scan_safetensors *a = NULL, *b = NULL;
  int same = scan_safetensors_read(a_path, &a) == SCAN_OK && scan_safetensors_read(b_path, &b) == SCAN_OK &&
             scan_safetensors_count(a) == scan_safetensors_count(b);
  *compared = 0;
  for (int i = 0; same && i < scan_safetensors_count(a); i++) {
    const scan_tensor_view *x = scan_safetensors_get(a, i), *y = scan_safetensors_find(b, x->name);
    same = y && x->nbytes == y->nbytes && memcmp(x->data, y->data, x->nbytes) == 0;
    if (!same) fprintf(stderr, "tensor %s changed\n", x->name);
    (*compared)++;
  }
  scan_safetensors_free(a);
  scan_safetensors_free(b);
  return same;
}

/* A self-label epoch in which no sample reaches the threshold trains nothing and must change nothing: not even
   the batch-norm statistics, which a training-mode forward pass of the strong view would move (issue #21). A stage
   resumes only under the configuration it started with, so the stage restarts with an unreachable threshold, is
   stopped after its first (untrained) epoch's checkpoint, and resumes for the second. */
static void check_untrained_selflabel_epoch(const char *run, const char *config) {
  char before[600], after[600], args[2600];
  const char *settings = "--set selflabel.epochs=2 --set selflabel.confidence_threshold=0.999999999";
  snprintf(after, sizeof after, "%s/selflabel/checkpoint.safetensors", run);
  snprintf(before, sizeof before, "%s/selflabel-checkpoint-before.safetensors", test_tmpdir());
  /* the model file's bytes (it is binary: compared with its length, not as a string) */
  char model_path[1024];
  snprintf(model_path, sizeof model_path, "%s/selflabel/model.safetensors", run);
  long before_size = 0, after_size = 0;
  char *model_before = test_read_text(model_path, &before_size);
  snprintf(args, sizeof args, "selflabel --config %s --out %s --quiet --restart %s", config, run, settings);
  setenv("SCAN_TEST_STOP_AT", "checkpoint-written:selflabel", 1);
  CHECK_MSG(run_scan(args) != 0, "the stop point after the first checkpoint did not stop the stage");
  unsetenv("SCAN_TEST_STOP_AT");
  unsigned char *bytes = NULL;
  size_t size = 0;
  CHECK(scan_read_file(after, &bytes, &size) == SCAN_OK && scan_write_file_atomic(before, bytes, size) == SCAN_OK);
  free(bytes);
  snprintf(args, sizeof args, "selflabel --config %s --out %s --quiet %s", config, run, settings);
  CHECK(run_scan(args) == 0);
  char *log = read_text(run, "selflabel/log.jsonl");
  const char *second = log ? strstr(log, "{\"epoch\": 2,") : NULL;
  CHECK_MSG(second && strstr(second, "\"confident_fraction\": 0.00000,") && strstr(second, "\"kept\": false"),
            "epoch 2 should have no confident sample and not be kept:\n%s", log ? log : "(no log)");
  int compared = 0;
  CHECK_MSG(same_tensors(before, after, &compared) && compared > 10, "the untrained epoch changed the model (%d tensors)",
            compared);
  char *model_after = test_read_text(model_path, &after_size);
  CHECK(model_before && model_after && before_size == after_size &&
        memcmp(model_before, model_after, (size_t)before_size) == 0);
  free(model_before);
  free(model_after);
  free(log);
}

/* The report refuses what it cannot read, and never creates a run directory. */
static void check_report_refusals(const char *run, const char *config) {
  char args[2600], metrics[600], missing[600];
  snprintf(metrics, sizeof metrics, "%s/eval/metrics.json", run);
  char *good = read_text(run, "eval/metrics.json");
  CHECK(test_write_file(metrics, "{\"heads\": [1, 2,", 16) == 0);
  snprintf(args, sizeof args, "timeout 60 %s report --config %s --out %s", test_scan_bin(), config, run);
  int rc = test_run(args, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "eval/metrics.json:1: not valid JSON"), "corrupt metrics.json: rc %d: %s", rc, output);
  if (good) CHECK(test_write_file(metrics, good, (long)strlen(good)) == 0);
  free(good);
  snprintf(missing, sizeof missing, "%s/no/such/run", test_tmpdir());
  snprintf(args, sizeof args, "timeout 60 %s report --out %s", test_scan_bin(), missing);
  rc = test_run(args, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, "no/such/run: not a run directory"), "unknown run: rc %d: %s", rc, output);
  CHECK_MSG(!file_exists(test_tmpdir(), "no"), "scan report created directories for a run that does not exist");
}

/* A file name holding a comma and a line break is one quoted field of predictions.csv, which annotate and the
   report read back: eval on a folder with such a file, then annotate, then the report. */
static void check_newline_file_name(const char *flat, const char *flat_run, const char *config) {
  char from[600], to[600], args[2600], names[600];
  snprintf(from, sizeof from, "%s/img_050.png", flat);
  snprintf(to, sizeof to, "%s/img_050 a,\nb.png", flat);
  CHECK(rename(from, to) == 0);
  const char *set = "--set train_db_name=folder --set val_db_name=folder";
  snprintf(args, sizeof args, "eval --config %s --out %s %s --set data_root=%s --quiet", config, flat_run, set, flat);
  CHECK(run_scan(args) == 0);
  snprintf(names, sizeof names, "%s/names.csv", test_tmpdir());
  const char *names_csv = "cluster,name\n0,first\n";
  CHECK(test_write_file(names, names_csv, (long)strlen(names_csv)) == 0);
  snprintf(args, sizeof args, "annotate --config %s --out %s %s --set data_root=%s --names %s", config, flat_run, set,
           flat, names);
  CHECK(run_scan(args) == 0);
  char *named = read_text(flat_run, "eval/predictions_named.csv");
  scan_csv_reader csv;
  char *fields[8];
  int records = 0, found = 0, n;
  if (named) scan_csv_begin(&csv, named);
  while (named && (n = scan_csv_next(&csv, fields, 8)) > 0) {
    CHECK_MSG(n == 6, "record %d has %d fields", records, n);
    if (n == 6 && strcmp(fields[1], "img_050 a,\nb.png") == 0) found = 1;
    if (n == 6 && records > 0) CHECK(strcmp(fields[5], strcmp(fields[2], "0") == 0 ? "first" : "") == 0);
    records++;
  }
  CHECK_MSG(records == FOLDER_COUNT + 1 && found, "%d records, newline name found %d", records, found);
  free(named);
  snprintf(args, sizeof args, "report --config %s --out %s %s --set data_root=%s --quiet", config, flat_run, set, flat);
  CHECK(run_scan(args) == 0);
  char *html = read_text(flat_run, "report.html");
  CHECK_MSG(html && strstr(html, "\"img_050 a,\\nb.png\"") != NULL, "the page's predictions should keep the line break");
  free(html);
}

int main(void) {
  const char *tmp = test_tmpdir();
  char data[512], run[512], config[512], flat[512], flat_run[512], args[2600];
  tiny_setup(TRAIN_COUNT, VAL_COUNT, data, sizeof data, config, sizeof config);
  snprintf(run, sizeof run, "%s/run", tmp);
  snprintf(flat, sizeof flat, "%s/flat", tmp);
  snprintf(flat_run, sizeof flat_run, "%s/flat-run", tmp);

  snprintf(args, sizeof args, "run --config %s --out %s", config, run);
  CHECK(run_scan(args) == 0);
  check_labelled_run(run);
  check_page_renders(run);
  check_untrained_selflabel_epoch(run, config);
  check_report_refusals(run, config);

  write_flat_folder(flat);
  /* Self-labelling for no epoch: its model is the SCAN head unchanged, so eval compares the SCAN heads. */
  snprintf(args, sizeof args,
           "run --config %s --out %s --set train_db_name=folder --set val_db_name=folder --set data_root=%s "
           "--set selflabel.epochs=0",
           config, flat_run, flat);
  CHECK(run_scan(args) == 0);
  check_label_free_run(flat_run);
  check_newline_file_name(flat, flat_run, config);
  return test_main_end();
}
