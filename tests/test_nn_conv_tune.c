/* Choosing convolution algorithms by measurement, on a narrow ResNet-18 (3x3 stride 1 and 2, 1x1 shortcuts: every
 * algorithm has a layer to run) at batch 8:
 *  - the tuner gives every layer an algorithm the backend runs there, the fastest of those it timed, and the same one
 *    to layers of the same shape; only algorithms that run a layer have times;
 *  - the tuned net trains like the rule's: features and weight gradients within float rounding of each other;
 *  - the plan file round trip: a fresh net takes the same algorithms; a net at another batch, a file that is not a
 *    plan, and a missing file are refused naming the file;
 *  - the naive backend has nothing to choose from: a clear error. */
#include <stdlib.h>
#include <string.h>

#include "scan/conv_plan.h"
#include "scan/rng.h"
#include "testlib.h"

enum { BATCH = 8 };

static const scan_backbone_config resnet = {.kind = SCAN_BACKBONE_RESNET18_CIFAR, .in_channels = 3, .height = 16, .width = 16,
                                            .width_multiplier = 0.125};
static const scan_head_config head = {.kind = SCAN_HEAD_MLP, .features_dim = 8};

static scan_net *make_net(int batch) {
  scan_net *net = NULL;
  CHECK(scan_net_create(&net, scan_context_default(), &resnet, &head, batch, 5) == SCAN_OK);
  return net;
}

static void check_choices(scan_net *net, const scan_conv_timing *timings) {
  const scan_backend *be = scan_context_backend(scan_context_default());
  for (int i = 0; i < scan_net_conv_count(net); i++) {
    const scan_conv_layer layer = scan_net_conv_layer(net, i, BATCH);
    CHECK_MSG(layer.shape.algo == (int)timings[i].algo && layer.shape.algo != SCAN_CONV_AUTO, "%s: algorithm %d", layer.name,
              layer.shape.algo);
    CHECK_MSG(be->conv_algo_check(scan_context_default(), &layer.shape) == SCAN_OK, "%s: %s", layer.name, scan_error_message());
    for (int a = 1; a < SCAN_CONV_ALGO_COUNT; a++) {
      scan_conv_shape s = layer.shape;
      s.algo = a;
      const int runs = be->conv_algo_check(scan_context_default(), &s) == SCAN_OK;
      scan_error_clear();
      CHECK_MSG(runs == (timings[i].ms[a] >= 0), "%s: %s timed %g ms, runs %d", layer.name, scan_conv_algo_name(a),
                timings[i].ms[a], runs);
      CHECK_MSG(timings[i].ms[a] < 0 || timings[i].ms[timings[i].algo] <= timings[i].ms[a], "%s: %s is faster than the choice",
                layer.name, scan_conv_algo_name(a));
    }
    for (int j = 0; j < i; j++) { /* layers of one shape: one choice */
      scan_conv_layer earlier = scan_net_conv_layer(net, j, BATCH), now = layer;
      earlier.shape.algo = now.shape.algo = 0;
      if (earlier.data_gradient == now.data_gradient && memcmp(&earlier.shape, &now.shape, sizeof now.shape) == 0)
        CHECK_MSG(timings[i].algo == timings[j].algo, "%s and %s: same shape, other algorithms", layer.name, earlier.name);
    }
  }
}

/* One training step's features and gradients of net on the same inputs. */
static void train_step(scan_net *net, const float *input, const float *d_head, float *features, float *grads) {
  int64_t floats = 0;
  scan_net_zero_grad(net);
  CHECK(scan_net_forward(net, input, BATCH, 1) == SCAN_OK);
  memcpy(features, scan_net_features(net), sizeof(float) * BATCH * scan_net_feature_dim(net));
  const float *d_heads[1] = {d_head};
  CHECK(scan_net_backward(net, d_heads, NULL) == SCAN_OK);
  const float *g = scan_net_grad_block(net, &floats);
  memcpy(grads, g, sizeof(float) * (size_t)floats);
}

static void check_trains_like_the_rule(scan_net *tuned) {
  scan_net *rule = make_net(BATCH);
  int64_t floats = 0;
  scan_net_grad_block(rule, &floats);
  const int64_t in = (int64_t)BATCH * 3 * 16 * 16, out = (int64_t)BATCH * scan_net_feature_dim(rule);
  float *input = test_randn(3, in, 1), *d_head = test_randn(3, (int64_t)BATCH * 8, 2);
  float *f1 = malloc(out * 4), *f2 = malloc(out * 4), *g1 = malloc(floats * 4), *g2 = malloc(floats * 4);
  train_step(rule, input, d_head, f1, g1);
  train_step(tuned, input, d_head, f2, g2);
  /* ~1e-5 relative per Winograd layer (README), through 20 layers and batch-norms: 1e-3 */
  CHECK_MSG(test_max_rel_diff(f2, f1, out) < 1e-3, "features: %g", test_max_rel_diff(f2, f1, out));
  CHECK_MSG(test_max_rel_diff(g2, g1, floats) < 1e-3, "gradients: %g", test_max_rel_diff(g2, g1, floats));
  free(input), free(d_head), free(f1), free(f2), free(g1), free(g2);
  scan_net_free(rule);
}

static void check_plan_file(scan_net *tuned, const scan_conv_timing *timings) {
  char path[512], other[512];
  snprintf(path, sizeof path, "%s/conv_plan.json", test_tmpdir());
  CHECK(scan_conv_plan_write(path, tuned, BATCH, timings) == SCAN_OK);
  scan_net *fresh = make_net(BATCH);
  CHECK_MSG(scan_conv_plan_apply(path, fresh, BATCH, NULL) == SCAN_OK, "%s", scan_error_message());
  for (int i = 0; i < scan_net_conv_count(fresh); i++)
    CHECK(scan_net_conv_layer(fresh, i, 1).shape.algo == scan_net_conv_layer(tuned, i, 1).shape.algo);
  scan_net_free(fresh);
  scan_net *smaller = make_net(BATCH / 2);
  CHECK(scan_conv_plan_apply(path, smaller, BATCH / 2, NULL) == SCAN_ERR_INPUT && strstr(scan_error_message(), path) &&
        strstr(scan_error_message(), "was measured as n8"));
  snprintf(other, sizeof other, "%s/not_a_plan.json", test_tmpdir());
  test_write_file(other, "{\"format\": 2}", 13);
  CHECK(scan_conv_plan_apply(other, smaller, BATCH / 2, NULL) == SCAN_ERR_INPUT && strstr(scan_error_message(), "not a convolution plan"));
  snprintf(other, sizeof other, "%s/missing.json", test_tmpdir());
  CHECK(scan_conv_plan_apply(other, smaller, BATCH / 2, NULL) == SCAN_ERR_INPUT && strstr(scan_error_message(), "missing.json"));
  scan_net_free(smaller);
}

static void check_naive_has_no_choice(void) {
  scan_context_settings settings;
  CHECK(scan_context_settings_from_env(&settings) == SCAN_OK);
  settings.backend = scan_backend_naive();
  scan_context *ctx = NULL;
  CHECK(scan_context_create(&ctx, &settings) == SCAN_OK);
  scan_net *net = NULL;
  CHECK(scan_net_create(&net, ctx, &resnet, &head, 2, 5) == SCAN_OK);
  scan_conv_timing timings[32];
  CHECK(scan_net_tune_convolutions(net, 2, NULL, timings) == SCAN_ERR_INPUT &&
        strstr(scan_error_message(), "no convolution algorithm to choose from"));
  scan_net_free(net);
  scan_context_free(ctx);
}

int main(void) {
  scan_net *net = make_net(BATCH);
  const int count = scan_net_conv_count(net);
  CHECK(count == 20); /* the stem, 16 3x3 in the blocks, 3 shortcuts */
  scan_conv_timing *timings = calloc((size_t)count, sizeof *timings);
  CHECK_MSG(scan_net_tune_convolutions(net, BATCH, NULL, timings) == SCAN_OK, "%s", scan_error_message());
  check_choices(net, timings);
  check_trains_like_the_rule(net);
  check_plan_file(net, timings);
  free(timings);
  scan_net_free(net);
  check_naive_has_no_choice();
  return test_main_end();
}
