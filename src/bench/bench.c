/* The benchmark cases: synthetic inputs shaped like the reference's workloads
 * (ResNet-18 CIFAR variant, 32x32x3; the default pipeline's VGG on 28x28x1), timed over several repeats. */
#include "scan/bench.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "scan/augment_bench.h"
#include "scan/explain_model.h"
#include "scan/knn_bench.h"
#include "scan/nn_bench.h"
#include "scan/progress.h"

static const char *const case_names[] = {
    "simclr_step_b128", "simclr_step_b512", "simclr_step_vgg_b256", "scan_step_b128", "selflabel_step_b256", "infer_b512",
    "augment_simclr_1core", "augment_ours_1core", "augment_val_1core", "knn_n50000_d128_k20", "knn_n10000_d512_k20",
    "lime_1000_32px", "gradcam_32px", "peak_rss_simclr_b512", "conv_tuning_vgg_b256", "conv_tuning_b128", "profile_vgg_b256",
    "profile_b128", NULL};

const char *const *scan_bench_case_names(void) { return case_names; }

int scan_bench_case_exists(const char *name) {
  for (int i = 0; case_names[i]; i++)
    if (strcmp(case_names[i], name) == 0) return 1;
  return 0;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Fills min/median/max from per-repeat values. */
static void summarise(double *values, int n, scan_bench_result *out) {
  qsort(values, (size_t)n, sizeof *values, compare_doubles);
  out->n = n;
  out->min = values[0];
  out->max = values[n - 1];
  out->median = n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

static void resnet18_cifar(scan_backbone_config *b) {
  memset(b, 0, sizeof *b);
  b->kind = SCAN_BACKBONE_RESNET18_CIFAR;
  b->in_channels = 3;
  b->height = b->width = 32;
  b->width_multiplier = 1.0;
}

/* The default pipeline's backbone (configs/fashion-mnist-quick.yml): VGG 16-32-64 on 28x28 grey images. */
static void vgg_fashion(scan_backbone_config *b) {
  memset(b, 0, sizeof *b);
  b->kind = SCAN_BACKBONE_VGG;
  b->in_channels = 1;
  b->height = b->width = 28;
  b->width_multiplier = 1.0;
  b->vgg_stages = 3;
  b->vgg_widths[0] = 16, b->vgg_widths[1] = 32, b->vgg_widths[2] = 64;
}

/* Training steps over `images` images per step, reported as images per second. */
static scan_status train_case(void (*backbone)(scan_backbone_config *), const scan_head_config *head, int images,
                              int inference_images, int repeats, scan_bench_result *out) {
  scan_backbone_config b;
  backbone(&b);
  double *train_s = scan_calloc((size_t)repeats, sizeof(double)), *infer_s = scan_calloc((size_t)repeats, sizeof(double));
  if (!train_s || !infer_s) { free(train_s); free(infer_s); return scan_fail(SCAN_ERR_INTERNAL, "out of memory"); }
  scan_status status = scan_bench_train_step(&b, head, images, repeats, train_s);
  /* Self-labelling also predicts the weak view in eval mode every step. */
  if (status == SCAN_OK && inference_images > 0) status = scan_bench_inference(&b, head, inference_images, repeats, infer_s);
  if (status == SCAN_OK) {
    for (int r = 0; r < repeats; r++) train_s[r] = (images + inference_images) / (train_s[r] + infer_s[r]);
    out->unit = "img/s";
    summarise(train_s, repeats, out);
  }
  free(train_s);
  free(infer_s);
  return status;
}

/* Seconds for one explanation of a 32x32 RGB image by a random-weight ResNet-18 with 10 clusters:
 * LIME with 1000 samples, or Grad-CAM. The image is coloured 8x8 blocks with noise, so quickshift
 * finds superpixels of a realistic count. */
static scan_status explain_case(int lime, int repeats, scan_bench_result *out) {
  scan_backbone_config b;
  resnet18_cifar(&b);
  scan_head_config head = {SCAN_HEAD_CLUSTER, 0, 1, 10};
  scan_net *net = NULL;
  SCAN_TRY(scan_net_create(&net, scan_context_default(), &b, &head, SCAN_EXPLAIN_BATCH, 1));
  scan_aug_config val;
  scan_aug_default(&val, SCAN_AUG_VAL, 32, 3);
  scan_explainer e;
  scan_status status = scan_explainer_init(&e, net, &val);
  uint8_t image[32 * 32 * 3];
  scan_rng rng = scan_rng_make(7, 0, 0);
  for (int i = 0; i < 32 * 32 * 3; i++) {
    scan_rng block = scan_rng_make(7, 1, (uint64_t)((i / 3 % 32 / 8) * 4 + i / 3 / 32 / 8) * 3 + i % 3);
    image[i] = (uint8_t)(scan_rng_int(&block, 200) + scan_rng_int(&rng, 40));
  }
  double seconds[64];
  int n = repeats ? repeats : lime ? 3 : 10;
  if (n > 64) n = 64;
  /* Run -1 is a warm-up, not timed: the first pass creates oneDNN's primitives and the scratch buffers (on a Zen 5,
     5.4 s against 1.8-1.9 s for the passes after it). */
  for (int r = -1; r < n && status == SCAN_OK; r++) {
    double start = scan_now_seconds();
    if (lime) {
      scan_lime_result result;
      status = scan_explainer_lime(&e, image, 0, &result);
      scan_lime_result_free(&result);
    } else {
      float *map = NULL;
      int mh, mw;
      status = scan_explainer_gradcam(&e, image, 0, &map, &mh, &mw);
      free(map);
    }
    if (r >= 0) seconds[r] = scan_now_seconds() - start;
  }
  if (status == SCAN_OK) {
    out->unit = "s";
    summarise(seconds, n, out);
  }
  scan_explainer_close(&e);
  scan_net_free(net);
  return status;
}

scan_status scan_bench_run(const char *name, int repeats, scan_bench_result *out) {
  memset(out, 0, sizeof *out);
  out->name = name;
  scan_head_config mlp = {SCAN_HEAD_MLP, 128, 1, 0}, cluster = {SCAN_HEAD_CLUSTER, 0, 1, 10};
  if (strcmp(name, "simclr_step_b128") == 0) return train_case(resnet18_cifar, &mlp, 256, 0, repeats ? repeats : 5, out);
  if (strcmp(name, "simclr_step_b512") == 0) return train_case(resnet18_cifar, &mlp, 1024, 0, repeats ? repeats : 3, out);
  if (strcmp(name, "simclr_step_vgg_b256") == 0) return train_case(vgg_fashion, &mlp, 512, 0, repeats ? repeats : 10, out);
  if (strcmp(name, "scan_step_b128") == 0) return train_case(resnet18_cifar, &cluster, 256, 0, repeats ? repeats : 5, out);
  if (strcmp(name, "selflabel_step_b256") == 0) return train_case(resnet18_cifar, &cluster, 256, 256, repeats ? repeats : 3, out);
  if (strcmp(name, "infer_b512") == 0) {
    scan_backbone_config b;
    resnet18_cifar(&b);
    int n = repeats ? repeats : 5;
    double seconds[64];
    if (n > 64) n = 64;
    SCAN_TRY(scan_bench_inference(&b, &cluster, 512, n, seconds));
    for (int r = 0; r < n; r++) seconds[r] = 512 / seconds[r];
    out->unit = "img/s";
    summarise(seconds, n, out);
    return SCAN_OK;
  }
  if (strncmp(name, "augment_", 8) == 0) {
    scan_aug_strategy s = strstr(name, "simclr") ? SCAN_AUG_SIMCLR : strstr(name, "ours") ? SCAN_AUG_OURS : SCAN_AUG_VAL;
    int n = repeats ? repeats : 5;
    double rates[64];
    if (n > 64) n = 64;
    for (int r = 0; r < n; r++) rates[r] = scan_bench_augment(s, 20000, 32, 3);
    out->unit = "img/s";
    summarise(rates, n, out);
    return SCAN_OK;
  }
  if (strncmp(name, "knn_", 4) == 0) {
    long n_points = strstr(name, "n50000") ? 50000 : 10000;
    int d = strstr(name, "d128") ? 128 : 512;
    int n = repeats ? repeats : 3;
    double seconds[64];
    if (n > 64) n = 64;
    for (int r = 0; r < n; r++) {
      seconds[r] = scan_bench_knn(n_points, d, 20);
      if (seconds[r] < 0) return scan_fail(SCAN_ERR_INTERNAL, "%s: the kNN search failed", name);
    }
    out->unit = "s";
    summarise(seconds, n, out);
    return SCAN_OK;
  }
  /* Measuring the convolution algorithms of the nets of simclr_step_vgg_b256 and simclr_step_b128 (both views: twice
   * the batch), as conv_algorithm: measure does once per stage: the seconds it takes; the choices on stderr. */
  if (strncmp(name, "conv_tuning_", 12) == 0) {
    scan_backbone_config b;
    const int vgg = strstr(name, "vgg") != NULL;
    (vgg ? vgg_fashion : resnet18_cifar)(&b);
    int n = repeats ? repeats : 1;
    double seconds[64];
    if (n > 64) n = 64;
    for (int r = 0; r < n; r++) SCAN_TRY(scan_bench_conv_tuning(&b, &mlp, vgg ? 512 : 256, &seconds[r]));
    out->unit = "s";
    summarise(seconds, n, out);
    return SCAN_OK;
  }
  /* The training steps of simclr_step_vgg_b256 and simclr_step_b128 with each layer's time per pass on stderr. */
  if (strncmp(name, "profile_", 8) == 0) {
    scan_backbone_config b;
    const int vgg = strstr(name, "vgg") != NULL;
    (vgg ? vgg_fashion : resnet18_cifar)(&b);
    const int images = vgg ? 512 : 256;
    int n = repeats ? repeats : 10;
    double seconds[64];
    if (n > 64) n = 64;
    SCAN_TRY(scan_bench_train_profile(&b, &mlp, images, n, stderr, seconds));
    for (int r = 0; r < n; r++) seconds[r] = images / seconds[r];
    out->unit = "img/s";
    summarise(seconds, n, out);
    return SCAN_OK;
  }
  if (strcmp(name, "lime_1000_32px") == 0) return explain_case(1, repeats, out);
  if (strcmp(name, "gradcam_32px") == 0) return explain_case(0, repeats, out);
  if (strcmp(name, "peak_rss_simclr_b512") == 0) {
    scan_bench_result ignored;
    SCAN_TRY(train_case(resnet18_cifar, &mlp, 1024, 0, 1, &ignored));
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double mib = (double)usage.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
    out->unit = "MiB";
    summarise(&mib, 1, out);
    return SCAN_OK;
  }
  return scan_fail(SCAN_ERR_INPUT, "unknown benchmark case '%s'", name);
}
