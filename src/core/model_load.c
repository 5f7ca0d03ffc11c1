/* Loading a run's clustering model into a one-head network: the self-label model as it is, or the
 * SCAN model's best head (scan/model.safetensors holds every head and names the best in its
 * metadata). Shared by the self-label stage (which starts from the best SCAN head) and the
 * explanations (which explain the run's final model). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/model_load.h"
#include "scan/safetensors.h"

scan_status scan_model_info_read(const char *path, scan_model_info *info) {
  memset(info, 0, sizeof *info);
  scan_safetensors *f = NULL;
  SCAN_TRY(scan_safetensors_read(path, &f));
  for (;;) {
    char name[64];
    snprintf(name, sizeof name, "cluster_head.%d.weight", info->heads);
    const scan_tensor_view *t = scan_safetensors_find(f, name);
    if (!t || t->ndim != 2) break;
    info->classes = (int)t->shape[0];
    info->heads++;
  }
  /* The stem convolution's weight is [out, in, kh, kw]: VGG's first layer, or ResNet's conv1. */
  static const char *const stems[] = {"backbone.features.0.weight", "backbone.conv1.weight"};
  for (int i = 0; i < 2 && !info->in_channels; i++) {
    const scan_tensor_view *t = scan_safetensors_find(f, stems[i]);
    if (t && t->ndim == 4) info->in_channels = (int)t->shape[1];
  }
  const char *best = scan_safetensors_metadata(f, "best_head");
  const char *stage = scan_safetensors_metadata(f, "stage");
  info->chosen = best ? atoi(best) : 0;
  snprintf(info->stage, sizeof info->stage, "%s", stage ? stage : "scan");
  scan_safetensors_free(f);
  if (info->heads == 0) return scan_fail(SCAN_ERR_INPUT, "%s: not a clustering model (no cluster_head.0.weight)", path);
  if (info->chosen < 0 || info->chosen >= info->heads) info->chosen = 0;
  return SCAN_OK;
}

scan_status scan_load_cluster_head(scan_net *net, const char *path, int *head_used) {
  scan_safetensors *file = NULL;
  SCAN_TRY(scan_safetensors_read(path, &file));
  const char *best_text = scan_safetensors_metadata(file, "best_head");
  int head = best_text ? atoi(best_text) : 0;
  scan_status status = SCAN_OK;
  for (int i = 0; i < scan_net_param_count(net) && status == SCAN_OK; i++) {
    const scan_param *param = scan_net_param(net, i);
    char name[256];
    if (strncmp(param->name, "cluster_head.0.", 15) == 0)
      snprintf(name, sizeof name, "cluster_head.%d.%s", head, param->name + 15);
    else
      snprintf(name, sizeof name, "%s", param->name);
    const scan_tensor_view *t = scan_safetensors_find(file, name);
    int64_t count = scan_param_numel(param);
    if (!t) {
      status = scan_fail(SCAN_ERR_INPUT, "%s: missing tensor '%s' (not a SCAN or self-label model of this config?)", path, name);
    } else if (t->dtype == SCAN_F32 && t->nbytes == sizeof(float) * (size_t)count) {
      memcpy(param->data, t->data, t->nbytes);
    } else if (t->dtype == SCAN_I64 && t->nbytes == sizeof(int64_t) * (size_t)count) {
      for (int64_t k = 0; k < count; k++) param->data[k] = (float)((const int64_t *)t->data)[k]; /* num_batches_tracked */
    } else {
      status = scan_fail(SCAN_ERR_INPUT, "%s: tensor '%s' has the wrong type or shape for this config's model", path, name);
    }
  }
  scan_safetensors_free(file);
  if (head_used) *head_used = head;
  return status;
}

scan_status scan_pipeline_load_scan_head(scan_pipeline *p, scan_net *net, int *best_head_out) {
  char path[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, path, sizeof path, "scan/model.safetensors"));
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
  SCAN_TRY(scan_pipeline_path(p, path, (size_t)size, "scan/model.safetensors"));
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
