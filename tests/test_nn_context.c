/* Contexts (include/scan/context.h) and several nets in one process:
 *  - two nets of different shapes created in one context and trained alternately (forward, backward, SGD step; then
 *    an inference)
 *    give the same bits as each alone in a fresh context: the context's scratch is shared, sized for the larger, and
 *    no net leaves anything in it that another reads. Once in the environment's context (16-channel blocks on
 *    AVX-512: oneDNN's kernels and its workspace) and once with 8-channel blocks (scan's Winograd and patch kernels
 *    and their scratch);
 *  - a convolution while another pass holds the context is refused with a message saying why;
 *  - the environment's settings: defaults, known values, and a message naming a bad value;
 *  - a context asking for another ISA cap than the process's is refused;
 *  - the thread count is the context's: creating a net leaves OpenMP's alone. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../src/tensor/context_internal.h"
#include "scan/nn.h"
#include "scan/optim.h"
#include "testlib.h"

enum { STEPS = 3 };

/* What a run records: every step's head outputs, features, parameter gradients and input gradient, then the
 * inference outputs, one after the other. */
typedef struct {
  float *values;
  size_t count, capacity;
} trace;

static void record(trace *t, const float *v, int64_t count) {
  if (t->count + (size_t)count > t->capacity) {
    t->capacity = (t->count + (size_t)count) * 2;
    t->values = realloc(t->values, t->capacity * sizeof *t->values);
  }
  memcpy(t->values + t->count, v, (size_t)count * sizeof *v);
  t->count += (size_t)count;
}

typedef struct {
  scan_backbone_config backbone;
  scan_head_config head;
  int batch;
  uint64_t seed;
} net_spec;

/* A tiny ResNet-18 on 12x12 RGB, two cluster heads, batch 4; a VGG on 16x16 grey with an MLP head, batch 6: other
 * layer shapes, other scratch sizes. */
static const net_spec resnet_spec = {
    .backbone = {.kind = SCAN_BACKBONE_RESNET18_CIFAR, .in_channels = 3, .height = 12, .width = 12, .width_multiplier = 1.0 / 16},
    .head = {.kind = SCAN_HEAD_CLUSTER, .num_heads = 2, .num_classes = 5},
    .batch = 4,
    .seed = 21};
static const net_spec vgg_spec = {
    .backbone = {.kind = SCAN_BACKBONE_VGG, .in_channels = 1, .height = 16, .width = 16, .width_multiplier = 1,
                 .vgg_widths = {8, 24, 40}, .vgg_stages = 3},
    .head = {.kind = SCAN_HEAD_MLP, .features_dim = 16},
    .batch = 6,
    .seed = 22};

typedef struct {
  const net_spec *spec;
  scan_net *net;
  scan_optimizer *opt;
  int64_t input_floats;
  trace out;
} runner;

static void runner_open(runner *r, scan_context *ctx, const net_spec *spec) {
  memset(r, 0, sizeof *r);
  r->spec = spec;
  r->input_floats = (int64_t)spec->batch * spec->backbone.in_channels * spec->backbone.height * spec->backbone.width;
  CHECK(scan_net_create(&r->net, ctx, &spec->backbone, &spec->head, spec->batch, spec->seed) == SCAN_OK);
  if (!r->net) return;
  scan_net_want_input_grad(r->net, 1);
  const scan_optim_config sgd = {.kind = SCAN_OPT_SGD, .lr = 0.05, .momentum = 0.9, .weight_decay = 1e-4};
  CHECK(scan_optim_create(&r->opt, r->net, &sgd, NULL, 0) == SCAN_OK);
}

static void runner_close(runner *r) {
  scan_optim_free(r->opt);
  scan_net_free(r->net);
  free(r->out.values);
}

/* Step `step` of a run: training forward, backward and an SGD step on inputs and head gradients of its own (from
 * the step and the spec's seed), or, after the last step, an inference forward. */
static void runner_step(runner *r, int step) {
  scan_net *net = r->net;
  if (!net) return;
  const int n = r->spec->batch, heads = scan_net_num_heads(net), dim = scan_net_head_dim(net);
  float *x = test_randn(r->spec->seed, r->input_floats, (uint64_t)step);
  if (step == STEPS) {
    CHECK(scan_net_infer(net, x, n) == SCAN_OK);
    for (int h = 0; h < heads; h++) record(&r->out, scan_net_head_output(net, h), (int64_t)n * dim);
    record(&r->out, scan_net_features(net), (int64_t)n * scan_net_feature_dim(net));
    free(x);
    return;
  }
  float *d_heads[4] = {NULL};
  for (int h = 0; h < heads; h++) d_heads[h] = test_randn(r->spec->seed, (int64_t)n * dim, 100 + (uint64_t)(step * 4 + h));
  scan_net_zero_grad(net);
  CHECK_MSG(scan_net_forward(net, x, n, 1) == SCAN_OK, "%s", scan_error_message());
  for (int h = 0; h < heads; h++) record(&r->out, scan_net_head_output(net, h), (int64_t)n * dim);
  record(&r->out, scan_net_features(net), (int64_t)n * scan_net_feature_dim(net));
  CHECK(scan_net_backward(net, (const float *const *)d_heads, NULL) == SCAN_OK);
  for (int i = 0; i < scan_net_param_count(net); i++) {
    const scan_param *p = scan_net_param(net, i);
    record(&r->out, p->grad ? p->grad : p->data, scan_param_numel(p)); /* buffers: the running statistics */
  }
  CHECK(scan_net_input_grad(net) != NULL);
  if (scan_net_input_grad(net)) record(&r->out, scan_net_input_grad(net), r->input_floats);
  if (r->opt) CHECK(scan_optim_step(r->opt) == SCAN_OK);
  for (int h = 0; h < heads; h++) free(d_heads[h]);
  free(x);
}

static int same_bits(const trace *a, const trace *b) {
  return a->count == b->count && a->count > 0 && memcmp(a->values, b->values, a->count * sizeof *a->values) == 0;
}

static scan_context *fresh_context(int block) {
  scan_context_settings settings;
  CHECK(scan_context_settings_from_env(&settings) == SCAN_OK);
  if (block) settings.onednn_block = block;
  scan_context *ctx = NULL;
  CHECK_MSG(scan_context_create(&ctx, &settings) == SCAN_OK, "%s", scan_error_message());
  return ctx;
}

/* Each net alone in a fresh context, then both in one context, steps interleaved. block: the oneDNN backend's
 * activation block (0: the environment's). */
static void test_two_nets_alternately(int block) {
  runner alone[2], both[2];
  const net_spec *specs[2] = {&resnet_spec, &vgg_spec};
  for (int k = 0; k < 2; k++) {
    scan_context *ctx = fresh_context(block);
    if (!ctx) return;
    runner_open(&alone[k], ctx, specs[k]);
    for (int step = 0; step <= STEPS; step++) runner_step(&alone[k], step);
    scan_optim_free(alone[k].opt);
    scan_net_free(alone[k].net);
    alone[k].opt = NULL;
    alone[k].net = NULL;
    scan_context_free(ctx);
  }
  scan_context *shared = fresh_context(block);
  if (!shared) return;
  printf("activation block %d\n", scan_context_block(shared));
  for (int k = 0; k < 2; k++) runner_open(&both[k], shared, specs[k]);
  for (int step = 0; step <= STEPS; step++)
    for (int k = 0; k < 2; k++) runner_step(&both[k], step);
  for (int k = 0; k < 2; k++) {
    CHECK_MSG(same_bits(&both[k].out, &alone[k].out), "block %d: the %s net beside another differs from the net alone", block,
              k ? "VGG" : "ResNet");
    runner_close(&both[k]);
    runner_close(&alone[k]);
  }
  scan_context_free(shared);
}

/* A pass while the context's buffers are held by another (what two threads driving nets of one context would do)
 * fails with a message that says so, and the context works again once they are released. (The naive backend uses no
 * buffer of the context, so it has nothing to refuse.) */
static void test_overlapping_pass_refused(void) {
  scan_context *ctx = fresh_context(0);
  if (!ctx) return;
  if (scan_context_backend(ctx) == scan_backend_naive()) {
    scan_context_free(ctx);
    return;
  }
  runner r;
  runner_open(&r, ctx, &resnet_spec);
  float *x = test_randn(1, r.input_floats, 0);
  CHECK(context_claim(ctx) == SCAN_OK);
  CHECK(scan_net_forward(r.net, x, resnet_spec.batch, 0) == SCAN_ERR_INTERNAL);
  CHECK_MSG(strstr(scan_error_message(), "one at a time") != NULL, "message: %s", scan_error_message());
  context_release(ctx);
  CHECK(scan_net_forward(r.net, x, resnet_spec.batch, 0) == SCAN_OK);
  free(x);
  runner_close(&r);
  scan_context_free(ctx);
}

static void test_settings_from_env(void) {
  const char *names[] = {"SCAN_BACKEND", "SCAN_ISA", "SCAN_ONEDNN_BLOCK"};
  char *kept[3];
  for (int i = 0; i < 3; i++) {
    const char *v = getenv(names[i]);
    kept[i] = v ? strdup(v) : NULL;
    unsetenv(names[i]);
  }
  scan_context_settings s;
  CHECK(scan_context_settings_from_env(&s) == SCAN_OK && !s.backend && !s.isa_avx2 && !s.onednn_block);
  setenv("SCAN_BACKEND", "naive", 1);
  setenv("SCAN_ISA", "avx2", 1);
  setenv("SCAN_ONEDNN_BLOCK", "16", 1);
  CHECK(scan_context_settings_from_env(&s) == SCAN_OK && s.backend == scan_backend_naive() && s.isa_avx2 && s.onednn_block == 16);
  setenv("SCAN_BACKEND", "onednn", 1);
  setenv("SCAN_ISA", "native", 1);
  setenv("SCAN_ONEDNN_BLOCK", "", 1); /* empty reads as unset */
  CHECK(scan_context_settings_from_env(&s) == SCAN_OK && !s.backend && !s.isa_avx2 && !s.onednn_block);
  const char *bad[3][2] = {{"SCAN_BACKEND", "nave"}, {"SCAN_ISA", "avx1024"}, {"SCAN_ONEDNN_BLOCK", "7"}};
  for (int i = 0; i < 3; i++) {
    setenv(bad[i][0], bad[i][1], 1);
    CHECK(scan_context_settings_from_env(&s) == SCAN_ERR_INPUT);
    CHECK_MSG(strstr(scan_error_message(), bad[i][0]) && strstr(scan_error_message(), bad[i][1]), "message: %s",
              scan_error_message());
    unsetenv(bad[i][0]);
  }
  for (int i = 0; i < 3; i++) {
    if (kept[i]) setenv(names[i], kept[i], 1);
    else unsetenv(names[i]);
    free(kept[i]);
  }
}

/* The cap is the process's (the default context applied the environment's): another is refused. */
static void test_other_cap_refused(void) {
  scan_context_settings s;
  CHECK(scan_context_settings_from_env(&s) == SCAN_OK);
  s.isa_avx2 = !s.isa_avx2;
  scan_context *ctx = NULL;
  CHECK(scan_context_create(&ctx, &s) == SCAN_ERR_INPUT && ctx == NULL);
  CHECK_MSG(strstr(scan_error_message(), "SCAN_ISA") != NULL, "message: %s", scan_error_message());
}

/* Threads are set on the context; making a net does not touch them. */
static void test_threads(void) {
  scan_context *ctx = scan_context_default();
  scan_context_set_threads(ctx, 1);
  CHECK(scan_context_threads(ctx) == 1 && omp_get_max_threads() == 1);
  scan_context_set_threads(ctx, 2);
  runner r;
  runner_open(&r, ctx, &vgg_spec);
  CHECK(scan_context_threads(ctx) == 2 && omp_get_max_threads() == 2);
  runner_close(&r);
  scan_context_set_threads(ctx, 0); /* keeps the count */
  CHECK(scan_context_threads(ctx) == 2);
}

int main(void) {
  CHECK(scan_context_default() != NULL); /* the environment's, as the program opens it */
  test_two_nets_alternately(0);
  test_two_nets_alternately(8);
  test_overlapping_pass_refused();
  test_settings_from_env();
  test_other_cap_refused();
  test_threads();
  scan_context_close_default();
  return test_main_end();
}
