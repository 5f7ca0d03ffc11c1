/* Confusion-matrix figure of an evaluated clustering: reorders the contingency
 * table so each class's matched cluster sits on the diagonal, keeps only the
 * classes and clusters that occur (the axis label counts the empty clusters left
 * out), names rows by class and columns by cluster id, and hands it to viz. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/metrics.h"
#include "scan/viz_chart.h"

scan_status scan_confusion_chart(const scan_metrics *m, const char *const *class_names, const char *title,
                                 const char *path) {
  int C = m->num_clusters, K = m->num_classes;
  int *row_class = scan_malloc(sizeof(int) * K), *col_cluster = scan_malloc(sizeof(int) * C);
  int64_t *class_size = scan_calloc(K, sizeof(int64_t)), *cluster_size = scan_calloc(C, sizeof(int64_t));
  int64_t *cells = scan_malloc(sizeof(int64_t) * (size_t)K * C);
  char *name_store = scan_malloc((size_t)(K + C) * 96);
  const char **row_names = scan_malloc(sizeof(char *) * K), **col_names = scan_malloc(sizeof(char *) * C);
  scan_status st;
  if (!row_class || !col_cluster || !class_size || !cluster_size || !cells || !name_store || !row_names || !col_names) {
    st = scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path);
    goto done;
  }
  for (int c = 0; c < C; c++)
    for (int y = 0; y < K; y++) {
      cluster_size[c] += m->contingency[(long)c * K + y];
      class_size[y] += m->contingency[(long)c * K + y];
    }
  /* Matched (class, cluster) pairs first, in class order, so they form the diagonal of the top-left square;
     then the classes no cluster was matched to (fewer clusters than classes) and the unmatched clusters
     (more clusters than classes). Each cluster is matched to at most one class. */
  int rows = 0, cols = 0;
  for (int y = 0; y < K; y++)
    for (int c = 0; c < C; c++)
      if (class_size[y] > 0 && m->match[c] == y && cluster_size[c] > 0) {
        row_class[rows++] = y;
        col_cluster[cols++] = c;
      }
  for (int y = 0; y < K; y++) {
    int matched = 0;
    for (int c = 0; c < C; c++) matched |= m->match[c] == y && cluster_size[c] > 0;
    if (class_size[y] > 0 && !matched) row_class[rows++] = y;
  }
  for (int c = 0; c < C; c++)
    if (m->match[c] < 0 && cluster_size[c] > 0) col_cluster[cols++] = c;
  char *next = name_store;
  for (int r = 0; r < rows; r++) {
    int y = row_class[r];
    if (class_names && class_names[y]) row_names[r] = class_names[y];
    else {
      snprintf(next, 96, "class %d", y);
      row_names[r] = next;
      next += 96;
    }
  }
  /* Columns are clusters, named by their own id: the class each one is matched to is its diagonal row. */
  for (int j = 0; j < cols; j++) {
    int c = col_cluster[j];
    snprintf(next, 96, m->match[c] >= 0 ? "cluster %d" : "cluster %d (unmatched)", c);
    col_names[j] = next;
    next += 96;
    for (int r = 0; r < rows; r++) cells[(long)r * cols + j] = m->contingency[(long)c * K + row_class[r]];
  }
  int empty = 0;
  for (int c = 0; c < C; c++) empty += cluster_size[c] == 0;
  char xlabel[160];
  snprintf(xlabel, sizeof xlabel, "cluster (matched pairs on the diagonal%s", empty ? "; " : ")");
  if (empty) snprintf(xlabel + strlen(xlabel), sizeof xlabel - strlen(xlabel), "%d empty not shown)", empty);
  scan_chart_frame frame = {title, xlabel, "true class", 0, 0};
  st = scan_chart_confusion(path, &frame, cells, rows, cols, row_names, col_names);
done:
  free(row_class);
  free(col_cluster);
  free(class_size);
  free(cluster_size);
  free(cells);
  free(name_store);
  free(row_names);
  free(col_names);
  return st;
}
