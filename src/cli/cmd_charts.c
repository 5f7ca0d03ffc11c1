/* scan charts: how the query metrics change with the number of candidates
 * (spec §14.3, §15.3), for one query or averaged over several. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "query_cli.h"
#include "scan/model_load.h"
#include "scan/query.h"
#include "scan/rng.h"

enum { MAX_QUERIES = 1000 };

/* "3,17,250" into queries; prints the problem and returns 2 when bad. */
static int parse_queries(const char *text, int *queries, int *num) {
  *num = 0;
  for (const char *s = text; *s;) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || errno || v < 0 || v > 2147483647L || (*end && *end != ',') || *num == MAX_QUERIES) {
      fprintf(stderr, "scan: --queries '%s': item %d is not an image index (at most %d)\n", text, *num + 1, MAX_QUERIES);
      return 2;
    }
    queries[(*num)++] = (int)v;
    s = *end ? end + 1 : end;
  }
  if (*num == 0) fprintf(stderr, "scan: --queries is empty\n");
  return *num ? 0 : 2;
}

/* `count` distinct validation indices drawn with the run's seed. */
static scan_status random_queries(scan_pipeline *p, int count, int *queries) {
  const scan_dataset *val;
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  if (count < 1 || count > val->count || count > MAX_QUERIES)
    return scan_fail(SCAN_ERR_INPUT, "--random %d: must be 1..%d", count, val->count < MAX_QUERIES ? val->count : MAX_QUERIES);
  int32_t *order = scan_malloc(sizeof(int32_t) * (size_t)val->count);
  if (!order) return SCAN_ERR_INTERNAL;
  for (int i = 0; i < val->count; i++) order[i] = i;
  scan_rng rng = scan_rng_make(p->seed, 0x9C4A27, 0);
  scan_rng_shuffle(&rng, order, val->count);
  for (int i = 0; i < count; i++) queries[i] = order[i];
  free(order);
  return SCAN_OK;
}

int cmd_charts(int argc, char **argv) {
  stage_options o;
  stage_options_init(&o);
  int query = -1, random_count = 0;
  const char *n_list = NULL, *query_list = NULL, *model = NULL;
  const arg_option options[] = {
      STAGE_OPTIONS(o),
      {"--query", ARG_INDEX, &query, "index of the query image in the validation set"},
      {"--queries", ARG_STRING, &query_list, "several queries, e.g. 3,17,250: charts show their mean, min and max"},
      {"--random", ARG_INDEX, &random_count, "M random queries (drawn with the config seed) instead"},
      {"--n-list", ARG_STRING, &n_list, "candidate counts, increasing (default 50,100,...,1000)"},
      {"--model", ARG_STRING, &model, "model file (default: the run's selflabel model, else the SCAN model's best head)"},
      {NULL, 0, NULL, NULL}};
  int rc = args_parse(argc, argv, options, NULL,
                      "scan charts (--query INDEX | --queries A,B,C | --random M) [--n-list 50,100,...] [--out RUN]",
                      "Clusters the query's candidates for every N of the list and charts accuracy, ARI, NMI, top-5\n"
                      "accuracy, weighted F1, precision, recall and silhouette against N (one PNG each), with the\n"
                      "numbers in charts.csv and charts.json, in RUN/query/<INDEX>-charts/ (several queries:\n"
                      "RUN/query/charts-<M>-queries/ or charts-random<M>/). Needs 'scan candidates' for the largest N.");
  if (rc) return rc < 0 ? 0 : rc;
  if ((query >= 0) + (query_list != NULL) + (random_count != 0) != 1) {
    fprintf(stderr, "scan: charts needs exactly one of --query INDEX, --queries A,B,C and --random M\n");
    return 2;
  }
  int counts[SCAN_QUERY_MAX_COUNTS], num_counts = 0;
  if ((rc = query_counts(n_list, counts, &num_counts)) != 0) return rc;
  static int queries[MAX_QUERIES];
  int num_queries = 1;
  queries[0] = query;
  if (query_list && (rc = parse_queries(query_list, queries, &num_queries)) != 0) return rc;
  scan_config *cfg;
  scan_pipeline p;
  if ((rc = query_open(&o, &cfg, &p)) != 0) return rc;
  scan_status status = SCAN_OK;
  if (random_count) {
    num_queries = random_count;
    status = random_queries(&p, random_count, queries);
  }
  char rel[128], dir[SCAN_PATH_MAX];
  if (query >= 0) snprintf(rel, sizeof rel, "query/%d-charts", query);
  else if (random_count) snprintf(rel, sizeof rel, "query/charts-random%d", random_count);
  else snprintf(rel, sizeof rel, "query/charts-%d-queries", num_queries);
  if (status == SCAN_OK) status = scan_pipeline_path(&p, dir, sizeof dir, rel);
  scan_net *net = NULL;
  char model_used[SCAN_PATH_MAX] = "";
  double mean[SCAN_QUERY_MAX_COUNTS * SCAN_QUERY_CHART_METRICS];
  if (status == SCAN_OK) status = scan_model_load_cluster(&p, model, 256, &net, model_used, sizeof model_used);
  if (status == SCAN_OK) status = scan_query_charts(&p, net, queries, num_queries, counts, num_counts, dir, mean);
  if (status == SCAN_OK) {
    printf("%-6s", "N");
    for (int k = 0; k < SCAN_QUERY_CHART_METRICS; k++) printf(" %13s", scan_query_metric_keys[k]);
    printf("\n");
    for (int c = 0; c < num_counts; c++) {
      printf("%-6d", counts[c]);
      for (int k = 0; k < SCAN_QUERY_CHART_METRICS; k++) printf(" %13.4f", mean[c * SCAN_QUERY_CHART_METRICS + k]);
      printf("\n");
    }
    printf("%d charts, charts.csv and charts.json in %s (model %s)\n", SCAN_QUERY_CHART_METRICS, dir, model_used);
  }
  if (net) scan_net_free(net);
  rc = cli_report_error(status);
  stage_close(cfg, &p);
  return rc;
}
