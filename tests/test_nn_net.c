/* Networks end to end: shapes and parameter counts of every backbone (against PyTorch's known counts),
 * the oneDNN net against the naive-backend net, input gradients against finite differences, heads on cached
 * features, checkpoints (round trip and the messages for wrong files), optimiser/schedule/EMA arithmetic,
 * Grad-CAM stage access (the stage gradient unmasked by the ReLU, against its closed form) and reproducibility. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/nn.h"
#include "scan/optim.h"
#include "scan/rng.h"
#include "testlib.h"

static int light;

/* A second context whose nets run on the naive backend, with the environment's other settings (the ISA cap is the
 * process's: a context must ask for the one the default applied). */
static scan_context *g_naive;
static scan_context *naive_context(void) {
  if (!g_naive) {
    scan_context_settings settings;
    CHECK(scan_context_settings_from_env(&settings) == SCAN_OK);
    settings.backend = scan_backend_naive();
    CHECK(scan_context_create(&g_naive, &settings) == SCAN_OK);
  }
  return g_naive;
}

static float *randn(int64_t count, uint64_t stream, double scale) {
  float *v = malloc((size_t)count * sizeof *v);
  scan_rng r = scan_rng_make(99, stream, 0);
  for (int64_t i = 0; i < count; i++) v[i] = (float)(scale * scan_rng_normal(&r));
  return v;
}

static int64_t trainable_floats(const scan_net *net, int heads) {
  int64_t total = 0;
  for (int i = 0; i < scan_net_param_count(net); i++) {
    const scan_param *p = scan_net_param(net, i);
    if (!p->is_buffer && (heads || !p->is_head)) total += scan_param_numel(p);
  }
  return total;
}

static void test_shapes_and_counts(void) {
  scan_net *net;
  scan_head_config none = {.kind = SCAN_HEAD_NONE};
  /* PyTorch: resnet18 CIFAR backbone 11,168,832 parameters; torchvision resnet50 without fc 23,508,032 */
  scan_backbone_config r18 = {.kind = SCAN_BACKBONE_RESNET18_CIFAR, .in_channels = 3, .height = 32, .width = 32, .width_multiplier = 1};
  CHECK(scan_net_create(&net, scan_context_default(), &r18, &none, 1, 1) == SCAN_OK);
  CHECK(trainable_floats(net, 0) == 11168832);
  CHECK(scan_net_feature_dim(net) == 512);
  CHECK(scan_net_num_heads(net) == 0);
  const scan_param *p = scan_net_find_param(net, "backbone.layer2.0.shortcut.0.weight");
  CHECK(p && p->ndim == 4 && p->shape[0] == 128 && p->shape[1] == 64 && p->shape[2] == 1);
  p = scan_net_find_param(net, "backbone.bn1.num_batches_tracked");
  CHECK(p && p->is_buffer && p->ndim == 0 && p->grad == NULL);
  CHECK(scan_net_find_param(net, "backbone.layer1.0.shortcut.0.weight") == NULL);
  scan_net_free(net);

  scan_backbone_config r50 = {.kind = SCAN_BACKBONE_RESNET50, .in_channels = 3, .height = 32, .width = 32, .width_multiplier = 1};
  scan_head_config mlp = {.kind = SCAN_HEAD_MLP, .features_dim = 128};
  if (light) r50.width_multiplier = 0.25; /* sanitizer runs: 25 M parameters initialise slowly */
  CHECK(scan_net_create(&net, scan_context_default(), &r50, &mlp, 1, 1) == SCAN_OK);
  CHECK(light || trainable_floats(net, 0) == 23508032);
  const int r50_dim = light ? 512 : 2048;
  CHECK(scan_net_feature_dim(net) == r50_dim);
  p = scan_net_find_param(net, "contrastive_head.2.weight");
  CHECK(p && p->is_head && p->shape[0] == 128 && p->shape[1] == r50_dim);
  CHECK(scan_net_find_param(net, "backbone.layer3.0.downsample.1.running_var") != NULL);
  scan_net_free(net);

  /* VGG 16-32-64 on 28x28x1: Sequential numbering conv 0, bn 1, relu 2, conv 3, bn 4, relu 5, pool 6, conv 7 ... */
  scan_backbone_config vgg = {.kind = SCAN_BACKBONE_VGG, .in_channels = 1, .height = 28, .width = 28, .width_multiplier = 1,
                              .vgg_widths = {16, 32, 64}, .vgg_stages = 3};
  scan_head_config cluster = {.kind = SCAN_HEAD_CLUSTER, .num_heads = 3, .num_classes = 10};
  CHECK(scan_net_create(&net, scan_context_default(), &vgg, &cluster, 2, 1) == SCAN_OK);
  CHECK(scan_net_feature_dim(net) == 64);
  CHECK(scan_net_num_heads(net) == 3 && scan_net_head_dim(net) == 10);
  p = scan_net_find_param(net, "backbone.features.7.weight");
  CHECK(p && p->shape[0] == 32 && p->shape[1] == 16);
  CHECK(scan_net_find_param(net, "backbone.features.18.running_mean") != NULL);
  CHECK(scan_net_find_param(net, "cluster_head.2.bias") != NULL);
  float *x = randn(2 * 28 * 28, 1, 1);
  CHECK(scan_net_forward(net, x, 2, 0) == SCAN_OK);
  int c, h, w;
  CHECK(scan_net_stage(net, NULL, 1, NULL, NULL, &c, &h, &w) == SCAN_OK && c == 64 && h == 7 && w == 7);
  CHECK(scan_net_stage(net, "stage1", 0, NULL, NULL, &c, &h, &w) == SCAN_OK && c == 16 && h == 28);
  CHECK(scan_net_stage(net, "layer4", 0, NULL, NULL, &c, &h, &w) == SCAN_ERR_INPUT);
  CHECK(scan_net_forward(net, x, 3, 0) == SCAN_ERR_INPUT); /* over max_batch */
  free(x);
  scan_net_free(net);

  /* STL: 96 -> maxpool 49 -> 49 -> 25 -> 13 -> 7 (spec §5.2), at 1/8 width to stay quick */
  if (!light) {
    scan_backbone_config stl = {.kind = SCAN_BACKBONE_RESNET18_STL, .in_channels = 3, .height = 96, .width = 96, .width_multiplier = 0.125};
    CHECK(scan_net_create(&net, scan_context_default(), &stl, &none, 1, 1) == SCAN_OK);
    x = randn(3 * 96 * 96, 2, 1);
    CHECK(scan_net_forward(net, x, 1, 0) == SCAN_OK);
    CHECK(scan_net_stage(net, "layer4", 0, NULL, NULL, &c, &h, &w) == SCAN_OK && c == 64 && h == 7 && w == 7);
    CHECK(scan_net_stage(net, "layer1", 0, NULL, NULL, &c, &h, &w) == SCAN_OK && h == 49);
    free(x);
    scan_net_free(net);
  }
  scan_backbone_config tiny = vgg;
  tiny.height = tiny.width = 3;
  CHECK(scan_net_create(&net, scan_context_default(), &tiny, &none, 1, 1) == SCAN_ERR_INPUT); /* 3 -> 1 -> 0 after two max-pools */
  scan_backbone_config bad = vgg;
  bad.vgg_stages = 0;
  CHECK(scan_net_create(&net, scan_context_default(), &bad, &none, 1, 1) == SCAN_ERR_INPUT);
}

/* loss = sum_h sum(out_h * r_h) + sum(features * rf) */
static double net_loss(scan_net *net, const float *x, int n, float *const *r, const float *rf, int training) {
  scan_net_forward(net, x, n, training);
  double loss = 0;
  for (int h = 0; h < scan_net_num_heads(net); h++)
    for (int64_t i = 0; i < (int64_t)n * scan_net_head_dim(net); i++) loss += (double)scan_net_head_output(net, h)[i] * r[h][i];
  for (int64_t i = 0; i < (int64_t)n * scan_net_feature_dim(net); i++) loss += (double)scan_net_features(net)[i] * rf[i];
  return loss;
}

/* |a - b| relative to the tensor's scale, max |b| but at least 1e-3 (gradients of some parameters are nearly 0);
 * INFINITY on NaN or inf. */
static double tensor_diff(const float *a, const float *b, int64_t count) {
  double scale = 1e-3, worst = 0;
  for (int64_t k = 0; k < count; k++) scale = test_worse(scale, fabs(b[k]));
  for (int64_t k = 0; k < count; k++) worst = test_worse(worst, fabs(a[k] - b[k]) / scale);
  return worst;
}

/* The whole network on the oneDNN backend against the same network on the naive backend (every op through the
 * reference), in training and eval mode: features, head outputs, every parameter gradient (the data of buffers:
 * running statistics), and the input gradient when input_grad. The ops' differences are the convolutions' (about
 * 1e-5 relative with Winograd) carried through a few layers: 1e-3. */
static void check_backends_agree(scan_net *fast, scan_net *ref, const float *x, int n, int64_t image_floats, float *const *r,
                                 const float *rf, int input_grad) {
  scan_net *nets[2] = {fast, ref};
  for (int k = 0; k < 2; k++) scan_net_want_input_grad(nets[k], input_grad);
  for (int training = 1; training >= 0; training--) {
    for (int k = 0; k < 2; k++) {
      scan_net_zero_grad(nets[k]);
      net_loss(nets[k], x, n, r, rf, training);
      CHECK(scan_net_backward(nets[k], (const float *const *)r, rf) == SCAN_OK);
    }
    const double features = tensor_diff(scan_net_features(fast), scan_net_features(ref), (int64_t)n * scan_net_feature_dim(ref));
    CHECK_MSG(features < 1e-3, "training=%d: oneDNN and naive features differ by %g", training, features);
    for (int h = 0; h < scan_net_num_heads(ref); h++) {
      const double head = tensor_diff(scan_net_head_output(fast, h), scan_net_head_output(ref, h), (int64_t)n * scan_net_head_dim(ref));
      CHECK_MSG(head < 1e-3, "training=%d: oneDNN and naive head %d outputs differ by %g", training, h, head);
    }
    double worst = 0;
    for (int i = 0; i < scan_net_param_count(fast); i++) {
      const scan_param *pf = scan_net_param(fast, i), *pr = scan_net_param(ref, i);
      CHECK(strcmp(pf->name, pr->name) == 0);
      worst = test_worse(worst, tensor_diff(pf->grad ? pf->grad : pf->data, pr->grad ? pr->grad : pr->data, scan_param_numel(pf)));
    }
    CHECK_MSG(worst < 1e-3, "training=%d: oneDNN and naive gradients differ by %g", training, worst);
    if (input_grad) {
      CHECK(scan_net_input_grad(fast) && scan_net_input_grad(ref));
      if (scan_net_input_grad(fast) && scan_net_input_grad(ref)) {
        const double dx = tensor_diff(scan_net_input_grad(fast), scan_net_input_grad(ref), n * image_floats);
        CHECK_MSG(dx < 1e-3, "training=%d: oneDNN and naive input gradients differ by %g", training, dx);
      }
    }
  }
  for (int k = 0; k < 2; k++) scan_net_want_input_grad(nets[k], 0);
}

/* The same network (same seed, so the same initial weights) on the default (oneDNN) backend and on the naive one. */
static void create_on_both(const scan_backbone_config *b, const scan_head_config *h, int n, uint64_t seed, scan_net **fast,
                           scan_net **ref) {
  CHECK(scan_net_create(fast, scan_context_default(), b, h, n, seed) == SCAN_OK);
  CHECK(scan_net_create(ref, naive_context(), b, h, n, seed) == SCAN_OK);
}

/* A tiny ResNet-18 with two cluster heads and an extra feature gradient: oneDNN vs naive for outputs and all
 * gradients, then the input gradient and a few weight gradients against finite differences (eval mode, where the
 * loss is smooth in float precision). */
static void test_backends_and_fd(void) {
  scan_backbone_config b = {.kind = SCAN_BACKBONE_RESNET18_CIFAR, .in_channels = 3, .height = 12, .width = 12, .width_multiplier = 1.0 / 16};
  scan_head_config h = {.kind = SCAN_HEAD_CLUSTER, .num_heads = 2, .num_classes = 3};
  const int n = 3;
  scan_net *fast, *ref;
  create_on_both(&b, &h, n, 5, &fast, &ref);
  const int64_t nx = (int64_t)n * 3 * 12 * 12;
  float *x = randn(nx, 3, 1), *r[2] = {randn(n * 3, 4, 1), randn(n * 3, 5, 1)}, *rf = randn(n * 32, 6, 0.5);
  check_backends_agree(fast, ref, x, n, 3 * 12 * 12, r, rf, 0);
  /* eval mode finite differences on the naive net (double accumulation inside) */
  CHECK(scan_net_input_grad(ref) == NULL); /* not asked for */
  scan_net_want_input_grad(ref, 1);
  scan_net_zero_grad(ref);
  net_loss(ref, x, n, r, rf, 0);
  CHECK(scan_net_backward(ref, (const float *const *)r, rf) == SCAN_OK);
  const float *dx = scan_net_input_grad(ref);
  CHECK(dx != NULL);
  const float step = 1e-3f;
  for (int64_t i = 0; dx && i < nx; i += light ? 97 : 23) {
    float keep = x[i];
    x[i] = keep + step;
    double up = net_loss(ref, x, n, r, rf, 0);
    x[i] = keep - step;
    double down = net_loss(ref, x, n, r, rf, 0);
    x[i] = keep;
    CHECK_NEAR(dx[i], (up - down) / (2 * step), 2e-3, 2e-2);
  }
  /* Conv weights are left to the PyTorch golden test and the backend comparison above: nudging one conv weight
     moves a whole feature map, and the ReLU kinks it crosses make finite differences too noisy. */
  const char *names[] = {"backbone.layer4.1.bn2.weight", "backbone.layer3.0.bn1.bias", "cluster_head.1.weight"};
  for (int k = 0; k < 3; k++) {
    const scan_param *p = scan_net_find_param(ref, names[k]);
    CHECK(p != NULL);
    if (!p) continue;
    for (int64_t i = 0; i < scan_param_numel(p); i += 7) {
      float keep = p->data[i];
      p->data[i] = keep + step;
      double up = net_loss(ref, x, n, r, rf, 0);
      p->data[i] = keep - step;
      double down = net_loss(ref, x, n, r, rf, 0);
      p->data[i] = keep;
      CHECK_MSG(fabs(p->grad[i] - (up - down) / (2 * step)) <= 2e-3 + 2e-2 * fabs((up - down) / (2 * step)), "%s[%lld]: %g vs finite difference %g", p->name, (long long)i, p->grad[i], (up - down) / (2 * step));
    }
  }
  /* Grad-CAM: the stage gradient exists after backward and has the stage's shape */
  int c, hh, ww;
  float act[32 * 2 * 2], grad[32 * 2 * 2];
  CHECK(scan_net_stage(ref, "layer4", 1, act, grad, &c, &hh, &ww) == SCAN_OK && c == 32 && hh == 2 && ww == 2);
  /* heads on cached features give the same logits as the full forward */
  float feats[3 * 32];
  memcpy(feats, scan_net_features(fast), sizeof feats);
  float logits[9];
  memcpy(logits, scan_net_head_output(fast, 1), sizeof logits);
  CHECK(scan_net_heads_forward(fast, feats, n) == SCAN_OK);
  for (int i = 0; i < 9; i++) CHECK(scan_net_head_output(fast, 1)[i] == logits[i]);
  scan_net_zero_grad(fast);
  const float *only_head0[2] = {r[0], NULL};
  CHECK(scan_net_heads_backward(fast, only_head0) == SCAN_OK);
  CHECK(scan_net_backward(fast, only_head0, NULL) == SCAN_ERR_INPUT); /* the backbone activations are stale */
  CHECK(scan_net_find_param(fast, "cluster_head.0.weight")->grad[0] != 0);
  CHECK(scan_net_find_param(fast, "cluster_head.1.weight")->grad[0] == 0);
  CHECK(scan_net_find_param(fast, "backbone.conv1.weight")->grad[0] == 0);
  free(x), free(r[0]), free(r[1]), free(rf);
  scan_net_free(fast);
  scan_net_free(ref);
}

/* The default recipe's shape of network, tiny: a VGG (3x3 conv, batch-norm + ReLU, max-pool; channel counts not a
 * multiple of the block) with the contrastive MLP head (linear, ReLU, linear, L2 normalisation), on an odd image size
 * (max-pool windows with a remainder), oneDNN against naive, input gradient included. */
static void test_backends_vgg(void) {
  scan_backbone_config b = {.kind = SCAN_BACKBONE_VGG, .in_channels = 1, .height = 11, .width = 11, .vgg_widths = {5, 12, 17},
                            .vgg_stages = 3};
  scan_head_config h = {.kind = SCAN_HEAD_MLP, .features_dim = 6};
  const int n = 4;
  scan_net *fast, *ref;
  create_on_both(&b, &h, n, 9, &fast, &ref);
  float *x = randn((int64_t)n * 11 * 11, 7, 1), *r[1] = {randn(n * 6, 8, 1)}, *rf = randn(n * 17, 9, 0.5);
  check_backends_agree(fast, ref, x, n, 11 * 11, r, rf, 1);
  free(x), free(r[0]), free(rf);
  scan_net_free(fast);
  scan_net_free(ref);
}

/* Grad-CAM needs d(logit)/d(stage output) as a PyTorch hook on the stage's output gives it: unmasked by the ReLU
 * that produced the stage. At the last stage the logit is linear in the activation (global average pooling, then
 * the linear cluster head), so the exact gradient is W[class, c] / (H W) at every position, also where the
 * activation is 0; the gradient is checked there against that closed form. At an inner VGG stage (max-pooled next)
 * the unmasked gradient reaches positions whose activation is 0 (a window of zeros passes its gradient to its first
 * cell); a masked one would be 0 at all of them. */
static void check_last_stage_gradient(scan_net *net, const char *stage, int channels_in, int side, int training) {
  const int n = 2, sample = 1, target = 2, classes = 3;
  float *x = randn((int64_t)n * channels_in * side * side, 21, 1);
  float *d_logits = calloc((size_t)n * classes, sizeof(float));
  d_logits[sample * classes + target] = 1.0f;
  const float *d_heads[2] = {d_logits, NULL};
  scan_net_zero_grad(net);
  CHECK(scan_net_forward(net, x, n, training) == SCAN_OK);
  CHECK(scan_net_backward(net, d_heads, NULL) == SCAN_OK);
  int c = 0, h = 0, w = 0;
  CHECK(scan_net_stage(net, stage, sample, NULL, NULL, &c, &h, &w) == SCAN_OK);
  const int hw = h * w;
  float *act = malloc((size_t)c * hw * sizeof(float)), *grad = malloc((size_t)c * hw * sizeof(float));
  CHECK(scan_net_stage(net, stage, sample, act, grad, &c, &h, &w) == SCAN_OK);
  const float *weight = scan_net_find_param(net, "cluster_head.0.weight")->data; /* [classes, c] */
  int zeros = 0, wrong = 0;
  for (int ch = 0; ch < c; ch++)
    for (int i = 0; i < hw; i++) {
      const double expected = weight[target * c + ch] / (double)hw;
      zeros += act[(int64_t)ch * hw + i] == 0;
      wrong += fabs(grad[(int64_t)ch * hw + i] - expected) > 1e-6 + 1e-4 * fabs(expected);
    }
  CHECK_MSG(zeros > 0, "%s: no zero activations to test the unmasked gradient on", stage);
  CHECK_MSG(wrong == 0, "%s (training=%d): %d of %d stage gradients differ from W/(HW) (%d activations are 0)", stage, training,
            wrong, c * hw, zeros);
  /* the other sample's logits were not differentiated: its stage gradient is 0 */
  CHECK(scan_net_stage(net, stage, 0, NULL, grad, &c, &h, &w) == SCAN_OK);
  double other = 0;
  for (int i = 0; i < c * hw; i++) other = test_worse(other, fabs(grad[i]));
  CHECK(other == 0);
  free(act), free(grad), free(x), free(d_logits);
}

static void test_stage_gradient_unmasked(void) {
  scan_head_config cluster = {.kind = SCAN_HEAD_CLUSTER, .num_heads = 2, .num_classes = 3};
  scan_backbone_config vgg = {.kind = SCAN_BACKBONE_VGG, .in_channels = 1, .height = 8, .width = 8, .width_multiplier = 1,
                              .vgg_widths = {4, 8}, .vgg_stages = 2};
  scan_backbone_config resnet = {.kind = SCAN_BACKBONE_RESNET18_CIFAR, .in_channels = 3, .height = 16, .width = 16,
                                 .width_multiplier = 1.0 / 16};
  scan_net *net;
  for (int training = 0; training <= 1; training++) {
    CHECK(scan_net_create(&net, scan_context_default(), &vgg, &cluster, 2, 3) == SCAN_OK);
    check_last_stage_gradient(net, "stage2", 1, 8, training);
    /* stage1 -> max-pool: some zero activations must carry gradient */
    int c, h, w;
    float act[4 * 8 * 8], grad[4 * 8 * 8];
    CHECK(scan_net_stage(net, "stage1", 1, act, grad, &c, &h, &w) == SCAN_OK && c * h * w == 4 * 8 * 8);
    int zero_with_grad = 0;
    for (int i = 0; i < c * h * w; i++) zero_with_grad += act[i] == 0 && grad[i] != 0;
    CHECK_MSG(zero_with_grad > 0, "stage1 (training=%d): the gradient is masked where the activation is 0", training);
    scan_net_free(net);
    CHECK(scan_net_create(&net, scan_context_default(), &resnet, &cluster, 2, 3) == SCAN_OK);
    check_last_stage_gradient(net, "layer4", 3, 16, training);
    scan_net_free(net);
  }
}

static void test_checkpoints(void) {
  scan_backbone_config b = {.kind = SCAN_BACKBONE_VGG, .in_channels = 1, .height = 8, .width = 8, .width_multiplier = 1,
                            .vgg_widths = {4, 8}, .vgg_stages = 2};
  scan_head_config mlp = {.kind = SCAN_HEAD_MLP, .features_dim = 4};
  scan_head_config cluster = {.kind = SCAN_HEAD_CLUSTER, .num_heads = 2, .num_classes = 3};
  scan_net *a, *same, *clu;
  CHECK(scan_net_create(&a, scan_context_default(), &b, &mlp, 2, 1) == SCAN_OK);
  CHECK(scan_net_create(&same, scan_context_default(), &b, &mlp, 2, 2) == SCAN_OK);
  CHECK(scan_net_create(&clu, scan_context_default(), &b, &cluster, 2, 3) == SCAN_OK);
  float *x = randn(2 * 64, 9, 1);
  CHECK(scan_net_forward(a, x, 2, 1) == SCAN_OK); /* moves running statistics and num_batches_tracked */
  char path[512];
  snprintf(path, sizeof path, "%s/pretext.safetensors", test_tmpdir());
  const char *meta[] = {"stage", "pretext", NULL};
  CHECK(scan_net_save(a, path, meta) == SCAN_OK);
  CHECK(scan_net_load(same, path, NULL) == SCAN_OK);
  for (int i = 0; i < scan_net_param_count(a); i++) {
    const scan_param *p = scan_net_param(a, i), *q = scan_net_param(same, i);
    CHECK(memcmp(p->data, q->data, (size_t)scan_param_numel(p) * 4) == 0);
  }
  CHECK(scan_net_find_param(same, "backbone.features.1.num_batches_tracked")->data[0] == 1.0f);
  /* pretext -> clustering: contrastive head extra, cluster heads absent */
  CHECK(scan_net_load(clu, path, "contrastive_head.") == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "cluster_head.0.weight") != NULL);
  float head_before = scan_net_find_param(clu, "cluster_head.0.weight")->data[0];
  CHECK(scan_net_load(clu, path, "contrastive_head.,cluster_head.") == SCAN_OK);
  CHECK(scan_net_find_param(clu, "backbone.features.0.weight")->data[3] == scan_net_find_param(a, "backbone.features.0.weight")->data[3]);
  CHECK(scan_net_find_param(clu, "cluster_head.0.weight")->data[0] == head_before);
  /* clustering file into a pretext net: unexpected key named */
  char path2[512];
  snprintf(path2, sizeof path2, "%s/scan.safetensors", test_tmpdir());
  CHECK(scan_net_save(clu, path2, NULL) == SCAN_OK);
  CHECK(scan_net_load(a, path2, NULL) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "contrastive_head") != NULL || strstr(scan_error_message(), "cluster_head") != NULL);
  /* a different width: the key with the wrong shape is named, and nothing is changed */
  scan_backbone_config wide = b;
  wide.vgg_widths[1] = 6;
  scan_net *w;
  CHECK(scan_net_create(&w, scan_context_default(), &wide, &mlp, 2, 1) == SCAN_OK);
  float before = scan_net_find_param(w, "backbone.features.0.weight")->data[0];
  CHECK(scan_net_load(w, path, NULL) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "backbone.features.7.weight") != NULL && strstr(scan_error_message(), "shape") != NULL);
  CHECK(scan_net_find_param(w, "backbone.features.0.weight")->data[0] == before);
  CHECK(scan_net_load(w, "/nonexistent/model.safetensors", NULL) != SCAN_OK);

  /* optimizer state round trip: two SGD steps, save, load into a fresh optimizer, next steps agree */
  scan_optim_config sgd = {.kind = SCAN_OPT_SGD, .lr = 0.1, .momentum = 0.9, .nesterov = 1, .weight_decay = 1e-3};
  scan_optimizer *o1, *o2;
  CHECK(scan_optim_create(&o1, clu, &sgd, NULL, 0) == SCAN_OK);
  for (int i = 0; i < scan_net_param_count(clu); i++)
    if (scan_net_param(clu, i)->grad) scan_net_param(clu, i)->grad[0] = 0.5f;
  scan_optim_step(o1);
  scan_optim_step(o1);
  snprintf(path2, sizeof path2, "%s/optim.safetensors", test_tmpdir());
  CHECK(scan_optim_save(o1, path2, NULL) == SCAN_OK);
  CHECK(scan_optim_create(&o2, clu, &sgd, NULL, 0) == SCAN_OK);
  CHECK(scan_optim_load(o2, path2) == SCAN_OK);
  scan_optim_config adam = {.kind = SCAN_OPT_ADAM, .lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
  scan_optimizer *o3;
  CHECK(scan_optim_create(&o3, clu, &adam, NULL, 0) == SCAN_OK);
  CHECK(scan_optim_load(o3, path2) == SCAN_ERR_INPUT); /* SGD state is not Adam state */
  scan_optim_free(o1), scan_optim_free(o2), scan_optim_free(o3);
  free(x);
  scan_net_free(a), scan_net_free(same), scan_net_free(clu), scan_net_free(w);
}

/* Optimiser arithmetic on one parameter against the PyTorch formulas written out by hand. */
static void test_optim_math(void) {
  scan_backbone_config b = {.kind = SCAN_BACKBONE_VGG, .in_channels = 1, .height = 4, .width = 4, .width_multiplier = 1,
                            .vgg_widths = {2}, .vgg_stages = 1};
  scan_head_config cluster = {.kind = SCAN_HEAD_CLUSTER, .num_heads = 1, .num_classes = 2};
  scan_net *net;
  CHECK(scan_net_create(&net, scan_context_default(), &b, &cluster, 1, 1) == SCAN_OK);
  const scan_param *head = scan_net_find_param(net, "cluster_head.0.bias"), *conv = scan_net_find_param(net, "backbone.features.0.weight");
  const double grads[3] = {0.3, -0.2, 0.5};
  /* SGD, nesterov: buf = g (first) / 0.9 buf + g; w -= lr (g + 0.9 buf), g includes wd w */
  scan_optim_config sgd = {.kind = SCAN_OPT_SGD, .lr = 0.1, .momentum = 0.9, .nesterov = 1, .weight_decay = 0.01};
  scan_optim_config adam = {.kind = SCAN_OPT_ADAM, .lr = 0.05, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01};
  scan_optimizer *opt;
  CHECK(scan_optim_create(&opt, net, &sgd, &adam, 1) == SCAN_OK); /* frozen backbone: heads use Adam */
  double w = head->data[0], m = 0, v = 0, conv0 = conv->data[0];
  for (int t = 1; t <= 3; t++) {
    scan_net_zero_grad(net);
    head->grad[0] = (float)grads[t - 1];
    conv->grad[0] = 1.0f;
    CHECK(scan_optim_step(opt) == SCAN_OK);
    double g = grads[t - 1] + 0.01 * w;
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    w -= 0.05 / (1 - pow(0.9, t)) * m / (sqrt(v) / sqrt(1 - pow(0.999, t)) + 1e-8);
    CHECK_NEAR(head->data[0], w, 1e-6, 1e-5);
  }
  CHECK(conv->data[0] == (float)conv0); /* frozen */
  scan_optim_free(opt);
  CHECK(scan_optim_create(&opt, net, &sgd, NULL, 0) == SCAN_OK);
  w = conv->data[0];
  double buf = 0;
  for (int t = 1; t <= 3; t++) {
    scan_net_zero_grad(net);
    conv->grad[0] = (float)grads[t - 1];
    scan_optim_step(opt);
    double g = grads[t - 1] + 0.01 * w;
    buf = t == 1 ? g : 0.9 * buf + g;
    w -= 0.1 * (g + 0.9 * buf);
    CHECK_NEAR(conv->data[0], w, 1e-6, 1e-5);
  }
  scan_optim_free(opt);
  scan_optim_config bad = sgd;
  bad.momentum = 0;
  CHECK(scan_optim_create(&opt, net, &bad, NULL, 0) == SCAN_ERR_INPUT);

  /* EMA: shadow = a shadow + (1 - a) param, buffers untouched */
  scan_ema *ema;
  CHECK(scan_ema_create(&ema, net, 0.75) == SCAN_OK);
  float start = conv->data[0];
  conv->data[0] = start + 4.0f;
  scan_ema_update(ema, net);
  conv->data[0] = 100.0f;
  scan_ema_copy_to(ema, net);
  CHECK_NEAR(conv->data[0], start + 1.0f, 1e-5, 1e-6);
  scan_ema_free(ema);
  scan_net_free(net);

  /* schedules (spec §10) */
  CHECK_NEAR(scan_lr_cosine(0.4, 0.1, 0, 500), 0.4, 1e-12, 0);
  CHECK_NEAR(scan_lr_cosine(0.4, 0.1, 500, 500), 0.0004, 1e-12, 0);
  CHECK_NEAR(scan_lr_cosine(0.4, 0.1, 250, 500), (0.4 + 0.0004) / 2, 1e-12, 0);
  const int decay[2] = {10, 20};
  CHECK_NEAR(scan_lr_step(0.1, 0.1, decay, 2, 10), 0.1, 1e-12, 0);
  CHECK_NEAR(scan_lr_step(0.1, 0.1, decay, 2, 11), 0.01, 1e-12, 0);
  CHECK_NEAR(scan_lr_step(0.1, 0.1, decay, 2, 21), 0.001, 1e-12, 0);
  CHECK_NEAR(scan_lr_warmup_cosine(1.0, 0, 10, 110), 0.1, 1e-12, 0);
  CHECK_NEAR(scan_lr_warmup_cosine(1.0, 9, 10, 110), 1.0, 1e-12, 0);
  CHECK_NEAR(scan_lr_warmup_cosine(1.0, 60, 10, 110), 0.5, 1e-12, 0);
  CHECK_NEAR(scan_lr_warmup_cosine(1.0, 110, 10, 110), 0.0, 1e-12, 0);
}

/* Same seed, same bits; another seed, other weights. */
static void test_reproducible(void) {
  scan_backbone_config b = {.kind = SCAN_BACKBONE_RESNET18_CIFAR, .in_channels = 3, .height = 8, .width = 8, .width_multiplier = 0.125};
  scan_head_config mlp = {.kind = SCAN_HEAD_MLP, .features_dim = 8};
  scan_net *a, *c, *d;
  CHECK(scan_net_create(&a, scan_context_default(), &b, &mlp, 2, 42) == SCAN_OK);
  CHECK(scan_net_create(&c, scan_context_default(), &b, &mlp, 2, 42) == SCAN_OK);
  CHECK(scan_net_create(&d, scan_context_default(), &b, &mlp, 2, 43) == SCAN_OK);
  const scan_param *pa = scan_net_find_param(a, "backbone.layer1.0.conv1.weight");
  CHECK(memcmp(pa->data, scan_net_find_param(c, "backbone.layer1.0.conv1.weight")->data, (size_t)scan_param_numel(pa) * 4) == 0);
  CHECK(memcmp(pa->data, scan_net_find_param(d, "backbone.layer1.0.conv1.weight")->data, (size_t)scan_param_numel(pa) * 4) != 0);
  /* Kaiming fan_out: std sqrt(2 / (8 * 9)) */
  double s2 = 0;
  for (int64_t i = 0; i < scan_param_numel(pa); i++) s2 += pa->data[i] * pa->data[i];
  CHECK_NEAR(sqrt(s2 / scan_param_numel(pa)), sqrt(2.0 / 72), 0, 0.15);
  const scan_param *lin = scan_net_find_param(a, "contrastive_head.0.weight");
  for (int64_t i = 0; i < scan_param_numel(lin); i++) CHECK(fabs(lin->data[i]) <= 1 / sqrt(64.0));
  float *x = randn(2 * 3 * 64, 11, 1);
  scan_net_forward(a, x, 2, 1);
  scan_net_forward(c, x, 2, 1);
  CHECK(memcmp(scan_net_head_output(a, 0), scan_net_head_output(c, 0), 2 * 8 * 4) == 0);
  double norm = 0;
  for (int i = 0; i < 8; i++) norm += scan_net_head_output(a, 0)[i] * scan_net_head_output(a, 0)[i];
  CHECK_NEAR(norm, 1.0, 1e-5, 0);
  free(x);
  scan_net_free(a), scan_net_free(c), scan_net_free(d);
}

/* scan_net_backward_to_stage gives every stage the gradient the whole backward gives it (the same ops in the same
 * order after the stage), and leaves the parameters of layers before the stage untouched. */
static void test_backward_to_stage(void) {
  scan_head_config cluster = {.kind = SCAN_HEAD_CLUSTER, .num_heads = 1, .num_classes = 3};
  scan_backbone_config resnet = {.kind = SCAN_BACKBONE_RESNET18_CIFAR, .in_channels = 3, .height = 16, .width = 16,
                                 .width_multiplier = 1.0 / 16};
  scan_net *net;
  CHECK(scan_net_create(&net, scan_context_default(), &resnet, &cluster, 2, 5) == SCAN_OK);
  float *x = randn(2 * 3 * 16 * 16, 31, 1), d_logits[6] = {0, 0.5f, 0, -1, 0, 2};
  const float *d_heads[1] = {d_logits};
  const char *stages[] = {"layer1", "layer2", "layer3", "layer4", NULL};
  for (int s = 0; s < 5; s++) {
    int c, h, w;
    CHECK(scan_net_forward(net, x, 2, 0) == SCAN_OK);
    CHECK(scan_net_backward(net, d_heads, NULL) == SCAN_OK);
    CHECK(scan_net_stage(net, stages[s], 1, NULL, NULL, &c, &h, &w) == SCAN_OK);
    const size_t numel = (size_t)c * h * w;
    float *full = malloc(numel * sizeof(float)), *partial = malloc(numel * sizeof(float));
    CHECK(scan_net_stage(net, stages[s], 1, NULL, full, &c, &h, &w) == SCAN_OK);
    scan_net_zero_grad(net);
    CHECK(scan_net_backward_to_stage(net, d_heads, stages[s]) == SCAN_OK);
    CHECK(scan_net_stage(net, stages[s], 1, NULL, partial, &c, &h, &w) == SCAN_OK);
    CHECK_MSG(memcmp(full, partial, numel * sizeof(float)) == 0, "stage %s: gradient differs from the whole backward's",
              stages[s] ? stages[s] : "(last)");
    const scan_param *stem = scan_net_find_param(net, "backbone.conv1.weight");
    double stem_grad = 0;
    for (int64_t i = 0; i < scan_param_numel(stem); i++) stem_grad = test_worse(stem_grad, fabs(stem->grad[i]));
    CHECK_MSG(stem_grad == 0, "stage %s: backward went past the stage to the stem", stages[s] ? stages[s] : "(last)");
    free(full), free(partial);
  }
  CHECK(scan_net_backward_to_stage(net, d_heads, "layer9") == SCAN_ERR_INPUT);
  scan_net_free(net);
  free(x);
}

/* scan_net_infer (batch-norms folded into the convolutions) gives scan_net_forward's eval results up to rounding,
 * refuses a backward after it, and a forward afterwards makes backward possible again. */
static void test_infer_matches_forward(void) {
  scan_head_config cluster = {.kind = SCAN_HEAD_CLUSTER, .num_heads = 2, .num_classes = 3};
  scan_backbone_config resnet = {.kind = SCAN_BACKBONE_RESNET18_CIFAR, .in_channels = 3, .height = 16, .width = 16,
                                 .width_multiplier = 1.0 / 8};
  scan_backbone_config vgg = {.kind = SCAN_BACKBONE_VGG, .in_channels = 1, .height = 12, .width = 12, .width_multiplier = 1,
                              .vgg_widths = {12, 16}, .vgg_stages = 2};
  const scan_backbone_config *backbones[2] = {&resnet, &vgg};
  for (int b = 0; b < 2; b++) {
    const int n = 8, in = backbones[b]->in_channels * backbones[b]->height * backbones[b]->width;
    scan_net *net;
    CHECK(scan_net_create(&net, scan_context_default(), backbones[b], &cluster, n, 4) == SCAN_OK);
    float *x = randn((int64_t)n * in, 41, 1);
    /* non-trivial running statistics: a few training forwards */
    for (int i = 0; i < 3; i++) CHECK(scan_net_forward(net, x, n, 1) == SCAN_OK);
    CHECK(scan_net_forward(net, x, n, 0) == SCAN_OK);
    const int dim = scan_net_feature_dim(net);
    float *features = malloc((size_t)n * dim * sizeof(float)), *logits = malloc((size_t)n * 3 * sizeof(float));
    memcpy(features, scan_net_features(net), (size_t)n * dim * sizeof(float));
    memcpy(logits, scan_net_head_output(net, 1), (size_t)n * 3 * sizeof(float));
    CHECK(scan_net_infer(net, x, n) == SCAN_OK);
    CHECK_MSG(test_max_rel_diff(scan_net_features(net), features, (int64_t)n * dim) < 1e-5, "backbone %d: infer features %g", b,
              test_max_rel_diff(scan_net_features(net), features, (int64_t)n * dim));
    CHECK(test_max_rel_diff(scan_net_head_output(net, 1), logits, n * 3) < 1e-5);
    float d_logits[8 * 3] = {1};
    const float *d_heads[2] = {d_logits, NULL};
    CHECK(scan_net_backward(net, d_heads, NULL) == SCAN_ERR_INPUT);
    CHECK(scan_net_forward(net, x, n, 0) == SCAN_OK);
    CHECK(scan_net_backward(net, d_heads, NULL) == SCAN_OK);
    free(features), free(logits), free(x);
    scan_net_free(net);
  }
}

/* A fake two-process reduction: the other process holds the same shard, so adding over processes doubles every sum. */
static void twice(double *data, long count) {
  for (long i = 0; i < count; i++) data[i] *= 2;
}

/* Synchronised batch-norm through whole nets (a VGG: batch-norm with a fused ReLU; a ResNet: without, before the
 * residual join), with `twice` as the reduction: the synchronised net on a shard S must compute what a plain net
 * computes on the batch [S, S], in training mode: the same head outputs and input gradients (S's rows), the same
 * running statistics (the unbiased variance counts the whole batch's 2 n hw values: at the last ResNet stage, 1 x 1,
 * 6 values instead of 3, a factor 6/5 against 3/2), and half of every parameter gradient (each process keeps its own
 * part, which the training loop adds over processes: a net adding the whole batch's would give all of it). A
 * duplicated shard has the shard's own mean and variance, so this checks the sums' bookkeeping (counts, which sums
 * are added, the parameter gradients); tests/test_tensor_backend_ops.c splits a batch into unequal shards, and
 * tests/test_cli_mpi.c runs two real ranks. Both nets add the same float values in a different order: the batch-norm
 * sums in double, the convolutions' weight gradients in float over a batch of n or 2 n images, grouped as the kernels
 * choose for each batch size (measured: up to 5e-6 relative with AVX2 kernels, 1e-6 with AVX-512): 1e-4, well below
 * what a missing reduction or a doubled gradient moves (1e-2 or more). */
static void test_batchnorm_sync(void) {
  scan_backbone_config vgg = {.kind = SCAN_BACKBONE_VGG, .in_channels = 1, .height = 11, .width = 11, .vgg_widths = {5, 12, 17},
                              .vgg_stages = 3};
  scan_backbone_config resnet = {.kind = SCAN_BACKBONE_RESNET18_CIFAR, .in_channels = 3, .height = 8, .width = 8,
                                 .width_multiplier = 1.0 / 16};
  scan_head_config mlp = {.kind = SCAN_HEAD_MLP, .features_dim = 6};
  const scan_backbone_config *backbones[2] = {&vgg, &resnet};
  for (int k = 0; k < 2; k++) {
    const int n = 3, image = backbones[k]->in_channels * backbones[k]->height * backbones[k]->width;
    scan_net *synced, *plain;
    CHECK(scan_net_create(&synced, scan_context_default(), backbones[k], &mlp, n, 7) == SCAN_OK);
    CHECK(scan_net_create(&plain, scan_context_default(), backbones[k], &mlp, 2 * n, 7) == SCAN_OK);
    CHECK(scan_net_set_batchnorm_sync(synced, twice) == SCAN_OK);
    float *x = randn((int64_t)2 * n * image, 51, 1), *r = randn(2 * n * 6, 52, 1);
    memcpy(x + n * image, x, (size_t)n * image * sizeof(float));
    memcpy(r + n * 6, r, (size_t)n * 6 * sizeof(float));
    scan_net *nets[2] = {synced, plain};
    const float *d_heads[1] = {r};
    for (int i = 0; i < 2; i++) {
      scan_net_want_input_grad(nets[i], 1);
      scan_net_zero_grad(nets[i]);
      CHECK(scan_net_forward(nets[i], x, (i + 1) * n, 1) == SCAN_OK);
      CHECK(scan_net_backward(nets[i], d_heads, NULL) == SCAN_OK);
    }
    const double head = tensor_diff(scan_net_head_output(synced, 0), scan_net_head_output(plain, 0), n * 6);
    const double dx = tensor_diff(scan_net_input_grad(synced), scan_net_input_grad(plain), (int64_t)n * image);
    double params = 0;
    for (int i = 0; i < scan_net_param_count(synced); i++) {
      const scan_param *p = scan_net_param(synced, i), *q = scan_net_param(plain, i);
      const int64_t count = scan_param_numel(p);
      float *mine = malloc((size_t)count * sizeof(float));
      for (int64_t j = 0; j < count; j++) mine[j] = p->grad ? 2 * p->grad[j] : p->data[j];
      params = test_worse(params, tensor_diff(mine, q->grad ? q->grad : q->data, count));
      free(mine);
    }
    CHECK_MSG(head < 1e-4 && dx < 1e-4 && params < 1e-4,
              "backbone %d: synchronised on S vs plain on [S, S]: head %g, input gradient %g, parameters %g", k, head, dx, params);
    free(x), free(r);
    scan_net_free(synced);
    scan_net_free(plain);
  }
}

/* What the gradient-ready hook (scan_net_set_grad_ready) reports for one backward: a copy of the gradient block at
 * every call, to compare with what the backward leaves. */
typedef struct {
  const float *grad;
  int64_t floats, from[256];
  float *seen[256];
  int calls;
} ready_log;

static void log_ready(void *ctx, int64_t from) {
  ready_log *log = ctx;
  if (log->calls == 256) return;
  log->from[log->calls] = from;
  log->seen[log->calls] = malloc((size_t)log->floats * sizeof(float));
  memcpy(log->seen[log->calls++], log->grad, (size_t)log->floats * sizeof(float));
}

/* The hook is what data-parallel training starts its gradient sums on (src/train/trainer.c), so a part it calls
 * final must be: its offsets fall from the heads' first parameter to 0, so the ranges [from, previous from) cover
 * the block once, in backward order, and each call's [from, end) already holds what the whole backward leaves
 * there. A VGG under three cluster heads, a ResNet (shortcut convolutions, residual joins) under an MLP head. */
static void test_grad_ready(void) {
  scan_backbone_config vgg = {.kind = SCAN_BACKBONE_VGG, .in_channels = 1, .height = 11, .width = 11, .vgg_widths = {5, 12, 17},
                              .vgg_stages = 3};
  scan_backbone_config resnet = {.kind = SCAN_BACKBONE_RESNET18_CIFAR, .in_channels = 3, .height = 8, .width = 8,
                                 .width_multiplier = 1.0 / 16};
  scan_head_config cluster = {.kind = SCAN_HEAD_CLUSTER, .num_heads = 3, .num_classes = 4};
  scan_head_config mlp = {.kind = SCAN_HEAD_MLP, .features_dim = 6};
  const scan_backbone_config *backbones[2] = {&vgg, &resnet};
  const scan_head_config *heads[2] = {&cluster, &mlp};
  for (int k = 0; k < 2; k++) {
    const int n = 3, image = backbones[k]->in_channels * backbones[k]->height * backbones[k]->width;
    scan_net *net;
    CHECK(scan_net_create(&net, scan_context_default(), backbones[k], heads[k], n, 9) == SCAN_OK);
    ready_log log = {.calls = 0};
    log.grad = scan_net_grad_block(net, &log.floats);
    CHECK(scan_net_set_grad_ready(net, log_ready, &log) == SCAN_OK);
    const int out = scan_net_head_dim(net), count = scan_net_num_heads(net);
    float *x = randn((int64_t)n * image, 61, 1), *r = randn((int64_t)count * n * out, 62, 1);
    const float *d_heads[3];
    for (int h = 0; h < count; h++) d_heads[h] = r + (size_t)h * n * out;
    CHECK(scan_net_forward(net, x, n, 1) == SCAN_OK);
    scan_net_zero_grad(net);
    CHECK(scan_net_backward(net, d_heads, NULL) == SCAN_OK);
    /* After the heads, all is final from the end of the backbone's last parameter with a gradient: the running
       statistics after it have none. */
    int64_t heads_from = 0;
    for (int i = 0; i < scan_net_param_count(net); i++) {
      const scan_param *p = scan_net_param(net, i);
      if (p->grad && !p->is_head) heads_from = p->grad + scan_param_numel(p) - log.grad;
    }
    CHECK_MSG(log.calls > 10 && log.from[0] == heads_from && log.from[log.calls - 1] == 0,
              "backbone %d: %d calls, the first from %lld (after the backbone's gradients: %lld), the last from %lld", k, log.calls,
              (long long)log.from[0], (long long)heads_from, (long long)(log.calls ? log.from[log.calls - 1] : -1));
    for (int c = 0; c < log.calls; c++) {
      CHECK_MSG(c == 0 || log.from[c] < log.from[c - 1], "backbone %d: call %d from %lld after %lld", k, c,
                (long long)log.from[c], (long long)log.from[c - 1]);
      const int64_t from = log.from[c];
      CHECK_MSG(memcmp(log.seen[c] + from, log.grad + from, (size_t)(log.floats - from) * sizeof(float)) == 0,
                "backbone %d: call %d said [%lld, %lld) was final, and backward changed it afterwards", k, c, (long long)from,
                (long long)log.floats);
      free(log.seen[c]);
    }
    /* Heads alone leave the backbone's gradients as they were: all final after them. */
    log.calls = 0;
    CHECK(scan_net_heads_backward(net, d_heads) == SCAN_OK);
    CHECK(log.calls == 1 && log.from[0] == 0);
    free(log.seen[0]);
    free(x), free(r);
    scan_net_free(net);
  }
}

int main(void) {
  light = test_light();
  test_shapes_and_counts();
  test_backends_and_fd();
  test_backends_vgg();
  test_stage_gradient_unmasked();
  test_backward_to_stage();
  test_infer_matches_forward();
  test_batchnorm_sync();
  test_grad_ready();
  test_checkpoints();
  test_optim_math();
  test_reproducible();
  scan_context_free(g_naive);
  scan_context_close_default();
  return test_main_end();
}
