/* The convolution plan file of a training stage (include/scan/conv_plan.h). */
#include "scan/conv_plan.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "scan/atomic_file.h"
#include "scan/context.h"
#include "scan/cpu_isa.h"
#include "net_internal.h"
#include "scan/dist.h"

enum { PLAN_FORMAT = 1, PLAN_MAX_BYTES = 1 << 20 };

static const char remedy[] = "delete it to measure the algorithms again, or set conv_algorithm: rule";

static cJSON *layer_json(const scan_conv_layer *layer, const scan_conv_timing *t) {
  cJSON *item = cJSON_CreateObject(), *ms = cJSON_CreateObject();
  char shape[128];
  scan_conv_shape_text(&layer->shape, shape, sizeof shape);
  cJSON_AddStringToObject(item, "name", layer->name);
  cJSON_AddStringToObject(item, "shape", shape);
  cJSON_AddStringToObject(item, "algorithm", scan_conv_algo_name((scan_conv_algo)layer->shape.algo));
  for (int a = 1; a < SCAN_CONV_ALGO_COUNT; a++)
    if (t->ms[a] >= 0) cJSON_AddNumberToObject(ms, scan_conv_algo_name((scan_conv_algo)a), t->ms[a]);
  cJSON_AddItemToObject(item, "ms", ms);
  return item;
}

scan_status scan_conv_plan_write(const char *path, const scan_net *net, int n, const scan_conv_timing *timings) {
  const scan_context *ctx = net->ctx;
  char machine[1024];
  scan_isa_describe(ctx, machine, sizeof machine);
  cJSON *root = cJSON_CreateObject(), *layers = cJSON_CreateArray();
  cJSON_AddNumberToObject(root, "format", PLAN_FORMAT);
  cJSON_AddNumberToObject(root, "batch", n);
  cJSON_AddNumberToObject(root, "block", scan_context_block(ctx));
  cJSON_AddStringToObject(root, "isa_cap", scan_context_isa_avx2(ctx) ? "avx2" : "none");
  cJSON_AddNumberToObject(root, "threads", scan_context_threads(ctx));
  cJSON_AddStringToObject(root, "machine", machine);
  for (int i = 0; i < scan_net_conv_count(net); i++) {
    const scan_conv_layer layer = scan_net_conv_layer(net, i, n);
    cJSON_AddItemToArray(layers, layer_json(&layer, &timings[i]));
  }
  cJSON_AddItemToObject(root, "layers", layers);
  scan_status st = scan_write_json_atomic(path, root);
  cJSON_Delete(root);
  return st;
}

/* The string member `key` of item, or NULL. */
static const char *text_of(const cJSON *item, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double number_of(const cJSON *item, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);
  return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Layer i of the plan against the net's: same name and shape, an algorithm the backend runs there. */
static scan_status apply_layer(const char *path, const cJSON *item, scan_net *net, int i, int n) {
  scan_conv_layer layer = scan_net_conv_layer(net, i, n);
  layer.shape.algo = SCAN_CONV_AUTO;
  char shape[128];
  scan_conv_shape_text(&layer.shape, shape, sizeof shape);
  const char *name = text_of(item, "name"), *plan_shape = text_of(item, "shape"), *algorithm = text_of(item, "algorithm");
  if (!name || !plan_shape || !algorithm)
    return scan_fail(SCAN_ERR_INPUT, "%s: layer %d lacks a name, shape or algorithm (not written by scan?); %s", path, i + 1, remedy);
  if (strcmp(name, layer.name) != 0)
    return scan_fail(SCAN_ERR_INPUT, "%s: layer %d is '%s', this net's is '%s' (a plan of another model); %s", path, i + 1, name,
                     layer.name, remedy);
  if (strcmp(plan_shape, shape) != 0)
    return scan_fail(SCAN_ERR_INPUT, "%s: layer %s was measured as %s, this run's is %s (another batch, model or activation "
                                     "layout: SCAN_ONEDNN_BLOCK, or another CPU); %s", path, name, plan_shape, shape, remedy);
  const scan_conv_algo algo = scan_conv_algo_parse(algorithm);
  if (algo == SCAN_CONV_ALGO_COUNT)
    return scan_fail(SCAN_ERR_INPUT, "%s: layer %s: unknown convolution algorithm '%s'; %s", path, name, algorithm, remedy);
  if (scan_net_set_conv_algo(net, i, algo) == SCAN_OK) return SCAN_OK;
  char why[1024]; /* the message is rewritten below: copied first */
  snprintf(why, sizeof why, "%s", scan_error_message());
  return scan_fail(SCAN_ERR_INPUT, "%s: %s (measured on another machine or layout?); %s", path, why, remedy);
}

static scan_status apply_plan(const char *path, const cJSON *root, scan_net *net, int n, FILE *log) {
  const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
  if (!cJSON_IsObject(root) || number_of(root, "format") != PLAN_FORMAT || !cJSON_IsArray(layers))
    return scan_fail(SCAN_ERR_INPUT, "%s: not a convolution plan of format %d; %s", path, PLAN_FORMAT, remedy);
  const int count = scan_net_conv_count(net);
  if (cJSON_GetArraySize(layers) != count)
    return scan_fail(SCAN_ERR_INPUT, "%s: %d layers, this net has %d convolutions (a plan of another model); %s", path,
                     cJSON_GetArraySize(layers), count, remedy);
  for (int i = 0; i < count; i++) SCAN_TRY(apply_layer(path, cJSON_GetArrayItem(layers, i), net, i, n));
  const scan_context *ctx = net->ctx;
  const char *cap = text_of(root, "isa_cap");
  const int threads = (int)number_of(root, "threads");
  if (log && (threads != scan_context_threads(ctx) || !cap || strcmp(cap, scan_context_isa_avx2(ctx) ? "avx2" : "none") != 0))
    fprintf(log, "%s: measured with %d threads and ISA cap %s, this run has %d and %s: the same algorithms, but timings (and, "
                 "with other threads, the bits) may differ\n", path, threads, cap ? cap : "?", scan_context_threads(ctx),
            scan_context_isa_avx2(ctx) ? "avx2" : "none");
  return SCAN_OK;
}

scan_status scan_conv_plan_apply(const char *path, scan_net *net, int n, FILE *log) {
  unsigned char *text = NULL;
  size_t size = 0;
  SCAN_TRY(scan_read_file_max(path, PLAN_MAX_BYTES, "a convolution plan", &text, &size));
  cJSON *root = cJSON_ParseWithLength((const char *)text, size);
  free(text);
  if (!root) return scan_fail(SCAN_ERR_INPUT, "%s: not valid JSON (damaged?); %s", path, remedy);
  scan_status st = apply_plan(path, root, net, n, log);
  cJSON_Delete(root);
  return st;
}

/* Rank 0 measures and writes the plan; every rank takes rank 0's choices and outcome. */
static scan_status measure(const char *path, scan_net *net, int n, FILE *log) {
  const int count = scan_net_conv_count(net);
  int *shared = scan_calloc((size_t)count + 1, sizeof *shared); /* [0]: rank 0's status, then each layer's algorithm */
  scan_conv_timing *timings = scan_calloc((size_t)count + 1, sizeof *timings);
  if (!shared || !timings) {
    free(shared), free(timings);
    return scan_fail(SCAN_ERR_INTERNAL, "out of memory for a convolution plan");
  }
  scan_status st = SCAN_OK;
  if (scan_dist_is_root()) {
    st = scan_net_tune_convolutions(net, n, log, timings);
    if (st == SCAN_OK) st = scan_conv_plan_write(path, net, n, timings);
    shared[0] = (int)st;
    for (int i = 0; i < count; i++) shared[i + 1] = (int)timings[i].algo;
  }
  scan_dist_broadcast(shared, (long)(count + 1) * (long)sizeof *shared, 0);
  if (!scan_dist_is_root()) {
    st = shared[0] == SCAN_OK ? SCAN_OK : scan_fail((scan_status)shared[0], "rank 0 could not measure the convolutions");
    for (int i = 0; i < count && st == SCAN_OK; i++) st = scan_net_set_conv_algo(net, i, (scan_conv_algo)shared[i + 1]);
  }
  free(shared);
  free(timings);
  return st;
}

scan_status scan_conv_plan_for_stage(const char *dir, scan_net *net, int n, FILE *log) {
  char path[SCAN_PATH_MAX];
  SCAN_TRY(scan_path_join(path, sizeof path, dir, "conv_plan.json"));
  if (!scan_file_exists(path)) return measure(path, net, n, log);
  SCAN_TRY(scan_conv_plan_apply(path, net, n, log));
  if (log && scan_dist_is_root()) fprintf(log, "convolution algorithms from %s\n", path);
  return SCAN_OK;
}
