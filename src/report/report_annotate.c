#include "report_annotate.h"

#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/csv.h"

static void put_js_string(FILE *out, const char *text) {
  fputc('"', out);
  for (const char *c = text; *c; c++) {
    if (*c == '"' || *c == '\\') fputc('\\', out);
    if (*c == '<') fputs("\\u003c", out); /* never close the script element from inside a string */
    else if (*c == '\n') fputs("\\n", out); /* a file name may hold one: labels.csv must give it back whole */
    else if ((unsigned char)*c < 0x20) fprintf(out, "\\u%04x", (unsigned char)*c);
    else fputc(*c, out);
  }
  fputc('"', out);
}

void report_name_box(FILE *out, int cluster, const char *current) {
  fprintf(out, "<p class=\"name\"><label>Name this cluster: <input type=\"text\" class=\"cluster-name\" data-cluster=\"%d\" "
               "placeholder=\"e.g. sneakers\" value=\"", cluster);
  for (const char *c = current ? current : ""; *c; c++) {
    if (*c == '"') fputs("&quot;", out);
    else if (*c == '<') fputs("&lt;", out);
    else if (*c == '&') fputs("&amp;", out);
    else fputc(*c, out);
  }
  fprintf(out, "\"></label></p>\n");
}

scan_status report_annotation_tool(FILE *out, const scan_pipeline *p) {
  char path[SCAN_PATH_MAX];
  unsigned char *text = NULL;
  size_t size = 0;
  SCAN_TRY(scan_pipeline_path(p, path, sizeof path, "eval/predictions.csv"));
  if (!scan_file_exists(path)) return SCAN_OK;
  SCAN_TRY(scan_read_file_max(path, SCAN_CSV_MAX_BYTES, "a predictions file", &text, &size));
  fprintf(out, "<h2>Name the clusters</h2>\n<p>Type a name for each cluster in the boxes below (next to its prototype and "
               "members), then <button id=\"download-labels\">Download labels.csv</button> — one row per image: file (or "
               "index), cluster, name. <code>scan annotate --names labels.csv</code> applies the names to this run.</p>\n");
  /* Predictions as [label, cluster] pairs, label = file name when known, else the index. */
  fprintf(out, "<script>\nconst scanPredictions = [");
  scan_csv_reader csv;
  scan_csv_begin(&csv, (char *)text);
  char *fields[8];
  scan_status status = SCAN_OK;
  int n;
  for (long record = 0; (n = scan_csv_next(&csv, fields, 8)) != 0; record++) {
    if (record == 0) continue; /* header */
    if (n < 3 || n > 8) {
      status = scan_fail(SCAN_ERR_INPUT, "%s:%ld: malformed prediction row", path, csv.line);
      break;
    }
    fputs(record > 1 ? ",[" : "[", out);
    put_js_string(out, fields[1][0] ? fields[1] : fields[0]);
    fprintf(out, ",%ld]", strtol(fields[2], NULL, 10));
  }
  free(text);
  fprintf(out, "];\n"
               "function csvField(v) { v = String(v); return /[\",\\n]/.test(v) ? '\"' + v.replace(/\"/g, '\"\"') + '\"' : v; }\n"
               "document.getElementById('download-labels').addEventListener('click', function () {\n"
               "  const names = {};\n"
               "  document.querySelectorAll('input.cluster-name').forEach(function (box) { names[box.dataset.cluster] = box.value.trim(); });\n"
               "  const rows = ['file_or_index,cluster,name'];\n"
               "  scanPredictions.forEach(function (p) { rows.push([csvField(p[0]), p[1], csvField(names[p[1]] || '')].join(',')); });\n"
               "  const link = document.createElement('a');\n"
               "  link.href = URL.createObjectURL(new Blob([rows.join('\\n') + '\\n'], {type: 'text/csv'}));\n"
               "  link.download = 'labels.csv';\n"
               "  document.body.appendChild(link); link.click(); link.remove();\n"
               "});\n</script>\n");
  return status;
}
