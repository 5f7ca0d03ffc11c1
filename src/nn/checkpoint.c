/* Model checkpoints as safetensors with the reference PyTorch names (spec §5, §12). The one place that loads a
 * file into a network: it validates the whole file against the network (every name, shape and dtype, and keys
 * the network does not have) before changing anything, and names the file and the first tensor that does not
 * fit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "scan/optim.h"
#include "scan/safetensors.h"

static int is_counter(const net_param *p) { return p->p.is_buffer && p->p.ndim == 0; }

/* skip: NULL or a comma-separated list of name prefixes, e.g. "contrastive_head.,cluster_head." */
static int skipped(const char *name, const char *skip) {
  while (skip && *skip) {
    size_t len = strcspn(skip, ",");
    if (len > 0 && strncmp(name, skip, len) == 0) return 1;
    skip += len + (skip[len] == ',');
  }
  return 0;
}

/* The network's tensors as views for the safetensors writer: views and counters hold param_count entries. */
static void net_views(const scan_net *net, scan_tensor_view *views, int64_t *counters) {
  for (int i = 0; i < net->param_count; i++) {
    const net_param *p = &net->params[i];
    scan_tensor_view *v = &views[i];
    snprintf(v->name, sizeof v->name, "%s", p->name);
    v->ndim = p->p.ndim;
    for (int d = 0; d < p->p.ndim; d++) v->shape[d] = p->p.shape[d];
    if (is_counter(p)) { /* PyTorch keeps num_batches_tracked as int64 */
      counters[i] = (int64_t)p->p.data[0];
      v->dtype = SCAN_I64;
      v->data = &counters[i];
      v->nbytes = sizeof(int64_t);
    } else {
      v->dtype = SCAN_F32;
      v->data = p->p.data;
      v->nbytes = (size_t)p->numel * sizeof(float);
    }
  }
}

scan_status scan_net_check_finite(const scan_net *net, const char *what) {
  for (int i = 0; i < net->param_count; i++) {
    const net_param *p = &net->params[i];
    for (int64_t j = 0; j < p->numel; j++)
      if (!isfinite(p->p.data[j]))
        return scan_fail(SCAN_ERR_INPUT, "%s: '%s' holds %s (element %lld)", what, p->name,
                         isnan(p->p.data[j]) ? "NaN" : "an infinite value", (long long)j);
  }
  return SCAN_OK;
}

/* The model's tensors, then (opt not NULL) the optimiser's state under "optimizer.", in one atomic write. A model
   file never holds a non-finite number: a run that diverged keeps its last good file. */
static scan_status save_with_state(const scan_net *net, const scan_optimizer *opt, const char *path,
                                   const char *const *metadata) {
  SCAN_TRY(scan_net_check_finite(net, path));
  int extra = opt ? optim_state_max_views(opt) : 0;
  scan_tensor_view *views = scan_calloc((unsigned long)(net->param_count + extra), sizeof *views);
  int64_t *counters = scan_calloc((unsigned long)net->param_count, sizeof *counters);
  if (!views || !counters) {
    free(views);
    free(counters);
    return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path);
  }
  net_views(net, views, counters);
  int count = net->param_count + (opt ? optim_state_views(opt, views + net->param_count, SCAN_CHECKPOINT_OPTIMIZER) : 0);
  scan_status st = scan_safetensors_write(path, views, count, metadata);
  free(views);
  free(counters);
  return st;
}

scan_status scan_net_save(const scan_net *net, const char *path, const char *const *metadata) {
  return save_with_state(net, NULL, path, metadata);
}

scan_status scan_checkpoint_save(const scan_net *net, const scan_optimizer *opt, const char *path,
                                 const char *const *metadata) {
  return save_with_state(net, opt, path, metadata);
}

static void format_shape(char *out, size_t size, int ndim, const int64_t *shape) {
  int used = snprintf(out, size, "[");
  for (int d = 0; d < ndim && used < (int)size; d++) used += snprintf(out + used, size - (size_t)used, d ? ", %lld" : "%lld", (long long)shape[d]);
  if (used < (int)size) snprintf(out + used, size - (size_t)used, "]");
}

static const char *dtype_name(scan_dtype t) {
  static const char *const names[] = {"float32", "float64", "int64", "int32", "uint8"};
  return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "another dtype";
}

static int has_prefix(const char *name, const char *prefix) { return prefix && strncmp(name, prefix, strlen(prefix)) == 0; }

/* The file's name for a parameter: `to` + rest becomes `from` + rest, any other name stays. */
static void file_name(const scan_net_load_map *map, const char *param, char *out, size_t size) {
  if (map->from && has_prefix(param, map->to)) snprintf(out, size, "%s%s", map->from, param + strlen(map->to));
  else snprintf(out, size, "%s", param);
}

static const net_param *find_param(const scan_net *net, const char *name) {
  for (int i = 0; i < net->param_count; i++)
    if (strcmp(net->params[i].name, name) == 0) return &net->params[i];
  return NULL;
}

/* The parameter a file tensor loads into, or NULL: the inverse of file_name. A file tensor under `to` (when it
   differs from `from`) loads nowhere, since the parameters under `to` take theirs from `from`. */
static const net_param *param_for(const scan_net *net, const scan_net_load_map *map, const char *tensor) {
  if (map->from && has_prefix(tensor, map->from)) {
    char name[256];
    snprintf(name, sizeof name, "%s%s", map->to, tensor + strlen(map->from));
    return find_param(net, name);
  }
  if (map->from && has_prefix(tensor, map->to)) return NULL;
  return find_param(net, tensor);
}

/* Shape and dtype of file tensor v against parameter p; messages name the file's tensor, and the parameter it
   was to load into when a mapping renamed it. */
static scan_status check_tensor(const char *path, const net_param *p, const scan_tensor_view *v) {
  char into[160] = "";
  if (strcmp(v->name, p->name) != 0) snprintf(into, sizeof into, " (loaded into '%s')", p->name);
  int same = v->ndim == p->p.ndim;
  for (int d = 0; same && d < v->ndim; d++) same = v->shape[d] == p->p.shape[d];
  if (!same) {
    char want[96], got[96];
    format_shape(want, sizeof want, p->p.ndim, p->p.shape);
    format_shape(got, sizeof got, v->ndim, v->shape);
    return scan_fail(SCAN_ERR_INPUT, "%s: '%s'%s has shape %s, the network expects %s", path, v->name, into, got, want);
  }
  /* PyTorch stores num_batches_tracked as int64; every other tensor must be float32. */
  int dtype_ok = v->dtype == SCAN_F32 || (is_counter(p) && v->dtype == SCAN_I64);
  if (!dtype_ok)
    return scan_fail(SCAN_ERR_INPUT, "%s: '%s'%s is %s, the network expects float32%s", path, v->name, into,
                     dtype_name(v->dtype), is_counter(p) ? " or int64" : "");
  return SCAN_OK;
}

static scan_status check_params(const scan_net *net, const scan_safetensors *f, const char *path,
                                const scan_net_load_map *map) {
  for (int i = 0; i < net->param_count; i++) {
    const net_param *p = &net->params[i];
    char name[256];
    file_name(map, p->name, name, sizeof name);
    const scan_tensor_view *v = scan_safetensors_find(f, name);
    if (!v) {
      if (skipped(p->name, map->skip)) continue;
      return scan_fail(SCAN_ERR_INPUT, "%s: missing key '%s' (is this checkpoint for the same backbone and head?)", path, name);
    }
    SCAN_TRY(check_tensor(path, p, v));
  }
  return SCAN_OK;
}

/* Every file tensor either loads into a parameter or is allowed to be there: under `skip`, or under `extra` and
   not under `from` (a tensor under `from` that no parameter takes is as unexpected as any other). */
static scan_status check_tensors(const scan_net *net, const scan_safetensors *f, const char *path,
                                 const scan_net_load_map *map) {
  for (int i = 0; i < scan_safetensors_count(f); i++) {
    const scan_tensor_view *v = scan_safetensors_get(f, i);
    if (param_for(net, map, v->name) || skipped(v->name, map->skip)) continue;
    if (skipped(v->name, map->extra) && !has_prefix(v->name, map->from)) continue;
    return scan_fail(SCAN_ERR_INPUT, "%s: unexpected key '%s' (is this checkpoint for the same backbone and head?)", path, v->name);
  }
  return SCAN_OK;
}

static void copy_tensor(net_param *p, const scan_tensor_view *v) {
  if (v->dtype == SCAN_I64) {
    int64_t count;
    memcpy(&count, v->data, sizeof count);
    p->p.data[0] = (float)count;
  } else {
    memcpy(p->p.data, v->data, (size_t)p->numel * sizeof(float));
  }
}

scan_status scan_net_load_mapped_from(scan_net *net, const scan_safetensors *f, const char *path,
                                      const scan_net_load_map *map) {
  if (map->from && !map->to) return scan_fail(SCAN_ERR_INTERNAL, "%s: a load mapping from '%s' names no target", path, map->from);
  /* Everything is checked before the first copy, so a refused file leaves the network as it was. */
  SCAN_TRY(check_params(net, f, path, map));
  SCAN_TRY(check_tensors(net, f, path, map));
  for (int i = 0; i < net->param_count; i++) {
    char name[256];
    file_name(map, net->params[i].name, name, sizeof name);
    const scan_tensor_view *v = scan_safetensors_find(f, name);
    if (v) copy_tensor(&net->params[i], v);
  }
  return SCAN_OK;
}

scan_status scan_net_load_mapped(scan_net *net, const char *path, const scan_net_load_map *map) {
  scan_safetensors *f;
  SCAN_TRY(scan_safetensors_read(path, &f));
  scan_status st = scan_net_load_mapped_from(net, f, path, map);
  scan_safetensors_free(f);
  return st;
}

scan_status scan_net_load_from(scan_net *net, const scan_safetensors *f, const char *path, const char *skip_prefix) {
  scan_net_load_map map = {.skip = skip_prefix};
  return scan_net_load_mapped_from(net, f, path, &map);
}

scan_status scan_net_load(scan_net *net, const char *path, const char *skip_prefix) {
  scan_net_load_map map = {.skip = skip_prefix};
  return scan_net_load_mapped(net, path, &map);
}
