/* scan query: cluster one query's N candidates with the run's model and show
 * the result (spec §14.2, §15.2, §15.4; an image file as in §15.5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query_cli.h"
#include "scan/model_load.h"
#include "scan/query.h"

static void print_scores(const scan_query_scores *s) {
  if (!s->evaluated) {
    printf("no labelled candidate: nothing to evaluate\n");
    return;
  }
  printf("ACC %.4f  ARI %.4f  NMI %.4f  ACC Top-5 %.4f  F1 %.4f  precision %.4f  recall %.4f", s->acc, s->ari, s->nmi,
         s->acc_top5, s->f1, s->precision, s->recall);
  if (s->silhouette_defined) printf("  silhouette %.4f", s->silhouette);
  printf("\n(%d labelled candidates, %d classes and %d clusters present)\n", s->labelled, s->classes_present,
         s->clusters_present);
}

/* Each present cluster and its members as validation-set indices. */
static void print_clusters(const scan_query_prediction *pr, const scan_query_scores *s, const int64_t *prototypes) {
  for (int c = 0; c < pr->num_clusters; c++) {
    int count = 0;
    for (int i = 0; i < pr->n; i++) count += pr->pred[i] == c;
    if (!count) continue;
    printf("cluster %d (%d", c, count);
    if (s->evaluated && s->metrics.match[c] >= 0) printf(", matched to class %d", s->metrics.match[c]);
    if (prototypes && prototypes[c] >= 0) printf(", prototype %lld", (long long)prototypes[c]);
    printf("):");
    const char *sep = " ";
    for (int i = 0; i < pr->n; i++)
      if (pr->pred[i] == c) printf("%s%lld", sep, (long long)pr->indices[i]), sep = ", ";
    printf("\n");
  }
}


static scan_status run_query(scan_pipeline *p, int query, const char *image_path, int n, const char *model,
                             int prototypes) {
  const scan_dataset *val;
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  size_t bytes = (size_t)val->height * val->width * val->channels;
  int64_t *indices = scan_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  uint8_t *image = scan_malloc(bytes);
  int64_t *prototype_ids = NULL;
  scan_net *net = NULL;
  scan_query_prediction pr = {0};
  scan_query_scores s = {0};
  char model_used[SCAN_PATH_MAX] = "", dir[SCAN_PATH_MAX], rel[256];
  scan_status status = indices && image ? SCAN_OK : SCAN_ERR_INTERNAL;
  if (status == SCAN_OK) {
    if (image_path) {
      status = scan_query_candidates_of_image(p, image_path, n, image, indices);
    } else {
      status = scan_query_candidates_of(p, query, n, indices);
      if (status == SCAN_OK) status = scan_dataset_copy_image(val, query, image);
    }
  }
  if (status == SCAN_OK) status = scan_model_load_cluster(p, model, 256, &net, model_used, sizeof model_used);
  if (status == SCAN_OK) status = scan_query_predict(p, net, indices, n, &pr);
  if (status == SCAN_OK) status = scan_query_evaluate(val, &pr, n, &s);
  int topk = 10;
  if (status == SCAN_OK && prototypes) status = scan_config_get_int(p->cfg, "eval", "prototypes_topk", &topk);
  if (status == SCAN_OK) {
    if (image_path) {
      char stem[128];
      cli_file_stem(image_path, stem, sizeof stem);
      snprintf(rel, sizeof rel, "query/file-%s-n%d", stem, n);
    } else {
      snprintf(rel, sizeof rel, "query/%d-n%d", query, n);
    }
    status = scan_pipeline_path(p, dir, sizeof dir, rel);
  }
  if (status == SCAN_OK) {
    prototype_ids = scan_malloc(sizeof(int64_t) * (size_t)pr.num_clusters);
    if (!prototype_ids) status = SCAN_ERR_INTERNAL;
  }
  /* Each prototype is explained (Grad-CAM and LIME) with the same model that clustered it. */
  scan_query_explainer explainer;
  int explaining = 0;
  if (status == SCAN_OK && prototypes) {
    status = scan_query_explainer_open(&explainer, p, model);
    explaining = status == SCAN_OK;
  }
  if (status == SCAN_OK) {
    scan_query_output_options o = {dir, image, image_path ? -1 : query, image_path, model_used, prototypes, topk,
                                   explaining ? scan_query_explain_prototype : NULL, explaining ? &explainer : NULL};
    status = scan_query_write_outputs(p, &pr, &s, &o, prototype_ids);
  }
  if (status == SCAN_OK && explaining) status = scan_query_explainer_finish(&explainer, dir);
  if (explaining) scan_query_explainer_close(&explainer);
  if (status == SCAN_OK) {
    if (image_path) printf("query image %s: %d nearest validation images, model %s\n", image_path, n, model_used);
    else printf("query %d: %d candidates, model %s\n", query, n, model_used);
    print_scores(&s);
    print_clusters(&pr, &s, prototypes ? prototype_ids : NULL);
    printf("outputs in %s\n", dir);
  }
  scan_query_scores_free(&s);
  scan_query_prediction_free(&pr);
  if (net) scan_net_free(net);
  free(prototype_ids);
  free(indices);
  free(image);
  return status;
}

int cmd_query(int argc, char **argv) {
  stage_options o;
  stage_options_init(&o);
  int query = -1, n = 0, prototypes = 0;
  const char *image_path = NULL, *model = NULL;
  const arg_option options[] = {
      STAGE_OPTIONS(o),
      {"--query", ARG_INDEX, &query, "index of the query image in the validation set"},
      {"--query-image", ARG_STRING, &image_path, "an image file (PNG/JPEG) to use as the query instead"},
      {"--n", ARG_INDEX, &n, "number of candidates to cluster (needs a candidates file at least that wide)"},
      {"--model", ARG_STRING, &model, "model file (default: the run's selflabel model, else the SCAN model's best head)"},
      {"--prototypes", ARG_BOOL, &prototypes, "also write each present cluster's prototype with its Grad-CAM and LIME figures"},
      {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL,
                      "scan query (--query INDEX | --query-image PATH) --n N [--out RUN] [--model FILE] [--prototypes]",
                      "Clusters the N nearest candidates of a query image (never the query itself) with the run's model,\n"
                      "prints ACC, ARI, NMI and top-5 accuracy (rectangular matching over the classes and clusters present)\n"
                      "and each cluster's members as validation-set indices, and writes query.png, cluster_XX.png,\n"
                      "confusion.png, metrics.json and members.json into RUN/query/<INDEX>-n<N>/.");
  if (rc) return rc < 0 ? 0 : rc;
  if ((query >= 0) == (image_path != NULL) || n < 1) {
    fprintf(stderr, "scan: query needs either --query INDEX (>= 0) or --query-image PATH, and --n N (>= 1)\n");
    return 2;
  }
  scan_config *cfg;
  scan_pipeline p;
  if ((rc = query_open(&o, &cfg, &p)) != 0) return rc;
  rc = cli_report_error(run_query(&p, query, image_path, n, model, prototypes));
  stage_close(cfg, &p);
  return rc;
}
