/* Builds report.html from the run directory's files. Sections appear only when
 * their inputs exist, so a label-free run shows the label-free sections only. */
#include "scan/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_curves.h"
#include "report_json.h"
#include "scan/atomic_file.h"

typedef struct {
  FILE *out;
  const scan_pipeline *p;
} page;

static int exists_in_run(const page *pg, const char *relative) {
  char path[1300];
  return scan_file_exists(scan_pipeline_path(pg->p, path, sizeof path, relative));
}

/* Text escaped for HTML. */
static void put_text(FILE *out, const char *text) {
  for (const char *c = text; *c; c++) {
    if (*c == '<') fputs("&lt;", out);
    else if (*c == '>') fputs("&gt;", out);
    else if (*c == '&') fputs("&amp;", out);
    else if (*c == '"') fputs("&quot;", out);
    else fputc(*c, out);
  }
}

static void put_figure(const page *pg, const char *relative, const char *caption) {
  if (!exists_in_run(pg, relative)) return;
  fprintf(pg->out, "<figure><img src=\"%s\" alt=\"", relative);
  put_text(pg->out, caption);
  fprintf(pg->out, "\"><figcaption>");
  put_text(pg->out, caption);
  fprintf(pg->out, "</figcaption></figure>\n");
}

static void put_metric_cell(FILE *out, const cJSON *object, const char *key, int percent) {
  double v = report_number(object, key, -1e300);
  if (v <= -1e299) fprintf(out, "<td>–</td>");
  else if (percent) fprintf(out, "<td>%.2f%%</td>", 100 * v);
  else fprintf(out, "<td>%.4f</td>", v);
}

static void section_summary(const page *pg, const cJSON *metrics) {
  FILE *out = pg->out;
  const char *db = "?", *split = "?";
  scan_config_get_string(pg->p->cfg, NULL, "train_db_name", &db);
  scan_config_get_string(pg->p->cfg, NULL, "val_split", &split);
  fprintf(out, "<h2>Data and configuration</h2>\n<p>Dataset <b>");
  put_text(out, db);
  fprintf(out, "</b>, evaluated on the <b>");
  put_text(out, split);
  fprintf(out, "</b> split");
  if (metrics)
    fprintf(out, " (%d images, %d clusters%s)", (int)report_number(metrics, "count", 0),
            (int)report_number(metrics, "num_clusters", 0),
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(metrics, "labelled")) ? ", with labels" : ", without labels");
  fprintf(out, ". The full resolved configuration is in <a href=\"config.yml\">config.yml</a>.</p>\n");
}

static void section_timing(const page *pg) {
  FILE *out = pg->out;
  static const char *const stages[][2] = {{"pretext", "pretext/log.jsonl"}, {"scan", "scan/log.jsonl"},
                                          {"selflabel", "selflabel/log.jsonl"}};
  fprintf(out, "<h2>Training time</h2>\n<table><tr><th>stage</th><th>epochs</th><th>wall time</th><th>images/s</th></tr>\n");
  for (int s = 0; s < 3; s++) {
    char path[1300];
    cJSON *log = report_read_jsonl(scan_pipeline_path(pg->p, path, sizeof path, stages[s][1]));
    if (!log) continue;
    double seconds = 0, rate_sum = 0;
    int epochs = 0, rates = 0;
    const cJSON *line;
    cJSON_ArrayForEach(line, log) {
      epochs++;
      seconds += report_number(line, "seconds", 0);
      double rate = report_number(line, "images_per_second", -1);
      if (rate > 0) { rate_sum += rate; rates++; }
    }
    fprintf(out, "<tr><td>%s</td><td>%d</td><td>%.0f s</td>", stages[s][0], epochs, seconds);
    if (rates) fprintf(out, "<td>%.0f</td></tr>\n", rate_sum / rates);
    else fprintf(out, "<td>–</td></tr>\n");
    cJSON_Delete(log);
  }
  fprintf(out, "</table>\n");
}

static void section_metrics(const page *pg, const cJSON *metrics) {
  FILE *out = pg->out;
  int labelled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(metrics, "labelled"));
  fprintf(out, "<h2>How good are the clusters?</h2>\n");
  if (labelled) {
    fprintf(out, "<p>Labels were used only here, to score the clusters: ACC matches clusters to classes one to one "
                 "(Hungarian), majority ACC maps each cluster to its most frequent class.</p>\n");
    fprintf(out, "<table><tr><th>model</th><th>ACC</th><th>majority ACC</th><th>NMI</th><th>ARI</th><th>AMI</th>"
                 "<th>top-5</th><th>val SCAN loss</th></tr>\n");
    const cJSON *head;
    cJSON_ArrayForEach(head, cJSON_GetObjectItemCaseSensitive(metrics, "heads")) {
      int chosen = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(head, "chosen"));
      fprintf(out, "<tr%s><td>head %d%s</td>", chosen ? " class=\"chosen\"" : "", (int)report_number(head, "head", 0),
              chosen ? " (chosen)" : "");
      put_metric_cell(out, head, "acc", 1);
      put_metric_cell(out, head, "majority_acc", 1);
      put_metric_cell(out, head, "nmi", 0);
      put_metric_cell(out, head, "ari", 0);
      put_metric_cell(out, head, "ami", 0);
      put_metric_cell(out, head, "top5", 1);
      put_metric_cell(out, head, "scan_loss", 0);
      fprintf(out, "</tr>\n");
    }
    const cJSON *baseline;
    cJSON_ArrayForEach(baseline, cJSON_GetObjectItemCaseSensitive(metrics, "baseline")) {
      const cJSON *name = cJSON_GetObjectItemCaseSensitive(baseline, "name");
      fprintf(out, "<tr class=\"baseline\"><td>");
      put_text(out, cJSON_IsString(name) ? name->valuestring : "baseline");
      fprintf(out, "</td>");
      put_metric_cell(out, baseline, "acc", 1);
      put_metric_cell(out, baseline, "majority_acc", 1);
      put_metric_cell(out, baseline, "nmi", 0);
      put_metric_cell(out, baseline, "ari", 0);
      put_metric_cell(out, baseline, "ami", 0);
      fprintf(out, "<td>–</td><td>–</td></tr>\n");
    }
    fprintf(out, "</table>\n");
  }
  const cJSON *diag = cJSON_GetObjectItemCaseSensitive(metrics, "diagnostics");
  if (diag)
    fprintf(out, "<p>Without labels: entropy of the cluster distribution %.3f (uniform: %.3f), mean confidence %.3f.</p>\n",
            report_number(diag, "entropy", 0), report_number(diag, "uniform_entropy", 0),
            report_number(diag, "mean_confidence", 0));
  fprintf(out, "<div class=\"row\">\n");
  put_figure(pg, "eval/confusion.png", "Confusion matrix (rows: true classes, columns: matched clusters)");
  put_figure(pg, "eval/cluster_sizes.png", "Cluster sizes");
  fprintf(out, "</div>\n");
}

static void section_clusters(const page *pg, const cJSON *metrics) {
  FILE *out = pg->out;
  int clusters = (int)report_number(metrics, "num_clusters", 0);
  fprintf(out, "<h2>What are the clusters, and why?</h2>\n");
  put_figure(pg, "eval/prototypes.png", "The prototype of each cluster: its most typical confident member");
  fprintf(out, "<p>For each cluster: its prototype explained by Grad-CAM (where the network looked) and by LIME "
               "(which superpixels raise (green) or lower (red) the cluster's probability), then its members, most "
               "confident first.</p>\n");
  const cJSON *names = cJSON_GetObjectItemCaseSensitive(metrics, "cluster_names");
  for (int c = 0; c < clusters; c++) {
    char rel[128];
    const cJSON *name = cJSON_GetArrayItem(names, c);
    fprintf(out, "<h3>Cluster %d", c);
    if (cJSON_IsString(name) && name->valuestring[0]) {
      fprintf(out, " — mostly ");
      put_text(out, name->valuestring);
    }
    fprintf(out, "</h3>\n<div class=\"row\">\n");
    snprintf(rel, sizeof rel, "explain/cluster_%02d_gradcam.png", c);
    put_figure(pg, rel, "Grad-CAM of the prototype");
    snprintf(rel, sizeof rel, "explain/cluster_%02d_lime.png", c);
    put_figure(pg, rel, "LIME of the prototype");
    snprintf(rel, sizeof rel, "explain/cluster_%02d_lime_weights.png", c);
    put_figure(pg, rel, "LIME superpixel weights");
    fprintf(out, "</div>\n");
    snprintf(rel, sizeof rel, "eval/clusters/cluster_%02d.png", c);
    put_figure(pg, rel, "Members, most confident first");
  }
}

scan_status scan_report_write(scan_pipeline *p, char *path_out, int path_size) {
  char path[1300];
  char *html = NULL;
  size_t html_size = 0;
  FILE *out = open_memstream(&html, &html_size);
  if (!out) return scan_fail(SCAN_ERR_INTERNAL, "out of memory building the report");
  page pg = {out, p};
  SCAN_TRY(report_write_curves(p));
  cJSON *metrics = report_read_json(scan_pipeline_path(p, path, sizeof path, "eval/metrics.json"));
  fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>scan report</title>\n<style>\n"
               "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\n"
               "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}\n"
               "td:first-child,th:first-child{text-align:left}tr.chosen{background:#e3f0ff;font-weight:bold}\n"
               "tr.baseline{color:#666}figure{display:inline-block;margin:0.5em;vertical-align:top}\n"
               "figure img{max-width:100%%;image-rendering:pixelated;border:1px solid #ddd}"
               "figcaption{font-size:0.85em;color:#555;max-width:480px}\n.row{display:flex;flex-wrap:wrap;align-items:flex-start}\n"
               "</style></head><body>\n<h1>scan report</h1>\n");
  section_summary(&pg, metrics);
  section_timing(&pg);
  fprintf(out, "<h2>Training curves</h2>\n<div class=\"row\">\n");
  put_figure(&pg, "report/pretext_loss.png", "SimCLR loss per epoch");
  put_figure(&pg, "report/pretext_knn.png", "Weighted-kNN accuracy on the validation set (monitor)");
  put_figure(&pg, "report/scan_loss.png", "SCAN loss of the best head per epoch (validation)");
  put_figure(&pg, "report/scan_acc.png", "ACC of the best head per epoch");
  put_figure(&pg, "report/selflabel_acc.png", "Self-labelling: ACC per epoch");
  fprintf(out, "</div>\n");
  if (metrics) {
    section_metrics(&pg, metrics);
    section_clusters(&pg, metrics);
  } else {
    fprintf(out, "<p>No evaluation yet: run <code>scan eval</code>.</p>\n");
  }
  fprintf(out, "</body></html>\n");
  fclose(out);
  cJSON_Delete(metrics);
  scan_pipeline_path(p, path, sizeof path, "report.html");
  scan_status status = scan_write_file_atomic(path, html, html_size);
  free(html);
  if (status == SCAN_OK && path_out) snprintf(path_out, (size_t)path_size, "%s", path);
  return status;
}
