/* Timing of whole training steps and inference on synthetic data, for `scan bench` (include/scan/nn_bench.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/conv_tune.h"
#include "scan/nn.h"
#include "scan/nn_bench.h"
#include "scan/optim.h"
#include "scan/progress.h"
#include "scan/rng.h"

static int g_conv_measure; /* scan_bench_set_conv_measure: one setting for the whole `scan bench` command */

void scan_bench_set_conv_measure(int measure) { g_conv_measure = measure != 0; }

static scan_status tune(scan_net *net, int batch) {
  scan_conv_timing *timings = scan_calloc((size_t)scan_net_conv_count(net) + 1, sizeof *timings);
  if (!timings) return scan_fail(SCAN_ERR_INTERNAL, "bench: out of memory");
  scan_status st = scan_net_tune_convolutions(net, batch, stderr, timings);
  free(timings);
  return st;
}

scan_status scan_bench_conv_tuning(const scan_backbone_config *b, const scan_head_config *h, int batch, double *seconds) {
  scan_net *net = NULL;
  SCAN_TRY(scan_net_create(&net, scan_context_default(), b, h, batch, 1));
  const double start = scan_now_seconds();
  scan_status st = tune(net, batch);
  *seconds = scan_now_seconds() - start;
  scan_net_free(net);
  return st;
}

typedef struct {
  scan_net *net;
  scan_optimizer *opt;
  float *input;
  float **d_heads;
} bench_setup;

static void bench_free(bench_setup *b) {
  if (b->d_heads)
    for (int h = 0; b->net && h < scan_net_num_heads(b->net); h++) free(b->d_heads[h]);
  free(b->d_heads);
  free(b->input);
  scan_optim_free(b->opt);
  scan_net_free(b->net);
}

static scan_status bench_init(bench_setup *b, const scan_backbone_config *bc, const scan_head_config *hc, int batch) {
  memset(b, 0, sizeof *b);
  SCAN_TRY(scan_net_create(&b->net, scan_context_default(), bc, hc, batch, 1));
  if (g_conv_measure) SCAN_TRY(tune(b->net, batch));
  const int64_t in = (int64_t)batch * bc->in_channels * bc->height * bc->width;
  const int heads = scan_net_num_heads(b->net), dim = scan_net_head_dim(b->net);
  b->input = scan_malloc((size_t)in * sizeof(float));
  b->d_heads = scan_calloc((size_t)(heads ? heads : 1), sizeof *b->d_heads);
  if (!b->input || !b->d_heads) return scan_fail(SCAN_ERR_INTERNAL, "bench: out of memory");
  scan_rng r = scan_rng_make(7, 0, 0);
  for (int64_t i = 0; i < in; i++) b->input[i] = (float)scan_rng_normal(&r);
  for (int h = 0; h < heads; h++) {
    b->d_heads[h] = scan_malloc((size_t)batch * dim * sizeof(float));
    if (!b->d_heads[h]) return scan_fail(SCAN_ERR_INTERNAL, "bench: out of memory");
    for (int64_t i = 0; i < (int64_t)batch * dim; i++) b->d_heads[h][i] = (float)(1e-3 * scan_rng_normal(&r));
  }
  scan_optim_config sgd = {.kind = SCAN_OPT_SGD, .lr = 1e-3, .momentum = 0.9, .weight_decay = 1e-4, .nesterov = 1};
  return scan_optim_create(&b->opt, b->net, &sgd, NULL, 0);
}

static scan_status train_step(bench_setup *b, int batch) {
  scan_net_zero_grad(b->net);
  SCAN_TRY(scan_net_forward(b->net, b->input, batch, 1));
  const float *zero_features = NULL;
  SCAN_TRY(scan_net_backward(b->net, (const float *const *)b->d_heads, zero_features));
  return scan_optim_step(b->opt);
}

static scan_status run_bench(const scan_backbone_config *bc, const scan_head_config *hc, int batch, int repeats,
                             double *seconds_out, int training) {
  bench_setup b;
  scan_status st = bench_init(&b, bc, hc, batch);
  for (int r = -1; st == SCAN_OK && r < repeats; r++) { /* r = -1: warm-up (primitive creation) */
    double t0 = scan_now_seconds();
    st = training ? train_step(&b, batch) : scan_net_infer(b.net, b.input, batch);
    if (r >= 0) seconds_out[r] = scan_now_seconds() - t0;
  }
  bench_free(&b);
  return st;
}

scan_status scan_bench_train_step(const scan_backbone_config *b, const scan_head_config *h, int batch, int repeats, double *seconds_out) {
  return run_bench(b, h, batch, repeats, seconds_out, 1);
}

scan_status scan_bench_inference(const scan_backbone_config *b, const scan_head_config *h, int batch, int repeats, double *seconds_out) {
  return run_bench(b, h, batch, repeats, seconds_out, 0);
}

/* The share of each op kind ("conv", "bn+relu", ...: the label's first word) in `total` seconds, on one line. */
static void print_kind_shares(FILE *out, const scan_net *net, double total, double optimizer_s) {
  char kinds[16][16];
  double seconds[16];
  int count = 0;
  for (int i = 0; i < scan_net_profile_count(net); i++) {
    scan_op_time t = scan_net_profile_entry(net, i);
    char kind[16];
    sscanf(t.label, "%15s", kind);
    int k = 0;
    while (k < count && strcmp(kinds[k], kind) != 0) k++;
    if (k == count && count < 16) {
      snprintf(kinds[count], sizeof kinds[count], "%s", kind);
      seconds[count++] = 0;
    }
    if (k < count) seconds[k] += t.forward_s + t.backward_s;
  }
  double timed = optimizer_s;
  fprintf(out, "by kind:");
  for (int k = 0; k < count; k++) {
    fprintf(out, " %s %.1f%%,", kinds[k], 100 * seconds[k] / total);
    timed += seconds[k];
  }
  fprintf(out, " optimizer %.1f%%, the rest (zeroing gradients, between ops) %.1f%%\n", 100 * optimizer_s / total,
          100 * (total - timed) / total);
}

scan_status scan_bench_train_profile(const scan_backbone_config *bc, const scan_head_config *hc, int batch, int repeats,
                                     FILE *out, double *seconds_out) {
  bench_setup b;
  scan_status st = bench_init(&b, bc, hc, batch);
  if (st == SCAN_OK) st = train_step(&b, batch); /* warm-up: primitive creation */
  if (st == SCAN_OK) st = scan_net_set_profiling(b.net, 1);
  double optimizer_s = 0, total = 0;
  for (int r = 0; st == SCAN_OK && r < repeats; r++) {
    const double start = scan_now_seconds();
    scan_net_zero_grad(b.net);
    st = scan_net_forward(b.net, b.input, batch, 1);
    if (st == SCAN_OK) st = scan_net_backward(b.net, (const float *const *)b.d_heads, NULL);
    const double step_start = scan_now_seconds();
    if (st == SCAN_OK) st = scan_optim_step(b.opt);
    const double end = scan_now_seconds();
    optimizer_s += end - step_start;
    total += end - start;
    seconds_out[r] = end - start;
  }
  if (st == SCAN_OK) {
    const double per_step = 1e3 / repeats;
    fprintf(out, "profile: one training step at batch %d, ms per step (mean of %d steps; %.2f ms in all)\n", batch, repeats,
            total * per_step);
    fprintf(out, "%-52s %9s %9s %9s %6s\n", "op", "forward", "backward", "both", "share");
    for (int i = 0; i < scan_net_profile_count(b.net); i++) {
      scan_op_time t = scan_net_profile_entry(b.net, i);
      fprintf(out, "%-52s %9.3f %9.3f %9.3f %5.1f%%\n", t.label, t.forward_s * per_step, t.backward_s * per_step,
              (t.forward_s + t.backward_s) * per_step, 100 * (t.forward_s + t.backward_s) / total);
    }
    fprintf(out, "%-52s %9s %9s %9.3f %5.1f%%\n", "optimizer step", "", "", optimizer_s * per_step, 100 * optimizer_s / total);
    print_kind_shares(out, b.net, total, optimizer_s);
  }
  bench_free(&b);
  return st;
}
