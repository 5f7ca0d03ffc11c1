/* Builds report.html from the run directory's files. Sections appear only when
 * their inputs exist, so a label-free run shows the label-free sections only. */
#include "scan/stages.h"
#include "scan/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_annotate.h"
#include "report_curves.h"
#include "report_json.h"
#include "scan/atomic_file.h"

typedef struct {
  FILE *out;
  const scan_pipeline *p;
} page;

static int exists_in_run(const page *pg, const char *relative) {
  char path[SCAN_PATH_MAX];
  return scan_pipeline_path(pg->p, path, sizeof path, relative) == SCAN_OK && scan_file_exists(path);
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

/* A table cell: the number (as a percentage when `percent`), or a dash when the key is absent. */
static void put_metric_cell(FILE *out, const cJSON *object, const char *key, int percent) {
  double v = report_number(object, key, NAN);
  if (isnan(v)) fprintf(out, "<td>–</td>");
  else if (percent) fprintf(out, "<td>%.2f%%</td>", 100 * v);
  else fprintf(out, "<td>%.4f</td>", v);
}

/* One row of the configuration table; a value the config lacks shows as a dash. */
static void put_config_row(FILE *out, const char *name, const char *value) {
  fprintf(out, "<tr><td>%s</td><td>", name);
  put_text(out, value && value[0] ? value : "–");
  fprintf(out, "</td></tr>\n");
}

static const char *config_text(const scan_pipeline *p, const char *stage, const char *key, char *buf, size_t size) {
  const char *text = NULL;
  double number = 0;
  buf[0] = '\0';
  if (scan_config_get_string(p->cfg, stage, key, &text) == SCAN_OK) snprintf(buf, size, "%s", text);
  else if (scan_config_get_double(p->cfg, stage, key, &number) == SCAN_OK) snprintf(buf, size, "%g", number);
  scan_error_clear(); /* an absent key is a dash, not a failure */
  return buf;
}

/* The values a reader needs to know what was run; the rest is in config.yml, linked. */
static void section_summary(const page *pg, const cJSON *metrics) {
  FILE *out = pg->out;
  const scan_pipeline *p = pg->p;
  char a[128], b[128], c[128], text[512];
  fprintf(out, "<h2>Data and configuration</h2>\n<table class=\"config\">\n");
  snprintf(text, sizeof text, "%s (%s)", config_text(p, NULL, "train_db_name", a, sizeof a),
           config_text(p, NULL, "train_split", b, sizeof b));
  put_config_row(out, "trained on", text);
  const cJSON *dataset = cJSON_GetObjectItemCaseSensitive(metrics, "dataset");
  if (metrics) /* the evaluated split as eval named it ("mnist/test", "folder") */
    snprintf(text, sizeof text, "%s (%d images, %s)", cJSON_IsString(dataset) ? dataset->valuestring : "?",
             (int)report_number(metrics, "count", 0),
             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(metrics, "labelled")) ? "with labels" : "without labels");
  else
    snprintf(text, sizeof text, "%s (%s), not evaluated yet", config_text(p, NULL, "val_db_name", a, sizeof a),
             config_text(p, NULL, "val_split", b, sizeof b));
  put_config_row(out, "evaluated on", text);
  put_config_row(out, "clusters", config_text(p, NULL, "num_classes", a, sizeof a));
  snprintf(text, sizeof text, "%s", config_text(p, NULL, "image_size", a, sizeof a));
  if (strcmp(text, "0") == 0) snprintf(text, sizeof text, "the dataset's own");
  put_config_row(out, "image size", text);
  put_config_row(out, "backbone", config_text(p, NULL, "backbone", a, sizeof a));
  put_config_row(out, "seed", config_text(p, NULL, "seed", a, sizeof a));
  snprintf(text, sizeof text, "%s", config_text(p, NULL, "threads", a, sizeof a));
  if (strcmp(text, "0") == 0) snprintf(text, sizeof text, "0 (all cores)");
  put_config_row(out, "threads", text);
  fprintf(out, "</table>\n<table class=\"config\"><tr><th>stage</th><th>epochs</th><th>batch size</th><th>optimizer</th>"
               "<th>learning rate</th></tr>\n");
  static const char *const stages[][2] = {{"pretext", "pretext (SimCLR)"}, {"cluster", "cluster (SCAN)"},
                                          {"selflabel", "selflabel"}};
  for (int s = 0; s < 3; s++) {
    const char *stage = stages[s][0];
    snprintf(text, sizeof text, "%s", config_text(p, stage, "epochs", a, sizeof a));
    if (strcmp(stage, "cluster") == 0) /* the heads-only warm-up runs before the whole-network epochs */
      snprintf(text + strlen(text), sizeof text - strlen(text), " + %s head warm-up",
               config_text(p, stage, "head_warmup_epochs", b, sizeof b));
    fprintf(out, "<tr><td>%s</td><td>", stages[s][1]);
    put_text(out, text);
    fprintf(out, "</td><td>");
    put_text(out, config_text(p, stage, "batch_size", a, sizeof a));
    fprintf(out, "</td><td>");
    put_text(out, config_text(p, stage, "optimizer", b, sizeof b));
    fprintf(out, "</td><td>");
    put_text(out, config_text(p, stage, "optimizer_kwargs.lr", c, sizeof c));
    fprintf(out, "</td></tr>\n");
  }
  fprintf(out, "</table>\n<p>Every value in force, each with a one-line comment: <a href=\"config.yml\">config.yml</a>.</p>\n");
}

/* Epochs, wall time and mean image rate of a stage with an epoch log. */
static scan_status timing_from_log(const page *pg, const char *log_path, int *epochs, double *seconds, double *rate) {
  char path[SCAN_PATH_MAX];
  cJSON *log = NULL;
  SCAN_TRY(scan_pipeline_path(pg->p, path, sizeof path, log_path));
  SCAN_TRY(report_read_jsonl(path, &log));
  *epochs = -1;
  if (!log) return SCAN_OK;
  double rate_sum = 0;
  int rates = 0;
  *epochs = 0;
  *seconds = 0;
  const cJSON *line;
  cJSON_ArrayForEach(line, log) {
    (*epochs)++;
    *seconds += report_number(line, "seconds", 0);
    double r = report_number(line, "images_per_second", -1);
    /* SCAN's warm-up epochs run on cached feature vectors, not images: their rate is not an image rate. */
    const cJSON *phase = cJSON_GetObjectItemCaseSensitive(line, "phase");
    int warmup = cJSON_IsString(phase) && strcmp(phase->valuestring, "warmup") == 0;
    if (r > 0 && !warmup) rate_sum += r, rates++;
  }
  *rate = rates ? rate_sum / rates : -1;
  cJSON_Delete(log);
  return SCAN_OK;
}

/* Wall time and image rate of a stage without an epoch log (its timing.json, scan_pipeline_write_timing). */
static scan_status timing_from_file(const page *pg, const char *timing_path, double *seconds, double *rate, int *found) {
  char path[SCAN_PATH_MAX];
  cJSON *timing = NULL;
  SCAN_TRY(scan_pipeline_path(pg->p, path, sizeof path, timing_path));
  SCAN_TRY(report_read_json(path, &timing));
  *found = timing != NULL;
  *seconds = report_number(timing, "seconds", 0);
  *rate = report_number(timing, "images_per_second", -1);
  cJSON_Delete(timing);
  return SCAN_OK;
}

static scan_status section_timing(const page *pg) {
  FILE *out = pg->out;
  static const struct {
    const char *name, *log, *timing;
  } stages[] = {{"pretext (SimCLR)", "pretext/log.jsonl", NULL}, {"mine (kNN)", NULL, "pretext/mine_timing.json"},
                {"cluster (SCAN)", "cluster/log.jsonl", NULL},     {"selflabel", "selflabel/log.jsonl", NULL},
                {"eval", NULL, "eval/timing.json"},             {"explain", NULL, "explain/timing.json"}};
  fprintf(out, "<h2>Time per stage</h2>\n<table class=\"timing\"><tr><th>stage</th><th>epochs</th><th>wall time</th>"
               "<th>images/s</th></tr>\n");
  for (size_t s = 0; s < sizeof stages / sizeof stages[0]; s++) {
    int epochs = -1, found = 0;
    double seconds = 0, rate = -1;
    if (stages[s].log) {
      SCAN_TRY(timing_from_log(pg, stages[s].log, &epochs, &seconds, &rate));
      found = epochs >= 0;
    } else {
      SCAN_TRY(timing_from_file(pg, stages[s].timing, &seconds, &rate, &found));
    }
    if (!found) continue;
    fprintf(out, "<tr><td>%s</td>", stages[s].name);
    if (epochs >= 0) fprintf(out, "<td>%d</td>", epochs);
    else fprintf(out, "<td>–</td>");
    fprintf(out, "<td>%.1f s</td>", seconds);
    if (rate > 0) fprintf(out, "<td>%.0f</td></tr>\n", rate);
    else fprintf(out, "<td>–</td></tr>\n");
  }
  fprintf(out, "</table>\n");
  return SCAN_OK;
}

/* The label metrics of one table row (heads and baselines alike). */
static void put_label_cells(FILE *out, const cJSON *row) {
  put_metric_cell(out, row, "acc", 1);
  put_metric_cell(out, row, "majority_acc", 1);
  put_metric_cell(out, row, "nmi", 0);
  put_metric_cell(out, row, "ari", 0);
  put_metric_cell(out, row, "ami", 0);
  put_metric_cell(out, row, "top5", 1);
}

/* The label-free columns: validation SCAN loss, clusters used, balance, confidence. */
static void put_label_free_cells(FILE *out, const cJSON *row, int clusters) {
  put_metric_cell(out, row, "scan_loss", 0);
  double used = report_number(row, "nonempty_clusters", NAN);
  if (isnan(used)) fprintf(out, "<td>–</td>");
  else fprintf(out, "<td>%.0f of %d</td>", used, clusters);
  double entropy = report_number(row, "entropy", NAN), uniform = report_number(row, "uniform_entropy", NAN);
  if (isnan(entropy) || !(uniform > 0)) fprintf(out, "<td>–</td>");
  else fprintf(out, "<td>%.3f (%.0f%%)</td>", entropy, 100 * entropy / uniform);
  put_metric_cell(out, row, "mean_confidence", 0);
}

/* Whether self-labelling ran, and whether its model was kept: the head table then has its row, or not. */
static scan_status selflabel_note(const page *pg, const cJSON *metrics) {
  char path[SCAN_PATH_MAX];
  cJSON *log = NULL;
  SCAN_TRY(scan_pipeline_path(pg->p, path, sizeof path, "selflabel/log.jsonl"));
  SCAN_TRY(report_read_jsonl(path, &log));
  if (!log) return SCAN_OK;
  int epochs = 0, kept = 0;
  const cJSON *line;
  cJSON_ArrayForEach(line, log) {
    epochs++;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(line, "kept"))) kept = (int)report_number(line, "epoch", epochs);
  }
  cJSON_Delete(log);
  int evaluated = 0;
  const cJSON *head;
  cJSON_ArrayForEach(head, cJSON_GetObjectItemCaseSensitive(metrics, "heads")) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(head, "model");
    evaluated |= cJSON_IsString(model) && strcmp(model->valuestring, "selflabel") == 0;
  }
  if (kept)
    fprintf(pg->out, "<p>Self-labelling ran %d epoch%s; the model after epoch %d had a lower validation SCAN loss than "
                     "the SCAN model and is the chosen one%s.</p>\n", epochs, epochs == 1 ? "" : "s", kept,
            evaluated ? "" : " (this evaluation predates it: rerun <code>scan eval</code>)");
  else
    fprintf(pg->out, "<p>Self-labelling ran %d epoch%s, but no epoch lowered the validation SCAN loss, so it was "
                     "discarded and the SCAN model's best head is the chosen one.</p>\n", epochs, epochs == 1 ? "" : "s");
  return SCAN_OK;
}

static scan_status section_metrics(const page *pg, const cJSON *metrics) {
  FILE *out = pg->out;
  int labelled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(metrics, "labelled"));
  int clusters = (int)report_number(metrics, "num_clusters", 0);
  fprintf(out, "<h2>How good are the clusters?</h2>\n");
  if (labelled)
    fprintf(out, "<p>Labels were used only here, to score the clusters. ACC matches clusters to classes one to one "
                 "(Hungarian; a cluster left without a class counts as wrong), majority ACC maps each cluster to its "
                 "most frequent class, top-5 counts a hit when the true class is matched to one of the 5 most probable "
                 "clusters. The k-means rows cluster the raw pixels and the pretext features with as many clusters, "
                 "for comparison.</p>\n");
  else
    fprintf(out, "<p>The data has no labels, so the clusters cannot be scored against classes. Instead: the SCAN loss "
                 "on the validation neighbours (lower is better), how many clusters are used, the entropy of the "
                 "cluster sizes (in brackets: its share of the entropy of equal sizes, 100%% = balanced) and the mean "
                 "confidence of the assignments.</p>\n");
  fprintf(out, "<table><tr><th>model</th>");
  if (labelled) fprintf(out, "<th>ACC</th><th>majority ACC</th><th>NMI</th><th>ARI</th><th>AMI</th><th>top-5</th>");
  fprintf(out, "<th>val SCAN loss</th><th>clusters used</th><th>size entropy</th><th>mean confidence</th></tr>\n");
  const cJSON *head;
  cJSON_ArrayForEach(head, cJSON_GetObjectItemCaseSensitive(metrics, "heads")) {
    int chosen = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(head, "chosen"));
    char name[64];
    scan_eval_head_name(head, name, sizeof name);
    fprintf(out, "<tr%s><td>%s%s</td>", chosen ? " class=\"chosen\"" : "", name, chosen ? " (chosen)" : "");
    if (labelled) put_label_cells(out, head);
    put_label_free_cells(out, head, clusters);
    fprintf(out, "</tr>\n");
  }
  const cJSON *baseline;
  cJSON_ArrayForEach(baseline, cJSON_GetObjectItemCaseSensitive(metrics, "baseline")) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(baseline, "name");
    fprintf(out, "<tr class=\"baseline\"><td>");
    put_text(out, cJSON_IsString(name) ? name->valuestring : "baseline");
    fprintf(out, "</td>");
    put_label_cells(out, baseline);
    fprintf(out, "<td>–</td><td>–</td><td>–</td><td>–</td></tr>\n");
  }
  fprintf(out, "</table>\n");
  SCAN_TRY(selflabel_note(pg, metrics));
  fprintf(out, "<div class=\"row\">\n");
  put_figure(pg, "eval/confusion.png",
             "Confusion matrix of the chosen head: rows are the true classes, columns the clusters, each matched "
             "cluster on the diagonal of its class; each cell shows the count and its share of the row");
  put_figure(pg, "eval/cluster_sizes.png", "Images per cluster (chosen head)");
  fprintf(out, "</div>\n");
  return SCAN_OK;
}

static int any_explanation(const page *pg, int clusters) {
  for (int c = 0; c < clusters; c++) {
    char rel[128];
    snprintf(rel, sizeof rel, "explain/cluster_%02d_gradcam.png", c);
    if (exists_in_run(pg, rel)) return 1;
    snprintf(rel, sizeof rel, "explain/cluster_%02d_lime.png", c);
    if (exists_in_run(pg, rel)) return 1;
  }
  return 0;
}

static scan_status section_clusters(const page *pg, const cJSON *metrics) {
  FILE *out = pg->out;
  int clusters = (int)report_number(metrics, "num_clusters", 0);
  int explained = any_explanation(pg, clusters);
  fprintf(out, "<h2>What are the clusters%s?</h2>\n", explained ? ", and why" : "");
  put_figure(pg, "eval/prototypes.png",
             "The prototype of each cluster: of its most confident members, the one closest to their mean feature");
  if (explained)
    fprintf(out, "<p>For each cluster: its prototype explained by Grad-CAM (where the network looked) and by LIME "
                 "(which superpixels raise (tinted green) or lower (tinted red) the cluster's probability; thin lines are the "
                 "superpixel boundaries), each beside the image, then its members, most "
                 "confident first.</p>\n");
  else
    fprintf(out, "<p>For each cluster: its members, most confident first.</p>\n");
  SCAN_TRY(report_annotation_tool(out, pg->p));
  const cJSON *names = cJSON_GetObjectItemCaseSensitive(metrics, "cluster_names");
  char names_path[SCAN_PATH_MAX];
  cJSON *given = NULL;
  SCAN_TRY(scan_pipeline_path(pg->p, names_path, sizeof names_path, "eval/cluster_names.json"));
  SCAN_TRY(report_read_json(names_path, &given));
  const cJSON *given_names = cJSON_GetObjectItemCaseSensitive(given, "names");
  const cJSON *sizes = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(metrics, "diagnostics"),
                                                        "cluster_sizes");
  for (int c = 0; c < clusters; c++) {
    char rel[128];
    const cJSON *name = cJSON_GetArrayItem(names, c), *size = cJSON_GetArrayItem(sizes, c);
    int count = cJSON_IsNumber(size) ? (int)size->valuedouble : -1;
    fprintf(out, "<h3 id=\"cluster-%d\">Cluster %d", c, c);
    if (count == 0) {
      fprintf(out, ": empty</h3>\n<p>No validation image was assigned to this cluster.</p>\n");
      continue;
    }
    if (count > 0) fprintf(out, ": %d image%s", count, count == 1 ? "" : "s");
    if (cJSON_IsString(name) && name->valuestring[0]) {
      fprintf(out, ", mostly <i>");
      put_text(out, name->valuestring);
      fprintf(out, "</i>");
    }
    fprintf(out, "</h3>\n");
    const cJSON *given_name = cJSON_GetArrayItem(given_names, c);
    report_name_box(out, c, cJSON_IsString(given_name) ? given_name->valuestring : NULL);
    if (explained) {
      fprintf(out, "<div class=\"row\">\n");
      snprintf(rel, sizeof rel, "explain/cluster_%02d_gradcam.png", c);
      put_figure(pg, rel, "Grad-CAM of the prototype");
      snprintf(rel, sizeof rel, "explain/cluster_%02d_lime.png", c);
      put_figure(pg, rel, "LIME of the prototype");
      snprintf(rel, sizeof rel, "explain/cluster_%02d_lime_weights.png", c);
      put_figure(pg, rel, "LIME superpixel weights");
      fprintf(out, "</div>\n");
    }
    snprintf(rel, sizeof rel, "eval/clusters/cluster_%02d.png", c);
    put_figure(pg, rel, "Members, most confident first");
  }
  cJSON_Delete(given);
  return SCAN_OK;
}

/* The page into `out`; any input that is there but broken stops it with a message naming the file. */
static scan_status write_page(const page *pg, const cJSON *metrics) {
  FILE *out = pg->out;
  fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>scan report</title>\n<style>\n"
               "body{font-family:sans-serif;max-width:1240px;margin:2em auto;padding:0 1em;color:#222}\n"
               "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}\n"
               "td:first-child,th:first-child{text-align:left}tr.chosen{background:#e3f0ff;font-weight:bold}\n"
               "table.config td{text-align:left}tr.baseline{color:#666}figure{margin:0.5em;vertical-align:top}\n"
               "figure img{max-width:100%%;border:1px solid #ddd}figcaption{font-size:0.85em;color:#555;max-width:600px}\n"
               ".row{display:flex;flex-wrap:wrap;align-items:flex-start}\n"
               ".curves{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr))}\n"
               "</style></head><body>\n<h1>scan report</h1>\n");
  section_summary(pg, metrics);
  SCAN_TRY(section_timing(pg));
  fprintf(out, "<h2>Training curves</h2>\n<div class=\"curves\">\n");
  put_figure(pg, "report/pretext_loss.png", "SimCLR training loss per epoch");
  put_figure(pg, "report/pretext_knn.png", "Weighted-kNN accuracy on the validation set per epoch (a monitor)");
  put_figure(pg, "report/cluster_loss.png", "SCAN loss on the validation neighbours, best head, per epoch");
  put_figure(pg, "report/cluster_acc.png", "ACC of the best head per epoch");
  put_figure(pg, "report/selflabel_loss.png", "Self-labelling: SCAN loss on the validation neighbours per epoch");
  put_figure(pg, "report/selflabel_acc.png", "Self-labelling: ACC per epoch");
  fprintf(out, "</div>\n");
  if (metrics) {
    SCAN_TRY(section_metrics(pg, metrics));
    SCAN_TRY(section_clusters(pg, metrics));
  } else {
    fprintf(out, "<p>No evaluation yet: run <code>scan eval</code>.</p>\n");
  }
  fprintf(out, "</body></html>\n");
  return SCAN_OK;
}

scan_status scan_report_write(scan_pipeline *p, char *path_out, int path_size) {
  char path[SCAN_PATH_MAX];
  char *html = NULL;
  size_t html_size = 0;
  cJSON *metrics = NULL;
  SCAN_TRY(scan_pipeline_path(p, path, sizeof path, "eval/metrics.json"));
  SCAN_TRY(report_read_json(path, &metrics));
  scan_status status = report_write_curves(p);
  FILE *out = status == SCAN_OK ? open_memstream(&html, &html_size) : NULL;
  if (status == SCAN_OK && !out) status = scan_fail(SCAN_ERR_INTERNAL, "out of memory building the report");
  if (status == SCAN_OK) {
    page pg = {out, p};
    status = write_page(&pg, metrics);
  }
  if (out) fclose(out);
  cJSON_Delete(metrics);
  if (status == SCAN_OK) status = scan_pipeline_path(p, path, sizeof path, "report.html");
  if (status == SCAN_OK) status = scan_write_file_atomic(path, html, html_size);
  free(html);
  if (status == SCAN_OK && path_out) status = scan_path_format(path_out, (size_t)path_size, "%s", path);
  return status;
}
