/* Measuring the convolution algorithms of a net's layers (include/scan/conv_tune.h). */
#include "scan/conv_tune.h"

#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "scan/progress.h"

enum {
  REPEATS = 3, /* timed steps per algorithm after the warm-up: the median of 3 shrugs off one interrupted step */
  GIVE_UP_PERCENT = 150, /* an algorithm whose first timed step takes 1.5x the best median so far is not repeated:
                            it has lost by more than this machine's noise, and tuning stays cheap */
};

void scan_conv_shape_text(const scan_conv_shape *s, char *out, size_t size) {
  snprintf(out, size, "n%d %d->%d %dx%d k%d s%d p%d nChw%dc->nChw%dc", s->n, s->in_c, s->out_c, s->in_h, s->in_w, s->kernel,
           s->stride, s->pad, s->src_block > 1 ? s->src_block : 1, s->dst_block > 1 ? s->dst_block : 1);
}

/* Synthetic operands, sized for the net's largest convolution at batch n: finite values from a cheap hash (their
 * values do not change the kernels' speed). */
typedef struct {
  float *x, *w, *y, *dy, *dx, *dw;
} operands;

static int64_t floats(int n, int c, int h, int w, int block) {
  return (int64_t)n * scan_channel_blocks(c, block > 1 ? block : 1) * (block > 1 ? block : 1) * h * w;
}

static float *filled(int64_t count) {
  float *p = scan_malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
  if (p)
    for (int64_t i = 0; i < count; i++) p[i] = (float)(((uint32_t)i * 2654435761u) >> 22) / 1024.0f - 0.5f;
  return p;
}

static void operands_free(operands *o) { free(o->x), free(o->w), free(o->y), free(o->dy), free(o->dx), free(o->dw); }

static scan_status operands_make(const scan_net *net, int n, operands *o) {
  int64_t in = 0, out = 0, weights = 0;
  for (int i = 0; i < scan_net_conv_count(net); i++) {
    const scan_conv_shape s = scan_net_conv_layer(net, i, n).shape;
    const int64_t a = floats(n, s.in_c, s.in_h, s.in_w, s.src_block), b = floats(n, s.out_c, s.out_h, s.out_w, s.dst_block);
    const int64_t c = (int64_t)s.out_c * s.in_c * s.kernel * s.kernel;
    in = a > in ? a : in, out = b > out ? b : out, weights = c > weights ? c : weights;
  }
  *o = (operands){filled(in), filled(weights), filled(out), filled(out), filled(in), filled(weights)};
  if (o->x && o->w && o->y && o->dy && o->dx && o->dw) return SCAN_OK;
  operands_free(o);
  return scan_fail(SCAN_ERR_INTERNAL, "out of memory for timing the convolutions");
}

/* One training step's passes of layer (its shape's algo set) in seconds. */
static scan_status time_step(const scan_net *net, scan_conv_state **state, const scan_conv_layer *layer, operands *o,
                             double *seconds) {
  const scan_backend *be = net->backend;
  const double start = scan_now_seconds();
  SCAN_TRY(be->conv_forward(net->ctx, state, &layer->shape, o->x, o->w, o->y));
  SCAN_TRY(be->conv_backward_weights(net->ctx, state, &layer->shape, o->x, o->dy, o->dw));
  if (layer->data_gradient) SCAN_TRY(be->conv_backward_data(net->ctx, state, &layer->shape, o->dy, o->w, o->dx));
  *seconds = scan_now_seconds() - start;
  return SCAN_OK;
}

static int compare_doubles(const void *a, const void *b) {
  const double u = *(const double *)a, v = *(const double *)b;
  return (u > v) - (v > u);
}

/* The median milliseconds of `algo` on layer, or -1 when the backend cannot run it there. */
static scan_status time_algo(const scan_net *net, scan_conv_layer layer, scan_conv_algo algo, double best, operands *o,
                             double *ms) {
  layer.shape.algo = algo;
  *ms = -1;
  if (net->backend->conv_algo_check(net->ctx, &layer.shape) != SCAN_OK) {
    scan_error_clear();
    return SCAN_OK;
  }
  scan_conv_state *state = NULL;
  double seconds[REPEATS];
  int done = 0;
  scan_status st = time_step(net, &state, &layer, o, &seconds[0]); /* warm-up: primitives, scratch */
  while (st == SCAN_OK && done < REPEATS) {
    st = time_step(net, &state, &layer, o, &seconds[done++]);
    if (done == 1 && best > 0 && 1e5 * seconds[0] > GIVE_UP_PERCENT * best) break;
  }
  net->backend->conv_state_free(state);
  if (st != SCAN_OK) return st;
  qsort(seconds, (size_t)done, sizeof *seconds, compare_doubles);
  *ms = 1e3 * seconds[done / 2];
  return SCAN_OK;
}

/* Layer i at batch n, its algorithm left out (AUTO). */
static scan_conv_layer layer_at(const scan_net *net, int i, int n) {
  scan_conv_layer layer = scan_net_conv_layer(net, i, n);
  layer.shape.algo = SCAN_CONV_AUTO;
  return layer;
}

/* The first layer before i with the same shape and passes, or -1. */
static int same_as_earlier(const scan_net *net, int i, int n) {
  const scan_conv_layer layer = layer_at(net, i, n);
  for (int j = 0; j < i; j++) {
    const scan_conv_layer earlier = layer_at(net, j, n);
    if (earlier.data_gradient == layer.data_gradient && memcmp(&earlier.shape, &layer.shape, sizeof layer.shape) == 0)
      return j;
  }
  return -1;
}

static void log_layer(FILE *log, int i, int count, const scan_conv_layer *layer, const scan_conv_timing *t, int same_as) {
  if (!log) return;
  char shape[128];
  scan_conv_shape_text(&layer->shape, shape, sizeof shape);
  fprintf(log, "conv algorithm [%d/%d] %s (%s):", i + 1, count, layer->name, shape);
  for (int a = 1; a < SCAN_CONV_ALGO_COUNT; a++)
    if (t->ms[a] >= 0) fprintf(log, " %s %.2f ms", scan_conv_algo_name((scan_conv_algo)a), t->ms[a]);
  fprintf(log, " -> %s", scan_conv_algo_name(t->algo));
  if (same_as >= 0) fprintf(log, " (same shape as [%d])", same_as + 1);
  fprintf(log, "\n");
  fflush(log);
}

static scan_status tune_layer(scan_net *net, int i, int n, operands *o, scan_conv_timing *t) {
  const scan_conv_layer layer = layer_at(net, i, n);
  t->algo = SCAN_CONV_AUTO;
  double best = -1;
  for (int a = 0; a < SCAN_CONV_ALGO_COUNT; a++) t->ms[a] = -1;
  for (int a = 1; a < SCAN_CONV_ALGO_COUNT; a++) {
    SCAN_TRY(time_algo(net, layer, (scan_conv_algo)a, best, o, &t->ms[a]));
    if (t->ms[a] >= 0 && (best < 0 || t->ms[a] < best)) best = t->ms[a], t->algo = (scan_conv_algo)a;
  }
  if (best < 0) return scan_fail(SCAN_ERR_INPUT, "layer %s: the %s backend has no convolution algorithm to choose from", layer.name,
                                 net->backend->name);
  return SCAN_OK;
}

scan_status scan_net_tune_convolutions(scan_net *net, int n, FILE *log, scan_conv_timing *timings) {
  if (n < 1 || n > net->max_batch) return scan_fail(SCAN_ERR_INTERNAL, "conv tuning: batch %d is not 1..%d", n, net->max_batch);
  const int count = scan_net_conv_count(net);
  operands o;
  SCAN_TRY(operands_make(net, n, &o));
  scan_progress progress;
  scan_progress_start(&progress, "timing convolution algorithms", count, "layers");
  scan_status st = SCAN_OK;
  for (int i = 0; i < count && st == SCAN_OK; i++) {
    const int same_as = same_as_earlier(net, i, n);
    if (same_as >= 0) timings[i] = timings[same_as];
    else st = tune_layer(net, i, n, &o, &timings[i]);
    if (st == SCAN_OK) st = scan_net_set_conv_algo(net, i, timings[i].algo);
    const scan_conv_layer layer = layer_at(net, i, n);
    if (st == SCAN_OK) log_layer(log, i, count, &layer, &timings[i], same_as);
    scan_progress_update(&progress, i + 1);
  }
  scan_progress_finish(&progress);
  operands_free(&o);
  return st;
}
