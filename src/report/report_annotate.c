#include "report_annotate.h"

#include <stdlib.h>
#include <string.h>

#include "scan/csv.h"

static void put_js_string(FILE *out, const char *text) {
  fputc('"', out);
  for (const char *c = text; *c; c++) {
    if (*c == '"' || *c == '\\') fputc('\\', out);
    if (*c == '<') fputs("\\u003c", out); /* never close the script element from inside a string */
    else if ((unsigned char)*c >= 0x20) fputc(*c, out);
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

void report_annotation_tool(FILE *out, const scan_pipeline *p) {
  char path[1300];
  FILE *in = fopen(scan_pipeline_path(p, path, sizeof path, "eval/predictions.csv"), "r");
  if (!in) return;
  fprintf(out, "<h2>Name the clusters</h2>\n<p>Type a name for each cluster in the boxes below (next to its prototype and "
               "members), then <button id=\"download-labels\">Download labels.csv</button> — one row per image: file (or "
               "index), cluster, name. <code>scan annotate --names labels.csv</code> applies the names to this run.</p>\n");
  /* Predictions as [label, cluster] pairs, label = file name when known, else the index. */
  fprintf(out, "<script>\nconst scanPredictions = [");
  char line[4096];
  int number = 0;
  while (fgets(line, sizeof line, in)) {
    if (number++ == 0) continue; /* header */
    char *fields[8];
    line[strcspn(line, "\r\n")] = '\0';
    int n = scan_csv_split(line, fields, 8);
    if (n < 3) continue;
    fputs(number > 2 ? ",[" : "[", out);
    put_js_string(out, fields[1][0] ? fields[1] : fields[0]);
    fprintf(out, ",%ld]", strtol(fields[2], NULL, 10));
  }
  fclose(in);
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
}
