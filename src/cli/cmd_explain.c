/* scan explain: Grad-CAM and LIME of the run's clustering model (or a model file) for one validation
 * image, one image file, a cluster's most confident members, every cluster's prototype (the default),
 * or the faithfulness measures. Argument handling and printing only; the work is in
 * src/explain/explain_*.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/explain_model.h"
#include "scan/image_io.h"
#include "stage_common.h"

#define EXPLAIN_USAGE                                                                                     \
  "scan explain [--out RUN] [--model FILE] [--method gradcam|lime|both] [--save-path DIR]\n"             \
  "                      [--index I | --image PATH | --cluster K [--top N] | --prototypes [--cluster K]\n" \
  "                       | --faithfulness [--samples N]]"

static void print_explanation(const scan_explanation *r, const char *what) {
  if (!r->probabilities) {
    printf("cluster %d: empty, no prototype to explain\n", r->cluster);
    return;
  }
  printf("%s: cluster %d (probability %.4f)", what, r->assigned, r->probabilities[r->assigned]);
  if (r->cluster != r->assigned) printf(", explaining cluster %d (probability %.4f)", r->cluster, r->probability);
  putchar('\n');
  if (r->methods & SCAN_EXPLAIN_LIME)
    printf("  LIME: %d superpixels, surrogate R^2 %.3f\n", r->num_segments, r->lime_r2);
  const scan_deletion *d = &r->deletion;
  if (r->methods && d->k > 0) {
    printf("  deletion test, %d of %d superpixels hidden: probability %.4f drops by", d->k, r->num_segments, d->p_full);
    if (r->deletion_lime >= 0) printf(" %.4f (LIME's top),", d->p_full - d->p_ranked[r->deletion_lime]);
    if (r->deletion_gradcam >= 0) printf(" %.4f (Grad-CAM's top),", d->p_full - d->p_ranked[r->deletion_gradcam]);
    printf(" %.4f (random, mean of %d)\n", d->p_full - d->p_random, d->draws);
  }
  for (int i = 0; i < r->file_count; i++) printf("  wrote %s\n", r->files[i]);
}

/* The image file as the dataset's images are: its channel count and size. */
static scan_status image_like_dataset(const uint8_t *pixels, int h, int w, int channels, const scan_dataset *like,
                                      uint8_t **out) {
  *out = scan_malloc((size_t)like->height * like->width * like->channels);
  if (!*out) return SCAN_ERR_INTERNAL;
  return scan_image_reshape(pixels, h, w, channels, like->height, like->width, like->channels, *out);
}

/* One image: the val image `index` or the file `image_path`. */
static scan_status explain_one(scan_pipeline *p, const char *model, int index, const char *image_path, int cluster,
                               int methods, const char *dir, scan_explanation *r, char *json_path, size_t json_size) {
  uint8_t *file_pixels = NULL, *image = NULL, *view = NULL;
  int fh = 0, fw = 0, fc = 0;
  /* The file is read first, so a bad file is reported as such, whatever state the run is in. */
  if (image_path) SCAN_TRY(scan_image_read(image_path, &file_pixels, &fh, &fw, &fc));
  const scan_dataset *data = NULL;
  scan_status status = image_path ? scan_pipeline_train_data(p, &data) : scan_pipeline_val_data(p, &data);
  if (status == SCAN_OK && !image_path && (index < 0 || index >= data->count))
    status = scan_fail(SCAN_ERR_INPUT, "--index %d: the validation split has %d images", index, data->count);
  scan_explainer e;
  int opened = 0;
  if (status == SCAN_OK) status = scan_make_dirs(dir);
  if (status == SCAN_OK) opened = (status = scan_explainer_open_model(&e, p, model)) == SCAN_OK;
  if (status == SCAN_OK && image_path) status = image_like_dataset(file_pixels, fh, fw, fc, data, &image);
  if (status == SCAN_OK && !(view = scan_malloc((size_t)e.side * e.side * e.channels)))
    status = scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  if (status == SCAN_OK)
    status = image_path ? scan_explainer_view(&e, image, data->height, data->width, view)
                        : scan_explainer_view_of(&e, data, index, view);
  char stem[200];
  if (image_path) cli_file_stem(image_path, stem, sizeof stem);
  else snprintf(stem, sizeof stem, "val_%05d", index);
  if (status == SCAN_OK) status = scan_explain_image(&e, view, cluster, methods, dir, stem, r);
  r->index = image_path ? -1 : index;
  if (status == SCAN_OK) {
    status = scan_path_format(json_path, json_size, "%s/%s.json", dir, stem);
    if (status == SCAN_OK) status = scan_explanations_write_json(json_path, e.model_source, 0, r, 1);
  }
  if (opened) scan_explainer_close(&e);
  free(file_pixels);
  free(image);
  free(view);
  return status;
}

static void print_items(const scan_explanation *items, int count, const char *kind) {
  for (int i = 0; i < count; i++) {
    char what[96];
    snprintf(what, sizeof what, "%s of cluster %d (val image %ld)", kind, items[i].cluster, items[i].index);
    print_explanation(&items[i], what);
  }
}

static void print_faithfulness(const scan_faithfulness_summary *s, const char *dir) {
  static const char *const names[SCAN_ORDERS] = {"LIME", "Grad-CAM", "random"};
  printf("faithfulness over %d validation images (random: mean of %d orders per image)\n", s->images, s->random_orders);
  printf("%-10s %14s %15s %22s\n", "order", "deletion AUC", "insertion AUC", "randomisation rank r");
  printf("%-10s %14s %15s %22s\n", "", "(lower=better)", "(higher=better)", "(near 0 = passes)");
  for (int k = 0; k < SCAN_ORDERS; k++) {
    printf("%-10s %14.4f %15.4f", names[k], s->deletion_auc[k], s->insertion_auc[k]);
    const double r = k == SCAN_ORDER_LIME ? s->lime_rank_corr : k == SCAN_ORDER_GRADCAM ? s->gradcam_rank_corr : NAN;
    if (isnan(r)) printf(" %22s\n", "-");
    else printf(" %22.3f\n", r);
  }
  printf("wrote %s/faithfulness.json, faithfulness_deletion.png, faithfulness_insertion.png\n", dir);
}

/* With --model and no --config, the configuration of the run the model file belongs to
   (RUN/selflabel/model.safetensors -> RUN/config.yml), unless the --out directory has its own. */
static scan_status config_beside_model(stage_options *o, const char *model, char *buf, size_t size) {
  if (!model || o->config_path) return SCAN_OK;
  if (o->out) {
    SCAN_TRY(scan_path_join(buf, size, o->out, "config.yml"));
    if (scan_file_exists(buf)) return SCAN_OK;
  }
  SCAN_TRY(scan_path_format(buf, size, "%s", model));
  for (int up = 0; up < 2; up++) {
    char *slash = strrchr(buf, '/');
    if (!slash) return SCAN_OK;
    *slash = '\0';
  }
  if (strlen(buf) + sizeof "/config.yml" > size) return scan_fail(SCAN_ERR_INPUT, "%s/config.yml: path too long", buf);
  strcat(buf, "/config.yml");
  if (scan_file_exists(buf)) o->config_path = buf;
  return SCAN_OK;
}

int cmd_explain(int argc, char **argv) {
  stage_options o;
  stage_options_init(&o);
  int index = -1, cluster = -1, top = 8, prototypes = 0, faithfulness = 0, samples = 20;
  const char *image_path = NULL, *method = "both", *save_path = NULL, *model = NULL;
  const arg_option options[] = {
      STAGE_OPTIONS(o),
      {"--model", ARG_STRING, &model, "explain this SCAN or self-label model file (then --out is where the outputs go)"},
      {"--index", ARG_INDEX, &index, "explain this image of the validation split"},
      {"--image", ARG_STRING, &image_path, "explain this image file (PNG or JPEG; converted to the dataset's size)"},
      {"--cluster", ARG_INDEX, &cluster, "alone: explain this cluster's most confident members; with --index/--image: "
                                       "explain this cluster instead of the assigned one; with --prototypes: only its prototype"},
      {"--top", ARG_INDEX, &top, "members explained with --cluster (default 8)"},
      {"--prototypes", ARG_BOOL, &prototypes, "explain every cluster's prototype (the default)"},
      {"--faithfulness", ARG_BOOL, &faithfulness, "deletion/insertion curves and the model-randomisation check"},
      {"--samples", ARG_INDEX, &samples, "validation images measured by --faithfulness (default 20)"},
      {"--method", ARG_STRING, &method, "gradcam, lime or both (default)"},
      {"--save-path", ARG_STRING, &save_path, "where the figures and JSON go (default RUN/explain; with --model, --out)"},
      {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL, EXPLAIN_USAGE,
                      "Explains the run's clustering model (selflabel, else the best SCAN head), or --model FILE, with\n"
                      "Grad-CAM on the last backbone stage (explain.gradcam_layer) and LIME on the cluster's softmax\n"
                      "probability, and measures both with a deletion test. Each explanation's JSON holds the assigned\n"
                      "cluster and every cluster's probability. Without --index/--image/--cluster/--faithfulness: every\n"
                      "cluster's prototype (eval/prototypes.json), as the explain stage of 'scan run'.\n"
                      "--faithfulness: deletion and insertion AUC of LIME's, Grad-CAM's and random superpixel orders over\n"
                      "--samples validation images, and the rank correlation of each explanation with that of the same\n"
                      "model re-initialised; writes faithfulness.json and two charts.\n"
                      "--out is the run directory; with --model it is the output directory (and the config is the one\n"
                      "of the run the model file belongs to, unless --config or OUT/config.yml says otherwise).");
  if (rc) return rc < 0 ? 0 : rc;
  int methods = strcmp(method, "gradcam") == 0 ? SCAN_EXPLAIN_GRADCAM
              : strcmp(method, "lime") == 0    ? SCAN_EXPLAIN_LIME
              : strcmp(method, "both") == 0    ? SCAN_EXPLAIN_BOTH
                                               : 0;
  if (!methods) {
    fprintf(stderr, "scan explain: --method '%s' is not gradcam, lime or both\n", method);
    return 2;
  }
  const int single = index >= 0 || image_path;
  if (index >= 0 && image_path) {
    fprintf(stderr, "scan explain: give --index or --image, not both\n");
    return 2;
  }
  if (single + prototypes + faithfulness > 1) {
    fprintf(stderr, "scan explain: --index/--image, --prototypes and --faithfulness are separate tasks: give one\n");
    return 2;
  }
  char model_config[SCAN_PATH_MAX];
  scan_status status = config_beside_model(&o, model, model_config, sizeof model_config);
  if (status != SCAN_OK) return cli_report_error(status);
  scan_config *cfg;
  scan_pipeline p;
  rc = stage_open(&o, &cfg, &p);
  if (rc) return rc;
  char dir[SCAN_PATH_MAX];
  if (save_path) status = scan_path_format(dir, sizeof dir, "%s", save_path);
  else if (model) status = scan_path_format(dir, sizeof dir, "%s", p.run_dir);
  else status = scan_pipeline_path(&p, dir, sizeof dir, "explain");

  if (status != SCAN_OK) {
    /* reported below */
  } else if (faithfulness) {
    scan_faithfulness_summary summary;
    status = scan_explain_faithfulness(&p, model, samples, dir, &summary);
    if (status == SCAN_OK) print_faithfulness(&summary, dir);
  } else if (single) {
    scan_explanation r = {0};
    char json_path[SCAN_PATH_MAX];
    status = explain_one(&p, model, index, image_path, cluster, methods, dir, &r, json_path, sizeof json_path);
    if (status == SCAN_OK) {
      char number[32];
      snprintf(number, sizeof number, "val image %d", index);
      print_explanation(&r, image_path ? image_path : number);
      printf("  wrote %s\n", json_path);
    }
    scan_explanation_free(&r);
  } else {
    scan_explanation *items = NULL;
    int count = 0;
    const int members = cluster >= 0 && !prototypes;
    if (members) status = scan_explain_cluster_members(&p, model, cluster, top, methods, dir, &items, &count);
    else status = scan_explain_prototypes(&p, model, cluster, methods, dir, &items, &count);
    if (status == SCAN_OK) {
      print_items(items, count, members ? "member" : "prototype");
      if (members) printf("cluster %d: %d member%s explained, wrote %s/cluster_%02d_members.json\n", cluster, count,
                          count == 1 ? "" : "s", dir, cluster);
      else printf("wrote %s/explanations.json\n", dir);
    }
    for (int i = 0; i < count; i++) scan_explanation_free(&items[i]);
    free(items);
  }
  rc = cli_report_error(status);
  stage_close(cfg, &p);
  return rc;
}
