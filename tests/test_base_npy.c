/* .npy: round trips for every dtype, files written by numpy.save (tools/make_safetensors_fixture.py),
 * and rejection of damaged files with a message that names the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/npy.h"
#include "testlib.h"

static void path_in(char *out, size_t cap, const char *dir, const char *name) { snprintf(out, cap, "%s/%s", dir, name); }

static void test_round_trip(scan_dtype dtype, int ndim, const int64_t *shape) {
  scan_array a = {.dtype = dtype, .ndim = ndim};
  memcpy(a.shape, shape, sizeof(int64_t) * (size_t)ndim);
  int64_t n = scan_array_count(&a);
  size_t nbytes = (size_t)n * (size_t)scan_dtype_size(dtype);
  unsigned char *bytes = malloc(nbytes + 1);
  for (size_t i = 0; i < nbytes; i++) bytes[i] = (unsigned char)(i * 37 + 11);
  a.data = bytes;
  char path[512];
  snprintf(path, sizeof path, "%s/rt_%d_%d.npy", test_tmpdir(), (int)dtype, ndim);
  CHECK(scan_npy_write(path, &a) == SCAN_OK);

  /* The header is padded so the data begins on a 64-byte boundary. */
  unsigned char *file;
  size_t size;
  CHECK(scan_read_file(path, &file, &size) == SCAN_OK);
  CHECK((size - nbytes) % 64 == 0);
  free(file);

  scan_array b;
  CHECK_MSG(scan_npy_read(path, &b) == SCAN_OK, "%s", scan_error_message());
  CHECK(b.dtype == dtype && b.ndim == ndim);
  for (int i = 0; i < ndim && i < b.ndim; i++) CHECK(b.shape[i] == shape[i]);
  CHECK(b.data && (nbytes == 0 || memcmp(b.data, bytes, nbytes) == 0));
  scan_array_free(&b);
  free(bytes);
}

static void test_numpy_fixtures(void) {
  char path[512];
  scan_array a;
  path_in(path, sizeof path, test_data_dir(), "reference_f32.npy");
  CHECK_MSG(scan_npy_read(path, &a) == SCAN_OK, "%s", scan_error_message());
  CHECK(a.dtype == SCAN_F32 && a.ndim == 2 && a.shape[0] == 3 && a.shape[1] == 4);
  if (a.data) {
    const float *f = a.data;
    for (int i = 0; i < 12; i++) CHECK_NEAR(f[i], i / 4.0 - 1.0, 0, 0);
  }
  scan_array_free(&a);

  path_in(path, sizeof path, test_data_dir(), "reference_i64.npy");
  CHECK(scan_npy_read(path, &a) == SCAN_OK);
  CHECK(a.dtype == SCAN_I64 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3);
  if (a.data) {
    const int64_t *v = a.data;
    CHECK(v[0] == 0 && v[1] == 5 && v[2] == -1 && v[3] == ((int64_t)1 << 40) && v[5] == 4);
  }
  scan_array_free(&a);

  path_in(path, sizeof path, test_data_dir(), "reference_u8.npy");
  CHECK(scan_npy_read(path, &a) == SCAN_OK);
  CHECK(a.dtype == SCAN_U8 && a.ndim == 3 && a.shape[0] == 1 && a.shape[1] == 2 && a.shape[2] == 3);
  if (a.data) CHECK(((const uint8_t *)a.data)[5] == 200);
  scan_array_free(&a);

  path_in(path, sizeof path, test_data_dir(), "reference_f64_v2.npy");
  CHECK_MSG(scan_npy_read(path, &a) == SCAN_OK, "%s", scan_error_message());
  CHECK(a.dtype == SCAN_F64 && a.ndim == 1 && a.shape[0] == 2);
  if (a.data) CHECK(((const double *)a.data)[1] == -2.25);
  scan_array_free(&a);

  path_in(path, sizeof path, test_data_dir(), "reference_fortran.npy");
  CHECK(scan_npy_read(path, &a) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "reference_fortran.npy") && strstr(scan_error_message(), "Fortran"));
}

/* Writes `bytes` to a file, reads it back, expects SCAN_ERR_INPUT with the file name and `needle` in the message. */
static void expect_rejected(const char *label, const unsigned char *bytes, size_t size, const char *needle) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.npy", test_tmpdir(), label);
  CHECK(test_write_file(path, bytes, (long)size) == 0);
  scan_array a;
  scan_status st = scan_npy_read(path, &a);
  CHECK_MSG(st == SCAN_ERR_INPUT, "%s: status %d", label, (int)st);
  CHECK_MSG(strstr(scan_error_message(), path) != NULL, "%s: message lacks the file name: %s", label,
            scan_error_message());
  CHECK_MSG(strstr(scan_error_message(), needle) != NULL, "%s: message lacks '%s': %s", label, needle,
            scan_error_message());
  CHECK(a.data == NULL);
}

/* A valid little file with a custom header dict, for the header-syntax cases. */
static size_t make_npy(unsigned char *out, const char *dict, size_t data_bytes) {
  size_t len = strlen(dict);
  size_t total = (10 + len + 1 + 63) / 64 * 64;
  memcpy(out, "\x93NUMPY\x01\x00", 8);
  out[8] = (unsigned char)((total - 10) & 0xff);
  out[9] = (unsigned char)((total - 10) >> 8);
  memcpy(out + 10, dict, len);
  memset(out + 10 + len, ' ', total - 10 - len - 1);
  out[total - 1] = '\n';
  memset(out + total, 0x3f, data_bytes);
  return total + data_bytes;
}

static void test_damaged(void) {
  unsigned char buf[1024];
  size_t n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24);
  scan_array a;
  CHECK(scan_npy_parse(buf, n, "ok.npy", &a) == SCAN_OK); /* the template itself is valid */
  CHECK(a.ndim == 2 && a.shape[1] == 3);
  scan_array_free(&a);

  expect_rejected("truncated", buf, n - 5, "truncated");
  expect_rejected("header_cut", buf, 40, "truncated");
  unsigned char bad[1024];
  memcpy(bad, buf, n);
  bad[1] = 'X';
  expect_rejected("bad_magic", bad, n, "magic");
  memcpy(bad, buf, n);
  bad[6] = 9;
  expect_rejected("bad_version", bad, n, "version");

  n = make_npy(buf, "{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }", 24);
  expect_rejected("big_endian", buf, n, "big-endian");
  n = make_npy(buf, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", 24);
  expect_rejected("complex", buf, n, "unsupported");
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24);
  expect_rejected("fortran", buf, n, "Fortran");
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3 }", 24);
  expect_rejected("bad_tuple", buf, n, "shape");
  n = make_npy(buf, "{'descr': '<f4', 'shape': (6,), }", 24);
  expect_rejected("missing_key", buf, n, "fortran_order");
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }", 24);
  expect_rejected("negative", buf, n, "non-negative");
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", 24);
  expect_rejected("trailing", buf, n, "after the data");
  n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", 24);
  expect_rejected("huge", buf, n, "too large");

  /* Variants NumPy accepts: double quotes, no trailing comma, 0-d arrays. */
  n = make_npy(buf, "{\"descr\": \"<i4\", \"shape\": (), \"fortran_order\": False}", 4);
  CHECK_MSG(scan_npy_parse(buf, n, "scalar.npy", &a) == SCAN_OK, "%s", scan_error_message());
  CHECK(a.ndim == 0 && a.dtype == SCAN_I32 && scan_array_count(&a) == 1);
  scan_array_free(&a);
}

/* Every integer dtype reads back as its value through scan_array_int (labels for scan metrics). */
static void test_integer_values(void) {
  unsigned char buf[256];
  const unsigned char i2[] = {0xfe, 0xff, 0x07, 0x00}; /* -2, 7 */
  size_t n = make_npy(buf, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }", 4);
  memcpy(buf + n - 4, i2, 4);
  scan_array a;
  CHECK(scan_npy_parse(buf, n, "i2.npy", &a) == SCAN_OK);
  CHECK(a.dtype == SCAN_I16 && scan_array_int(&a, 0) == -2 && scan_array_int(&a, 1) == 7);
  scan_array_free(&a);
  const unsigned char u4[] = {0xff, 0xff, 0xff, 0xff}; /* 4294967295 */
  n = make_npy(buf, "{'descr': '<u4', 'fortran_order': False, 'shape': (1,), }", 4);
  memcpy(buf + n - 4, u4, 4);
  CHECK(scan_npy_parse(buf, n, "u4.npy", &a) == SCAN_OK);
  CHECK(a.dtype == SCAN_U32 && scan_array_int(&a, 0) == 4294967295LL);
  scan_array_free(&a);
  const unsigned char i1[] = {0x80}; /* -128 */
  n = make_npy(buf, "{'descr': '|i1', 'fortran_order': False, 'shape': (1,), }", 1);
  memcpy(buf + n - 1, i1, 1);
  CHECK(scan_npy_parse(buf, n, "i1.npy", &a) == SCAN_OK);
  CHECK(a.dtype == SCAN_I8 && scan_array_int(&a, 0) == -128);
  scan_array_free(&a);
}

int main(void) {
  const int64_t s0[1] = {0}, s1[1] = {7}, s2[2] = {3, 5}, s4[4] = {2, 1, 3, 2};
  test_round_trip(SCAN_F32, 2, s2);
  test_round_trip(SCAN_F64, 1, s1);
  test_round_trip(SCAN_I64, 2, s2);
  test_round_trip(SCAN_I32, 4, s4);
  test_round_trip(SCAN_U8, 4, s4);
  test_round_trip(SCAN_I8, 2, s2);
  test_round_trip(SCAN_I16, 2, s2);
  test_round_trip(SCAN_U16, 1, s1);
  test_round_trip(SCAN_U32, 2, s2);
  test_round_trip(SCAN_U64, 1, s1);
  test_integer_values();
  test_round_trip(SCAN_F32, 0, s0);
  test_round_trip(SCAN_F32, 1, s0);
  test_numpy_fixtures();
  test_damaged();
  return test_main_end();
}
