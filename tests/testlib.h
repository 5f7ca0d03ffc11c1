/* A tiny test harness: CHECK records a failure with file and line and goes on;
 * test_main_end() prints "N passed, N failed" and returns the exit status. */
#ifndef SCAN_TESTLIB_H
#define SCAN_TESTLIB_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

extern int test_passed, test_failed;

#define CHECK(cond)                                                   \
  do {                                                                \
    if (cond) test_passed++;                                          \
    else { test_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
  } while (0)

#define CHECK_MSG(cond, ...)                                          \
  do {                                                                \
    if (cond) test_passed++;                                          \
    else { test_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
           fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); }      \
  } while (0)

/* |a - b| <= atol + rtol * |b| */
#define CHECK_NEAR(a, b, atol, rtol)                                                 \
  do {                                                                               \
    double ta_ = (a), tb_ = (b);                                                     \
    if (fabs(ta_ - tb_) <= (atol) + (rtol) * fabs(tb_)) test_passed++;               \
    else { test_failed++; fprintf(stderr, "%s:%d: %s = %.9g, expected %s = %.9g\n", \
                                  __FILE__, __LINE__, #a, ta_, #b, tb_); }           \
  } while (0)

int test_main_end(void);

/* The sanitizer run's smaller sizes: SCAN_TEST_LIGHT set to a non-zero number (scripts/test.sh sets 1). One reading
 * for every test, so SCAN_TEST_LIGHT=0 means "not light" everywhere. */
int test_light(void);

/* Paths: a fresh temporary directory for this test, the fixture directory,
 * and the scan binary (from the SCAN_TEST_DATA / SCAN_BIN environment). */
const char *test_tmpdir(void);
const char *test_data_dir(void);
const char *test_scan_bin(void);
/* A fixture of the data directory opened for reading; NULL, after a failed CHECK naming it, when it cannot be. */
FILE *test_open_fixture(const char *name);

/* A path under test_tmpdir(), in one of 8 buffers used in turn (so up to 8 can be live at once). */
const char *test_path(const char *relative);

/* Runs a shell command, captures stdout+stderr into `output` (may be NULL),
 * returns the exit status (or -1). */
int test_run(const char *command, char *output, int output_size);

/* Runs `<scan binary> <args>` as test_run does; with `report` set, a non-zero exit status prints the command
 * and its output to stderr (for commands that should succeed). */
int test_scan_run(const char *args, char *output, int output_size, int report);
/* CHECKs that `scan <args>` exits 2 (bad input) with `needle` in its output (left in `output`). */
void test_scan_rejects(const char *args, const char *needle, char *output, int output_size);

/* A whole file, malloc'd and NUL-terminated (the caller frees); NULL when it cannot be read. *size (may be NULL)
 * receives its length. */
char *test_read_text(const char *path, long *size);

/* Writes bytes to a file; returns 0 on success. */
int test_write_file(const char *path, const void *data, long size);

/* Plain NCHW <-> blocked nChw<block>c activations (padded channels zero), the layout of include/scan/tensor.h. */
void test_to_blocked(int n, int c, int hw, int block, const float *plain, float *blocked);
void test_from_blocked(int n, int c, int hw, int block, const float *blocked, float *plain);

/* count standard normal floats from scan_rng stream (seed, stream), malloc'd (the caller frees). */
float *test_randn(uint64_t seed, int64_t count, uint64_t stream);
/* The largest |a[i] - b[i]| relative to the largest |b[i]| (at least 1e-6); INFINITY when any a[i] or b[i]
 * is NaN or inf, so `test_max_rel_diff(...) < tol` fails on a kernel that writes NaN. */
double test_max_rel_diff(const float *a, const float *b, int64_t count);

/* The running worst of non-negative errors: max(worst, error), but INFINITY once an error is NaN or inf.
 * fmax would drop a NaN (fmax(0, NaN) = 0), so an all-NaN result would pass `worst < tol` or `worst == 0`. */
/* Image `index` of a dataset held in memory (the library reads images through scan_dataset_read, which also
 * serves streamed datasets; tests that built or loaded a dataset whole look at its pixels directly). */
#define TEST_DATASET_IMAGE(d, index) \
  ((d)->pixels + (size_t)(index) * (size_t)(d)->height * (size_t)(d)->width * (size_t)(d)->channels)

static inline double test_worse(double worst, double error) {
  if (!isfinite(error) || !isfinite(worst)) return INFINITY;
  return error > worst ? error : worst;
}

#endif
