/* scan predict: a trained run's clusters for new images (a folder, a list, or a dataset). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/predict.h"
#include "stage_common.h"

/* Exit status when some images could not be read but the others were predicted. */
enum { EXIT_SOME_FAILED = 3 };

#define PREDICT_USAGE                                                                                  \
  "scan predict [--out RUN] [--model FILE] [--images DIR | --list FILE | --dataset NAME --root DIR [--split S]]\n" \
  "                    [--pred-out DIR] [--link DIR | --copy DIR] [--top K] [--json]"

#define PREDICT_DESCRIPTION                                                                                        \
  "Assigns each image to a cluster of a trained run's model (the selflabel model, else the SCAN model's best head,\n" \
  "or --model). Images of any size and channel count go through the model's validation transform; they are read a\n" \
  "batch at a time, so memory stays flat however many there are. Without --images/--list/--dataset it predicts\n"    \
  "the run's validation split. Writes DIR/predictions.csv (index, file, cluster, name, confidence and the top-K\n"    \
  "clusters with their probabilities; name is the cluster's name from 'scan annotate'), DIR/summary.json (cluster\n" \
  "sizes) and DIR/failed.csv (images that could not be read); DIR is --pred-out, default RUN/predict.\n"           \
  "--link/--copy sort the images into one folder per cluster (named by the cluster's name when it has one).\n\n"   \
  "Exit status: 0 every image predicted; 3 some images could not be read (each named on stderr and in\n"            \
  "failed.csv), the others were predicted; 2 bad input, or no image could be read; 1 internal error."

static void report_failure(void *context, const char *file, const char *message) {
  (void)context;
  (void)file; /* the message names the file */
  fprintf(stderr, "scan predict: %s\n", message);
}

static void print_summary(const scan_predict_result *r) {
  const cJSON *clusters = cJSON_GetObjectItemCaseSensitive(r->summary, "clusters"), *c;
  printf("%8s %8s  %s\n", "cluster", "images", "name");
  cJSON_ArrayForEach(c, clusters) {
    printf("%8d %8.0f  %s\n", cJSON_GetObjectItem(c, "cluster")->valueint, cJSON_GetObjectItem(c, "size")->valuedouble,
           cJSON_GetObjectItem(c, "name")->valuestring);
  }
  printf("predict: %ld of %ld images predicted", r->predicted, r->total);
  if (r->failed) printf(", %ld could not be read (listed in %s/failed.csv)", r->failed, r->out_dir);
  printf("; wrote %s/predictions.csv\n", r->out_dir);
}

/* The images option given, as a dataset spec; prints the problem and returns 2 when they conflict. */
static int images_spec(const char *images, const char *list, const char *dataset, const char *root, const char *split,
                       scan_dataset_spec *spec) {
  memset(spec, 0, sizeof *spec);
  if ((images != NULL) + (list != NULL) + (dataset != NULL) > 1) {
    fprintf(stderr, "scan predict: give one of --images, --list and --dataset\n");
    return 2;
  }
  if ((root || split) && !dataset) {
    fprintf(stderr, "scan predict: --root and --split go with --dataset (or use --images DIR / --list FILE)\n");
    return 2;
  }
  if (images) *spec = (scan_dataset_spec){.name = "folder", .root = images};
  if (list) *spec = (scan_dataset_spec){.name = "list", .root = list};
  if (dataset) {
    if (!scan_dataset_name_valid(dataset)) {
      fprintf(stderr, "scan predict: --dataset '%s' is not one of fashion-mnist, mnist, cifar-10, cifar-20, cifar-100, "
                      "stl-10, folder, list\n", dataset);
      return 2;
    }
    *spec = (scan_dataset_spec){.name = dataset, .root = root, .split = split ? split : "test"};
  }
  return 0;
}

int cmd_predict(int argc, char **argv) {
  stage_options o;
  stage_options_init(&o);
  const char *model = NULL, *images = NULL, *list = NULL, *dataset = NULL, *root = NULL, *split = NULL;
  const char *pred_out = NULL, *link = NULL, *copy = NULL;
  int top = 3, json = 0;
  const arg_option options[] = {
      STAGE_CONFIG_OPTIONS(o), STAGE_RUN_OPTIONS(o),
      {"--model", ARG_STRING, &model, "model file (default: the run's selflabel model, else its SCAN model); the config stays the run's"},
      {"--images", ARG_STRING, &images, "a folder of PNG/JPEG images (flat, or one sub-folder per class)"},
      {"--list", ARG_STRING, &list, "a text file of image paths, one per line"},
      {"--dataset", ARG_STRING, &dataset, "the images of a dataset: fashion-mnist, mnist, cifar-10, ... (with --root)"},
      {"--root", ARG_STRING, &root, "where that dataset lives"},
      {"--split", ARG_STRING, &split, "its split (default test)"},
      {"--pred-out", ARG_STRING, &pred_out, "where the outputs go (default RUN/predict; never RUN/eval)"},
      {"--link", ARG_STRING, &link, "make DIR/<cluster>/ folders of links to the images"},
      {"--copy", ARG_STRING, &copy, "make DIR/<cluster>/ folders of copies of the images"},
      {"--top", ARG_INT, &top, "clusters (with probabilities) per row of predictions.csv (default 3)"},
      {"--json", ARG_BOOL, &json, "print the summary (counts, cluster sizes and names) as JSON"},
      {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL, PREDICT_USAGE, PREDICT_DESCRIPTION);
  if (rc) return rc < 0 ? 0 : rc;
  scan_predict_request request = {0};
  rc = images_spec(images, list, dataset, root, split, &request.images);
  if (rc) return rc;
  if (link && copy) {
    fprintf(stderr, "scan predict: give --link or --copy, not both\n");
    return 2;
  }
  if (top < 1) {
    fprintf(stderr, "scan predict: --top must be at least 1, got %d\n", top);
    return 2;
  }
  request.model_path = model;
  request.out_dir = pred_out;
  request.sort = link ? SCAN_SORT_LINK : copy ? SCAN_SORT_COPY : SCAN_SORT_NONE;
  request.sort_dir = link ? link : copy;
  request.top_k = top;
  request.on_failure = report_failure;
  scan_config *cfg;
  scan_pipeline p;
  rc = stage_open_reader(&o, &cfg, &p);
  if (rc) return rc;
  scan_predict_result result;
  rc = cli_report_error(scan_predict(&p, &request, &result));
  if (rc == 0) {
    if (json) {
      char *text = cJSON_Print(result.summary);
      if (text) puts(text);
      free(text);
    } else {
      print_summary(&result);
    }
    if (result.failed) rc = EXIT_SOME_FAILED;
  }
  cJSON_Delete(result.summary);
  stage_close(cfg, &p);
  return rc;
}
