/* The per-op profile (scan_net_set_profiling) and `scan bench`'s profile printer: one entry per op plus the heads,
 * labelled with what the op is; each pass's time lands in its own column and sums to no more than the wall time
 * around the calls; inference adds nothing; turning it on again resets the totals; profiling changes no result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/nn.h"
#include "scan/nn_bench.h"
#include "scan/progress.h"
#include "scan/rng.h"
#include "testlib.h"

static const scan_backbone_config vgg = {.kind = SCAN_BACKBONE_VGG, .in_channels = 1, .height = 28, .width = 28,
                                         .width_multiplier = 1, .vgg_widths = {16, 32, 64}, .vgg_stages = 3};
static const scan_head_config mlp = {.kind = SCAN_HEAD_MLP, .num_heads = 1, .features_dim = 128};

static double total_seconds(const scan_net *net, int pass) {
  double sum = 0;
  for (int i = 0; i < scan_net_profile_count(net); i++) {
    scan_op_time t = scan_net_profile_entry(net, i);
    sum += pass ? t.backward_s : t.forward_s;
  }
  return sum;
}

static void test_profile_entries(void) {
  const int n = 4;
  scan_net *net = NULL, *plain = NULL;
  CHECK(scan_net_create(&net, scan_context_default(), &vgg, &mlp, n, 3) == SCAN_OK);
  CHECK(scan_net_create(&plain, scan_context_default(), &vgg, &mlp, n, 3) == SCAN_OK);
  float *x = scan_malloc(n * 28 * 28 * sizeof(float)), *d = scan_malloc(n * 128 * sizeof(float));
  scan_rng r = scan_rng_make(5, 0, 0);
  for (int i = 0; i < n * 28 * 28; i++) x[i] = (float)scan_rng_normal(&r);
  for (int i = 0; i < n * 128; i++) d[i] = (float)scan_rng_normal(&r);
  const float *heads[1] = {d};

  /* Off: every entry is labelled, no time is kept. The VGG: 3 stages of 2 x (conv, bn+relu), a max-pool between
     stages, average pooling: 15 ops, then the heads. */
  CHECK(scan_net_profile_count(net) == 16);
  scan_op_time first = scan_net_profile_entry(net, 0), last = scan_net_profile_entry(net, 15);
  CHECK_MSG(strncmp(first.label, "conv backbone.features.0 1->16 28x28 s1", 39) == 0, "%s", first.label);
  CHECK_MSG(strcmp(scan_net_profile_entry(net, 1).label, "bn+relu 16 28x28") == 0, "%s", scan_net_profile_entry(net, 1).label);
  CHECK_MSG(strcmp(scan_net_profile_entry(net, 4).label, "maxpool 16 28x28->14x14") == 0, "%s", scan_net_profile_entry(net, 4).label);
  CHECK_MSG(strcmp(scan_net_profile_entry(net, 14).label, "avgpool 64 7x7") == 0, "%s", scan_net_profile_entry(net, 14).label);
  CHECK_MSG(strcmp(last.label, "heads (1)") == 0, "%s", last.label);
  CHECK(first.forward_s == 0 && last.backward_s == 0);

  /* On: each training pass fills its own column, within the wall time around it. */
  CHECK(scan_net_set_profiling(net, 1) == SCAN_OK);
  double start = scan_now_seconds();
  CHECK(scan_net_forward(net, x, n, 1) == SCAN_OK);
  const double forward_wall = scan_now_seconds() - start;
  CHECK(total_seconds(net, 1) == 0);
  const double forward_sum = total_seconds(net, 0);
  CHECK_MSG(forward_sum > 0 && forward_sum <= forward_wall, "ops %g s, wall %g s", forward_sum, forward_wall);
  start = scan_now_seconds();
  CHECK(scan_net_backward(net, heads, NULL) == SCAN_OK);
  const double backward_wall = scan_now_seconds() - start;
  const double backward_sum = total_seconds(net, 1);
  CHECK_MSG(backward_sum > 0 && backward_sum <= backward_wall, "ops %g s, wall %g s", backward_sum, backward_wall);
  CHECK(total_seconds(net, 0) == forward_sum);
  for (int i = 0; i < scan_net_profile_count(net); i++) {
    scan_op_time t = scan_net_profile_entry(net, i);
    CHECK_MSG(t.forward_s > 0 && t.backward_s > 0, "entry %d (%s): %g / %g s", i, t.label, t.forward_s, t.backward_s);
  }
  /* The same outputs as a net without the profile. */
  CHECK(scan_net_forward(plain, x, n, 1) == SCAN_OK);
  CHECK(memcmp(scan_net_head_output(net, 0), scan_net_head_output(plain, 0), n * 128 * sizeof(float)) == 0);
  /* Inference (fused ops) adds nothing; a second training forward adds to the totals. */
  CHECK(scan_net_infer(net, x, n) == SCAN_OK && total_seconds(net, 0) == forward_sum);
  CHECK(scan_net_forward(net, x, n, 1) == SCAN_OK && total_seconds(net, 0) > forward_sum);
  /* Turning it on again starts from zero; off keeps nothing. */
  CHECK(scan_net_set_profiling(net, 1) == SCAN_OK && total_seconds(net, 0) == 0 && total_seconds(net, 1) == 0);
  CHECK(scan_net_set_profiling(net, 0) == SCAN_OK && scan_net_forward(net, x, n, 1) == SCAN_OK && total_seconds(net, 0) == 0);
  CHECK(scan_net_profile_entry(net, -1).label[0] == 0 && scan_net_profile_entry(net, 16).label[0] == 0);
  free(x), free(d);
  scan_net_free(net);
  scan_net_free(plain);
}

/* The bench's printer: a line per entry, the optimiser, the kind shares; each step's time returned. */
static void test_profile_printer(void) {
  char *text = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&text, &size);
  double seconds[2] = {0, 0};
  CHECK(scan_bench_train_profile(&vgg, &mlp, 8, 2, out, seconds) == SCAN_OK);
  fclose(out);
  CHECK(seconds[0] > 0 && seconds[1] > 0);
  CHECK_MSG(strstr(text, "one training step at batch 8") && strstr(text, "conv backbone.features.0 1->16") &&
                strstr(text, "bn+relu 64 7x7") && strstr(text, "heads (1)") && strstr(text, "optimizer step") &&
                strstr(text, "by kind: conv "),
            "%s", text);
  free(text);
}

int main(void) {
  test_profile_entries();
  test_profile_printer();
  scan_context_close_default();
  return test_main_end();
}
