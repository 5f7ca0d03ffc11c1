/* Loading a run's clustering model into a one-head network: the self-label model as it is, or the
 * SCAN model's best head (cluster/model.safetensors holds every head and names the best in its
 * metadata). Shared by the self-label stage (which starts from the best SCAN head) and the
 * explanations (which explain the run's final model). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/model_load.h"
#include "scan/safetensors.h"

/* How many cluster heads a file holds (cluster_head.0.weight, .1, ... while each is a matrix), and their classes. */
static int count_heads(const scan_safetensors *f, int *classes) {
  int heads = 0;
  for (;;) {
    char name[64];
    snprintf(name, sizeof name, "cluster_head.%d.weight", heads);
    const scan_tensor_view *t = scan_safetensors_find(f, name);
    if (!t || t->ndim != 2) return heads;
    if (classes) *classes = (int)t->shape[0];
    heads++;
  }
}

/* The head the file's metadata best_head names (0 when absent). It must be a whole number naming one of the
   file's `heads` heads: anything else means the file is not what its writer meant, so it is an error rather
   than a silent head 0. With no heads at all the caller's own message (missing cluster_head.0) says more. */
static scan_status chosen_head(const scan_safetensors *f, const char *path, int heads, int *head) {
  *head = 0;
  const char *text = scan_safetensors_metadata(f, "best_head");
  if (!text) return SCAN_OK;
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (end == text || *end != '\0' || errno == ERANGE)
    return scan_fail(SCAN_ERR_INPUT, "%s: metadata best_head '%s' is not a number", path, text);
  if (heads > 0 && (value < 0 || value >= heads))
    return scan_fail(SCAN_ERR_INPUT, "%s: metadata best_head %ld is not one of the file's %d cluster heads", path, value,
                     heads);
  *head = (int)value;
  return SCAN_OK;
}

static scan_status read_info(const scan_safetensors *f, const char *path, scan_model_info *info) {
  info->heads = count_heads(f, &info->classes);
  /* The stem convolution's weight is [out, in, kh, kw]: VGG's first layer, or ResNet's conv1. */
  static const char *const stems[] = {"backbone.features.0.weight", "backbone.conv1.weight"};
  for (int i = 0; i < 2 && !info->in_channels; i++) {
    const scan_tensor_view *t = scan_safetensors_find(f, stems[i]);
    if (t && t->ndim == 4) info->in_channels = (int)t->shape[1];
  }
  const char *stage = scan_safetensors_metadata(f, "stage");
  /* Files written before the stage took its command's name say "scan". */
  snprintf(info->stage, sizeof info->stage, "%s", !stage || strcmp(stage, "scan") == 0 ? "cluster" : stage);
  if (info->heads == 0) return scan_fail(SCAN_ERR_INPUT, "%s: not a clustering model (no cluster_head.0.weight)", path);
  return chosen_head(f, path, info->heads, &info->chosen);
}

scan_status scan_model_info_read(const char *path, scan_model_info *info) {
  memset(info, 0, sizeof *info);
  scan_safetensors *f = NULL;
  SCAN_TRY(scan_safetensors_read(path, &f));
  scan_status status = read_info(f, path, info);
  scan_safetensors_free(f);
  return status;
}

/* The file's chosen head goes into the net's only head through the one validating loader; the file's other heads
   are expected extras, and anything else must match the net exactly. */
scan_status scan_load_cluster_head(scan_net *net, const char *path, int *head_used) {
  scan_safetensors *file = NULL;
  SCAN_TRY(scan_safetensors_read(path, &file));
  int head = 0;
  scan_status status = chosen_head(file, path, count_heads(file, NULL), &head);
  if (status == SCAN_OK) {
    char from[48];
    snprintf(from, sizeof from, "cluster_head.%d.", head);
    scan_net_load_map map = {.from = from, .to = "cluster_head.0.", .extra = "cluster_head."};
    status = scan_net_load_mapped_from(net, file, path, &map);
  }
  scan_safetensors_free(file);
  if (head_used) *head_used = head;
  return status;
}

scan_status scan_pipeline_load_scan_head(scan_pipeline *p, scan_net *net, int *best_head_out) {
  char path[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, path, sizeof path, "cluster/model.safetensors"));
  if (!scan_file_exists(path))
    return scan_fail(SCAN_ERR_INPUT, "%s: the SCAN model is needed (run 'scan cluster' first)", path);
  return scan_load_cluster_head(net, path, best_head_out);
}

scan_status scan_pipeline_cluster_model_path(const scan_pipeline *p, char *path, int size, int *selflabel) {
  if (selflabel) *selflabel = 0;
  SCAN_TRY(scan_pipeline_path(p, path, (size_t)size, "selflabel/model.safetensors"));
  /* Files written before the epoch was recorded count as kept, as they were treated then. */
  if (scan_file_exists(path) && scan_model_metadata_number(path, "epoch", 1) > 0) {
    if (selflabel) *selflabel = 1;
    return SCAN_OK;
  }
  SCAN_TRY(scan_pipeline_path(p, path, (size_t)size, "cluster/model.safetensors"));
  if (scan_file_exists(path)) return SCAN_OK;
  return scan_fail(SCAN_ERR_INPUT, "%s: no clustering model in this run (run 'scan cluster' first)", p->run_dir);
}

scan_status scan_pipeline_load_cluster_model(scan_pipeline *p, int max_batch, scan_net **out, char *source,
                                             int source_size) {
  *out = NULL;
  char path[SCAN_PATH_MAX];
  int have_selflabel = 0;
  SCAN_TRY(scan_pipeline_cluster_model_path(p, path, sizeof path, &have_selflabel));
  scan_net *net = NULL;
  SCAN_TRY(scan_pipeline_create_net(p, "selflabel", max_batch, &net));
  int best = 0;
  scan_status status = have_selflabel ? scan_net_load(net, path, NULL) : scan_pipeline_load_scan_head(p, net, &best);
  if (status != SCAN_OK) {
    scan_net_free(net);
    return status;
  }
  if (source) {
    if (have_selflabel) status = scan_path_format(source, (size_t)source_size, "%s", path);
    else status = scan_path_format(source, (size_t)source_size, "%s (head %d)", path, best);
  }
  if (status != SCAN_OK) {
    scan_net_free(net);
    return status;
  }
  *out = net;
  return SCAN_OK;
}

double scan_model_metadata_number(const char *path, const char *key, double fallback) {
  scan_safetensors *f = NULL;
  double value = fallback;
  if (scan_safetensors_read(path, &f) == SCAN_OK) {
    const char *text = scan_safetensors_metadata(f, key);
    if (text) value = strtod(text, NULL);
    scan_safetensors_free(f);
  }
  scan_error_clear();
  return value;
}

scan_status scan_model_load_cluster(scan_pipeline *p, const char *path, int max_batch, scan_net **out, char *used,
                                  int used_size) {
  if (!path) return scan_pipeline_load_cluster_model(p, max_batch, out, used, used_size);
  scan_net *net = NULL;
  SCAN_TRY(scan_pipeline_create_net(p, "selflabel", max_batch, &net));
  int head = 0;
  scan_status status = scan_load_cluster_head(net, path, &head);
  if (status != SCAN_OK) {
    scan_net_free(net);
    return status;
  }
  if (used) status = scan_path_format(used, (size_t)used_size, "%s (head %d)", path, head);
  if (status != SCAN_OK) {
    scan_net_free(net);
    return status;
  }
  *out = net;
  return SCAN_OK;
}
