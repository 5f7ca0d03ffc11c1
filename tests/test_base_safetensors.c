/* safetensors: round trips for every dtype, a file laid out like the reference PyTorch writer
 * (tools/make_safetensors_fixture.py), and rejection of damaged files with the file name in the message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/safetensors.h"
#include "testlib.h"

static void test_round_trip(void) {
  float f32[6] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-8f, -7.0f};
  double f64[3] = {0.1, -1e300, 2.5};
  int64_t i64[2] = {INT64_MIN, 1234567890123LL};
  int32_t i32[4] = {-1, 2, INT32_MAX, 0};
  uint8_t u8[3] = {0, 128, 255}; /* odd size, so the tensor after it is misaligned in the file */
  float after[2] = {9.0f, -9.5f};
  scan_tensor_view in[6] = {
      {.name = "a.weight", .dtype = SCAN_F32, .ndim = 2, .shape = {2, 3}, .data = f32, .nbytes = sizeof f32},
      {.name = "b", .dtype = SCAN_F64, .ndim = 1, .shape = {3}, .data = f64, .nbytes = sizeof f64},
      {.name = "c \"quoted\"", .dtype = SCAN_I64, .ndim = 0, .data = i64, .nbytes = 8},
      {.name = "d", .dtype = SCAN_I32, .ndim = 3, .shape = {1, 2, 2}, .data = i32, .nbytes = sizeof i32},
      {.name = "e", .dtype = SCAN_U8, .ndim = 1, .shape = {3}, .data = u8, .nbytes = sizeof u8},
      {.name = "f", .dtype = SCAN_F32, .ndim = 1, .shape = {2}, .data = after, .nbytes = sizeof after},
  };
  const char *meta[] = {"head", "2", "format", "pt", NULL};
  char path[512];
  snprintf(path, sizeof path, "%s/rt.safetensors", test_tmpdir());
  CHECK_MSG(scan_safetensors_write(path, in, 6, meta) == SCAN_OK, "%s", scan_error_message());

  unsigned char *bytes;
  size_t size;
  CHECK(scan_read_file(path, &bytes, &size) == SCAN_OK);
  uint64_t header_len = 0;
  for (int i = 0; i < 8; i++) header_len |= (uint64_t)bytes[i] << (8 * i);
  CHECK(header_len % 8 == 0);
  CHECK(size == 8 + header_len + sizeof f32 + sizeof f64 + 8 + sizeof i32 + sizeof u8 + sizeof after);
  free(bytes);

  scan_safetensors *st;
  CHECK_MSG(scan_safetensors_read(path, &st) == SCAN_OK, "%s", scan_error_message());
  if (!st) return;
  CHECK(scan_safetensors_count(st) == 6);
  for (int i = 0; i < 6 && i < scan_safetensors_count(st); i++) {
    const scan_tensor_view *t = scan_safetensors_get(st, i);
    CHECK(strcmp(t->name, in[i].name) == 0); /* order preserved */
    CHECK(t->dtype == in[i].dtype && t->ndim == in[i].ndim && t->nbytes == in[i].nbytes);
    for (int d = 0; d < t->ndim; d++) CHECK(t->shape[d] == in[i].shape[d]);
    CHECK(memcmp(t->data, in[i].data, t->nbytes) == 0);
    CHECK((uintptr_t)t->data % (uintptr_t)scan_dtype_size(t->dtype) == 0);
  }
  CHECK(scan_safetensors_find(st, "missing") == NULL);
  CHECK(scan_safetensors_find(st, "d") == scan_safetensors_get(st, 3));
  CHECK(scan_safetensors_metadata(st, "head") && strcmp(scan_safetensors_metadata(st, "head"), "2") == 0);
  CHECK(scan_safetensors_metadata(st, "nothing") == NULL);
  scan_safetensors_free(st);

  /* No tensors, no metadata: still a valid file. */
  snprintf(path, sizeof path, "%s/empty.safetensors", test_tmpdir());
  CHECK(scan_safetensors_write(path, NULL, 0, NULL) == SCAN_OK);
  CHECK(scan_safetensors_read(path, &st) == SCAN_OK);
  if (st) CHECK(scan_safetensors_count(st) == 0);
  scan_safetensors_free(st);

  /* A view whose byte count disagrees with its shape is a caller bug, and nothing is written. */
  snprintf(path, sizeof path, "%s/bad.safetensors", test_tmpdir());
  scan_tensor_view wrong = in[0];
  wrong.nbytes = 20;
  CHECK(scan_safetensors_write(path, &wrong, 1, NULL) == SCAN_ERR_INTERNAL);
  CHECK(!scan_file_exists(path));
}

static void test_reference_file(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/reference.safetensors", test_data_dir());
  scan_safetensors *st;
  CHECK_MSG(scan_safetensors_read(path, &st) == SCAN_OK, "%s", scan_error_message());
  if (!st) return;
  CHECK(scan_safetensors_count(st) == 7);
  CHECK(scan_safetensors_metadata(st, "format") && strcmp(scan_safetensors_metadata(st, "format"), "pt") == 0);
  const scan_tensor_view *w = scan_safetensors_find(st, "backbone.conv1.weight");
  CHECK(w && w->dtype == SCAN_F32 && w->ndim == 4 && w->shape[0] == 2 && w->shape[3] == 3);
  if (w)
    for (int i = 0; i < 54; i++) CHECK_NEAR(((const float *)w->data)[i], (i - 20.5) / 8.0, 0, 0);
  const scan_tensor_view *v = scan_safetensors_find(st, "backbone.bn1.running_var");
  CHECK(v && v->dtype == SCAN_F64 && ((const double *)v->data)[1] == 1.5);
  const scan_tensor_view *n = scan_safetensors_find(st, "backbone.bn1.num_batches_tracked");
  CHECK(n && n->dtype == SCAN_I64 && n->ndim == 0 && *(const int64_t *)n->data == 12345678901LL);
  const scan_tensor_view *l = scan_safetensors_find(st, "labels");
  CHECK(l && l->dtype == SCAN_I32 && ((const int32_t *)l->data)[3] == INT32_MIN);
  const scan_tensor_view *m = scan_safetensors_find(st, "mask");
  CHECK(m && m->dtype == SCAN_U8 && m->ndim == 2 && ((const uint8_t *)m->data)[2] == 255);
  const scan_tensor_view *e = scan_safetensors_find(st, "empty");
  CHECK(e && e->nbytes == 0 && e->shape[0] == 0 && e->shape[1] == 4);
  scan_safetensors_free(st);
}

/* Builds a file from a header string and `data_bytes` bytes of data. */
static size_t make_file(unsigned char *out, const char *header, size_t data_bytes) {
  size_t len = strlen(header);
  for (int i = 0; i < 8; i++) out[i] = (unsigned char)((uint64_t)len >> (8 * i));
  memcpy(out + 8, header, len);
  memset(out + 8 + len, 0, data_bytes);
  return 8 + len + data_bytes;
}

static void expect_rejected(const char *label, const unsigned char *bytes, size_t size, const char *needle) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.safetensors", test_tmpdir(), label);
  CHECK(test_write_file(path, bytes, (long)size) == 0);
  scan_safetensors *st = (scan_safetensors *)1;
  scan_status s = scan_safetensors_read(path, &st);
  CHECK_MSG(s == SCAN_ERR_INPUT, "%s: status %d", label, (int)s);
  CHECK(st == NULL);
  CHECK_MSG(strstr(scan_error_message(), path) != NULL, "%s: message lacks the file name: %s", label,
            scan_error_message());
  CHECK_MSG(strstr(scan_error_message(), needle) != NULL, "%s: message lacks '%s': %s", label, needle,
            scan_error_message());
}

static void test_damaged(void) {
  unsigned char buf[1024];
  const char *good = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  size_t n = make_file(buf, good, 8);
  scan_safetensors *st;
  CHECK(scan_safetensors_parse(buf, n, "ok", &st) == SCAN_OK); /* the template itself is valid */
  scan_safetensors_free(st);

  expect_rejected("truncated", buf, n - 3, "outside");
  expect_rejected("short", buf, 5, "too short");
  unsigned char bad[1024];
  memcpy(bad, buf, n);
  bad[7] = 0x40; /* an absurd header length: what a non-safetensors file looks like */
  expect_rejected("bad_length", bad, n, "header length");
  n = make_file(buf, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8);
  expect_rejected("bad_json", buf, n, "JSON");
  n = make_file(buf, "{\"x\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
  expect_rejected("bad_dtype", buf, n, "BF16");
  n = make_file(buf, "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
  expect_rejected("bad_size", buf, n, "need 12");
  n = make_file(buf, "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8);
  expect_rejected("reversed", buf, n, "outside");
  n = make_file(buf, "{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 8);
  expect_rejected("negative", buf, n, "shape");
  n = make_file(buf, "{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", 8);
  expect_rejected("no_offsets", buf, n, "data_offsets");
  n = make_file(buf, "[1,2]", 0);
  expect_rejected("not_object", buf, n, "'{'");
  n = make_file(buf, "{\"__metadata__\":{\"k\":3}}", 0);
  expect_rejected("bad_metadata", buf, n, "metadata");
  n = make_file(buf, "{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                     "\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2);
  expect_rejected("duplicate", buf, n, "twice");
}

int main(void) {
  test_round_trip();
  test_reference_file();
  test_damaged();
  return test_main_end();
}
