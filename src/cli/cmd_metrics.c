/* scan metrics --truth T --pred P [--probs Q] [--json]: every label metric of predictions made anywhere. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "scan/metrics.h"
#include "stage_common.h"

static void print_table(const scan_metrics *m) {
  printf("samples %lld, clusters %d (ids 0..%d), classes %d\n", (long long)m->n, m->num_clusters, m->num_clusters - 1,
         m->num_classes);
  printf("  ACC (Hungarian)  %.6f\n  ACC (majority)   %.6f\n  NMI              %.6f\n  ARI              %.6f\n"
         "  AMI              %.6f\n",
         m->acc, m->acc_majority, m->nmi, m->ari, m->ami);
  if (m->has_top5) printf("  top-5 ACC        %.6f\n", m->acc_top5);
  printf("  precision / recall / F1 (weighted)  %.6f / %.6f / %.6f\n", m->precision_weighted, m->recall_weighted,
         m->f1_weighted);
  printf("\nconfusion (rows: clusters, columns: classes; 'class' is the cluster's Hungarian match, - none)\n%8s %6s", "cluster",
         "class");
  for (int y = 0; y < m->num_classes; y++) printf(" %6d", y);
  putchar('\n');
  for (int c = 0; c < m->num_clusters; c++) {
    printf("%8d ", c);
    if (m->match[c] >= 0) printf("%6d", m->match[c]);
    else printf("%6s", "-");
    for (int y = 0; y < m->num_classes; y++) printf(" %6lld", (long long)m->contingency[(long)c * m->num_classes + y]);
    putchar('\n');
  }
}

int cmd_metrics(int argc, char **argv) {
  const char *truth = NULL, *pred = NULL, *probs = NULL;
  int json = 0;
  const arg_option options[] = {
      {"--truth", ARG_STRING, &truth, "true class ids: .npy (any integer dtype) or CSV (one per line, or a 'label' column)"},
      {"--pred", ARG_STRING, &pred, "cluster ids: .npy or CSV (one per line, or a 'cluster' column as eval's predictions.csv)"},
      {"--probs", ARG_STRING, &probs, "cluster probabilities [n, clusters]: float .npy or CSV (adds top-5 ACC)"},
      {"--json", ARG_BOOL, &json, "print one JSON object (metrics, matching, confusion) instead of the table"},
      {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL, "scan metrics --truth T.npy --pred P.npy [--probs Q.npy] [--json]",
                      "Every label metric of cluster ids against class ids that came from anywhere: Hungarian ACC\n"
                      "(rectangular: clusters and classes may differ in number; unmatched clusters count as wrong),\n"
                      "majority ACC, NMI, ARI, AMI, weighted precision/recall/F1, top-5 ACC with --probs, and the\n"
                      "confusion table. Clusters are 0..the largest id (or the probabilities' columns), so clusters\n"
                      "no sample was assigned to are counted as empty. Bad files: exit status 2.");
  if (rc) return rc < 0 ? 0 : rc;
  if (!truth || !pred) {
    fprintf(stderr, "scan metrics: --truth and --pred are both required\n");
    return 2;
  }
  scan_metrics m;
  scan_status status = scan_metrics_files(truth, pred, probs, &m);
  if (status != SCAN_OK) return cli_report_error(status);
  if (json) {
    cJSON *root = cJSON_CreateObject();
    scan_metrics_add_json(root, &m);
    scan_metrics_add_table_json(root, &m);
    char *text = cJSON_Print(root);
    if (text) puts(text);
    free(text);
    cJSON_Delete(root);
  } else {
    print_table(&m);
  }
  scan_metrics_free(&m);
  return 0;
}
