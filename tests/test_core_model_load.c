/* Loading a clustering model (scan_load_cluster_head over scan_net_load_mapped): the chosen head of a multi-head
 * file loads into a one-head net, and a file whose tensors do not fit (a transposed head, a missing or unexpected
 * tensor, a wrong dtype, a best_head that names no head) is refused with the file and the tensor named, before
 * a single byte of the network changes. */
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/model_load.h"
#include "scan/nn.h"
#include "scan/safetensors.h"
#include "testlib.h"

enum { CLASSES = 10, FEATURES = 64, HEADS = 3, MAX_VIEWS = 64 };

static const scan_backbone_config backbone = {.kind = SCAN_BACKBONE_VGG, .in_channels = 1, .height = 8, .width = 8,
                                              .width_multiplier = 1, .vgg_widths = {4, FEATURES}, .vgg_stages = 2};

static scan_net *cluster_net(int heads, uint64_t seed) {
  scan_head_config head = {.kind = SCAN_HEAD_CLUSTER, .num_heads = heads, .num_classes = CLASSES};
  scan_net *net = NULL;
  CHECK(scan_net_create(&net, scan_context_default(), &backbone, &head, 2, seed) == SCAN_OK);
  return net;
}

/* Every parameter's bytes one after another: what "the net is unchanged" compares. */
static unsigned char *snapshot(const scan_net *net, size_t *size) {
  *size = 0;
  for (int i = 0; i < scan_net_param_count(net); i++) *size += (size_t)scan_param_numel(scan_net_param(net, i)) * sizeof(float);
  unsigned char *bytes = malloc(*size), *at = bytes;
  for (int i = 0; i < scan_net_param_count(net); i++) {
    const scan_param *p = scan_net_param(net, i);
    memcpy(at, p->data, (size_t)scan_param_numel(p) * sizeof(float));
    at += scan_param_numel(p) * sizeof(float);
  }
  return bytes;
}

/* A model file's tensors, to be edited and written again. The views point into `file`, kept open until written. */
typedef struct {
  scan_safetensors *file;
  scan_tensor_view views[MAX_VIEWS];
  int count;
} model_edit;

static void edit_open(model_edit *e, const char *path) {
  CHECK(scan_safetensors_read(path, &e->file) == SCAN_OK);
  e->count = scan_safetensors_count(e->file);
  CHECK(e->count <= MAX_VIEWS);
  for (int i = 0; i < e->count && i < MAX_VIEWS; i++) e->views[i] = *scan_safetensors_get(e->file, i);
}

static scan_tensor_view *edit_find(model_edit *e, const char *name) {
  for (int i = 0; i < e->count; i++)
    if (strcmp(e->views[i].name, name) == 0) return &e->views[i];
  CHECK_MSG(0, "no tensor '%s' in the file under edit", name);
  return &e->views[0];
}

static void edit_drop(model_edit *e, const char *name) {
  scan_tensor_view *v = edit_find(e, name);
  *v = e->views[--e->count];
}

/* Writes the edited tensors to tmpdir/<name> with metadata best_head (NULL: none); returns the path (static). */
static const char *edit_write(model_edit *e, const char *name, const char *best_head) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
  const char *meta[] = {"stage", "scan", best_head ? "best_head" : NULL, best_head, NULL};
  CHECK_MSG(scan_safetensors_write(path, e->views, e->count, meta) == SCAN_OK, "%s", scan_error_message());
  scan_safetensors_free(e->file);
  return path;
}

/* A file the loader must refuse: the status is SCAN_ERR_INPUT, the message names the file and every one of
 * `words` (the tensor, the problem), and the network is byte for byte what it was. */
static void check_refused(scan_net *net, const char *path, const char *const *words) {
  size_t before_size, after_size;
  unsigned char *before = snapshot(net, &before_size);
  int head = -1;
  CHECK_MSG(scan_load_cluster_head(net, path, &head) == SCAN_ERR_INPUT, "%s was accepted", path);
  const char *message = scan_error_message();
  CHECK_MSG(strstr(message, path) != NULL, "the message does not name the file: %s", message);
  for (int i = 0; words[i]; i++) CHECK_MSG(strstr(message, words[i]) != NULL, "'%s' not in: %s", words[i], message);
  unsigned char *after = snapshot(net, &after_size);
  CHECK_MSG(before_size == after_size && memcmp(before, after, before_size) == 0, "%s changed the network", path);
  free(before);
  free(after);
}

/* The file's tensor `name` has float32 values equal to the net's parameter `param`. */
static int same_values(const scan_net *net, const char *param, const scan_safetensors *f, const char *name) {
  const scan_param *p = scan_net_find_param(net, param);
  const scan_tensor_view *v = scan_safetensors_find(f, name);
  return p && v && v->dtype == SCAN_F32 && v->nbytes == (size_t)scan_param_numel(p) * sizeof(float) &&
         memcmp(p->data, v->data, v->nbytes) == 0;
}

static void test_best_head_loads(const char *path) {
  scan_net *net = cluster_net(1, 7);
  int head = -1;
  CHECK_MSG(scan_load_cluster_head(net, path, &head) == SCAN_OK, "%s", scan_error_message());
  CHECK(head == 2);
  scan_safetensors *f = NULL;
  CHECK(scan_safetensors_read(path, &f) == SCAN_OK);
  CHECK(same_values(net, "cluster_head.0.weight", f, "cluster_head.2.weight"));
  CHECK(same_values(net, "cluster_head.0.bias", f, "cluster_head.2.bias"));
  CHECK(!same_values(net, "cluster_head.0.weight", f, "cluster_head.0.weight")); /* the heads differ */
  CHECK(same_values(net, "backbone.features.0.weight", f, "backbone.features.0.weight"));
  CHECK(same_values(net, "backbone.features.4.running_mean", f, "backbone.features.4.running_mean"));
  /* the counter is stored as int64, as PyTorch does, and loads as a float */
  const scan_tensor_view *counter = scan_safetensors_find(f, "backbone.features.1.num_batches_tracked");
  CHECK(counter && counter->dtype == SCAN_I64 && *(const int64_t *)counter->data == 1);
  CHECK(scan_net_find_param(net, "backbone.features.1.num_batches_tracked")->data[0] == 1.0f);
  scan_safetensors_free(f);

  scan_model_info info;
  CHECK(scan_model_info_read(path, &info) == SCAN_OK && info.heads == HEADS && info.chosen == 2 &&
        info.classes == CLASSES && info.in_channels == 1);

  /* Without the other heads marked as extras, the mapping alone refuses them by name. */
  scan_net_load_map strict = {.from = "cluster_head.2.", .to = "cluster_head.0."};
  CHECK(scan_net_load_mapped(net, path, &strict) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "unexpected key 'cluster_head.") != NULL);
  scan_net_free(net);
}

/* Shape, missing and unexpected tensors, each in the chosen head and in the backbone. */
static void test_names_and_shapes(scan_net *net, const char *good) {
  model_edit e;
  edit_open(&e, good);
  scan_tensor_view *w = edit_find(&e, "cluster_head.2.weight");
  w->shape[0] = FEATURES, w->shape[1] = CLASSES; /* same bytes, transposed: a byte count cannot tell */
  check_refused(net, edit_write(&e, "transposed.safetensors", "2"),
                (const char *const[]){"'cluster_head.2.weight'", "[64, 10]", "[10, 64]", NULL});

  edit_open(&e, good);
  edit_drop(&e, "backbone.features.4.running_var");
  check_refused(net, edit_write(&e, "missing.safetensors", "2"),
                (const char *const[]){"missing", "'backbone.features.4.running_var'", NULL});
  edit_open(&e, good);
  edit_drop(&e, "cluster_head.2.bias");
  check_refused(net, edit_write(&e, "missing_head.safetensors", "2"),
                (const char *const[]){"missing", "'cluster_head.2.bias'", NULL});

  float extra[3] = {1, 2, 3};
  edit_open(&e, good);
  e.views[e.count++] = (scan_tensor_view){.name = "backbone.features.9.weight", .dtype = SCAN_F32, .ndim = 1,
                                          .shape = {3}, .data = extra, .nbytes = sizeof extra};
  check_refused(net, edit_write(&e, "unexpected.safetensors", "2"),
                (const char *const[]){"unexpected", "'backbone.features.9.weight'", NULL});
  /* the chosen head's prefix is not a free pass: a tensor under it that the net does not have is unexpected */
  edit_open(&e, good);
  e.views[e.count++] = (scan_tensor_view){.name = "cluster_head.2.scale", .dtype = SCAN_F32, .ndim = 1,
                                          .shape = {3}, .data = extra, .nbytes = sizeof extra};
  check_refused(net, edit_write(&e, "unexpected_head.safetensors", "2"),
                (const char *const[]){"unexpected", "'cluster_head.2.scale'", NULL});
}

/* int32 and float64 where float32 (or int64 for a counter) belongs; float16, which the reader does not take. */
static void test_dtypes(scan_net *net, const char *good) {
  int32_t counter32 = 1;
  model_edit e;
  edit_open(&e, good);
  scan_tensor_view *c = edit_find(&e, "backbone.features.1.num_batches_tracked");
  c->dtype = SCAN_I32, c->data = &counter32, c->nbytes = sizeof counter32;
  check_refused(net, edit_write(&e, "counter_i32.safetensors", "2"),
                (const char *const[]){"'backbone.features.1.num_batches_tracked'", "int32", NULL});

  double bias64[CLASSES] = {0};
  edit_open(&e, good);
  scan_tensor_view *b = edit_find(&e, "cluster_head.2.bias");
  b->dtype = SCAN_F64, b->data = bias64, b->nbytes = sizeof bias64;
  check_refused(net, edit_write(&e, "bias_f64.safetensors", "2"), (const char *const[]){"'cluster_head.2.bias'", "float64", NULL});

  /* The writer has no float16, so the header's dtype is edited in place: the first "F32" after the tensor's name. */
  unsigned char *bytes = NULL;
  size_t size = 0;
  CHECK(scan_read_file(good, &bytes, &size) == SCAN_OK);
  char *name = bytes ? memmem(bytes, size, "\"cluster_head.2.weight\"", 23) : NULL;
  char *dtype = name ? memmem(name, size - (size_t)(name - (char *)bytes), "\"F32\"", 5) : NULL;
  CHECK(dtype != NULL);
  if (dtype) memcpy(dtype, "\"F16\"", 5);
  char path[512];
  snprintf(path, sizeof path, "%s/weight_f16.safetensors", test_tmpdir());
  CHECK(bytes && test_write_file(path, bytes, (long)size) == 0);
  free(bytes);
  check_refused(net, path, (const char *const[]){"'cluster_head.2.weight'", "F16", NULL});
}

static void test_best_head_metadata(scan_net *net, const char *good) {
  const char *const bad[] = {"3", "-1", "two", "2x", ""};
  for (int i = 0; i < 5; i++) {
    model_edit e;
    edit_open(&e, good);
    char name[64];
    snprintf(name, sizeof name, "best_head_%d.safetensors", i);
    const char *path = edit_write(&e, name, bad[i]);
    check_refused(net, path, (const char *const[]){"best_head", NULL});
    scan_model_info info;
    CHECK(scan_model_info_read(path, &info) == SCAN_ERR_INPUT && strstr(scan_error_message(), path) != NULL);
  }
  /* absent: head 0 */
  model_edit e;
  edit_open(&e, good);
  const char *path = edit_write(&e, "no_best_head.safetensors", NULL);
  scan_net *one = cluster_net(1, 8);
  int head = -1;
  CHECK(scan_load_cluster_head(one, path, &head) == SCAN_OK && head == 0);
  scan_safetensors *f = NULL;
  CHECK(scan_safetensors_read(path, &f) == SCAN_OK);
  CHECK(same_values(one, "cluster_head.0.weight", f, "cluster_head.0.weight"));
  scan_safetensors_free(f);
  scan_net_free(one);
}

int main(void) {
  /* A three-head SCAN model after one training forward (so the batch-norm statistics and counters are not their
     initial values), saved as the cluster stage saves it: best_head = 2. */
  scan_net *three = cluster_net(HEADS, 3);
  float *x = test_randn(5, 2 * 64, 0);
  CHECK(scan_net_forward(three, x, 2, 1) == SCAN_OK);
  free(x);
  char good[512];
  snprintf(good, sizeof good, "%s/scan_model.safetensors", test_tmpdir());
  const char *meta[] = {"stage", "scan", "best_head", "2", NULL};
  CHECK(scan_net_save(three, good, meta) == SCAN_OK);
  scan_net_free(three);

  test_best_head_loads(good);
  scan_net *net = cluster_net(1, 11);
  test_names_and_shapes(net, good);
  test_dtypes(net, good);
  test_best_head_metadata(net, good);
  scan_net_free(net);
  return test_main_end();
}
