#include "testlib.h"

#include <math.h>

#include "scan/rng.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int test_passed, test_failed;

static char tmpdir_path[256];

int test_main_end(void) {
  printf("%d passed, %d failed\n", test_passed, test_failed);
  /* A passing test cleans up after itself; a failing one leaves its files to look at. */
  if (!test_failed && tmpdir_path[0]) {
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", tmpdir_path);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", tmpdir_path);
  }
  return test_failed ? 1 : 0;
}

const char *test_tmpdir(void) {
  if (!tmpdir_path[0]) {
    snprintf(tmpdir_path, sizeof tmpdir_path, "/tmp/scan-test-XXXXXX");
    if (!mkdtemp(tmpdir_path)) { perror("mkdtemp"); exit(1); }
  }
  return tmpdir_path;
}

const char *test_data_dir(void) {
  const char *d = getenv("SCAN_TEST_DATA");
  return d ? d : "tests/data";
}

const char *test_scan_bin(void) {
  const char *b = getenv("SCAN_BIN");
  return b ? b : "./scan";
}

int test_run(const char *command, char *output, int output_size) {
  char full[8192];
  snprintf(full, sizeof full, "%s 2>&1", command);
  FILE *p = popen(full, "r");
  if (!p) return -1;
  int used = 0;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) {
    if (output && used < output_size - 1) {
      size_t room = (size_t)(output_size - 1 - used);
      size_t take = n < room ? n : room;
      memcpy(output + used, chunk, take);
      used += (int)take;
    }
  }
  if (output) output[used] = '\0';
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

FILE *test_open_fixture(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", test_data_dir(), name);
  FILE *f = fopen(path, "r");
  CHECK_MSG(f != NULL, "cannot open %s", path);
  return f;
}

const char *test_path(const char *relative) {
  static char buf[8][1024];
  static int slot;
  slot = (slot + 1) % 8;
  snprintf(buf[slot], sizeof buf[slot], "%s/%s", test_tmpdir(), relative);
  return buf[slot];
}

int test_scan_run(const char *args, char *output, int output_size, int report) {
  char command[8192];
  snprintf(command, sizeof command, "%s %s", test_scan_bin(), args);
  int rc = test_run(command, output, output_size);
  if (rc != 0 && report) fprintf(stderr, "`%s` exited %d:\n%s\n", command, rc, output ? output : "");
  return rc;
}

void test_scan_rejects(const char *args, const char *needle, char *output, int output_size) {
  int rc = test_scan_run(args, output, output_size, 0);
  CHECK_MSG(rc == 2 && strstr(output, needle) != NULL, "scan %s -> %d: %s (wanted '%s')", args, rc, output, needle);
}

char *test_read_text(const char *path, long *size) {
  if (size) *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *text = NULL;
  long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)n + 1)) != NULL) {
    if (fread(text, 1, (size_t)n, f) == (size_t)n) {
      text[n] = '\0';
      if (size) *size = n;
    } else {
      free(text);
      text = NULL;
    }
  }
  fclose(f);
  return text;
}

int test_write_file(const char *path, const void *data, long size) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  int ok = fwrite(data, 1, (size_t)size, f) == (size_t)size;
  return (fclose(f) == 0 && ok) ? 0 : -1;
}

void test_to_blocked(int n, int c, int hw, int block, const float *plain, float *blocked) {
  const int blocks = (c + block - 1) / block;
  memset(blocked, 0, (size_t)n * blocks * block * hw * sizeof(float));
  for (int b = 0; b < n; b++)
    for (int ch = 0; ch < c; ch++)
      for (int i = 0; i < hw; i++)
        blocked[(((int64_t)b * blocks + ch / block) * hw + i) * block + ch % block] = plain[((int64_t)b * c + ch) * hw + i];
}

void test_from_blocked(int n, int c, int hw, int block, const float *blocked, float *plain) {
  const int blocks = (c + block - 1) / block;
  for (int b = 0; b < n; b++)
    for (int ch = 0; ch < c; ch++)
      for (int i = 0; i < hw; i++)
        plain[((int64_t)b * c + ch) * hw + i] = blocked[(((int64_t)b * blocks + ch / block) * hw + i) * block + ch % block];
}

float *test_randn(uint64_t seed, int64_t count, uint64_t stream) {
  float *v = malloc((size_t)count * sizeof *v);
  scan_rng r = scan_rng_make(seed, stream, 0);
  for (int64_t i = 0; v && i < count; i++) v[i] = (float)scan_rng_normal(&r);
  return v;
}

double test_max_rel_diff(const float *a, const float *b, int64_t count) {
  double worst = 0, scale = 1e-6;
  for (int64_t i = 0; i < count; i++) scale = test_worse(scale, fabs(b[i]));
  for (int64_t i = 0; i < count; i++) worst = test_worse(worst, fabs((double)a[i] - b[i]) / scale);
  return worst;
}

int test_light(void) {
  const char *value = getenv("SCAN_TEST_LIGHT");
  return value && atoi(value) != 0;
}
