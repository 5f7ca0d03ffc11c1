/* Reading and writing whole files: only regular files are read (a FIFO is refused at once instead of
 * waiting for a writer, a device such as /dev/zero instead of filling memory), the size limit is checked
 * before anything is read, and a failed write says why (strerror). An alarm turns a hang into a failure. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan/atomic_file.h"
#include "scan/npy.h"
#include "scan/safetensors.h"
#include "testlib.h"

static void on_alarm(int signal_number) {
  (void)signal_number;
  static const char message[] = "test_base_files: a read hung (alarm after 20 s)\n";
  if (write(2, message, sizeof message - 1) < 0) _exit(3);
  _exit(3);
}

static void test_reads(void) {
  unsigned char *data = NULL;
  size_t size = 0;
  char fifo[1024];
  snprintf(fifo, sizeof fifo, "%s", test_path("fifo"));
  CHECK(mkfifo(fifo, 0644) == 0);
  CHECK(scan_read_file(fifo, &data, &size) == SCAN_ERR_INPUT && data == NULL);
  CHECK_MSG(strstr(scan_error_message(), "fifo: is a FIFO"), "%s", scan_error_message());
  CHECK(scan_read_file("/dev/zero", &data, &size) == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "/dev/zero: is a device"), "%s", scan_error_message());
  CHECK(scan_read_file(test_tmpdir(), &data, &size) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "is a directory") != NULL);
  /* The readers built on it refuse the same way (a model or array named by the user). */
  scan_array array;
  CHECK(scan_npy_read(fifo, &array) == SCAN_ERR_INPUT && strstr(scan_error_message(), "FIFO"));
  scan_safetensors *tensors = NULL;
  CHECK(scan_safetensors_read("/dev/zero", &tensors) == SCAN_ERR_INPUT && strstr(scan_error_message(), "device"));

  /* A regular file: read whole and NUL-terminated; over the limit: refused, naming the size and the limit. */
  char text_path[1024];
  snprintf(text_path, sizeof text_path, "%s", test_path("text"));
  CHECK(test_write_file(text_path, "hello", 5) == 0);
  CHECK(scan_read_file_max(text_path, 5, "a test file", &data, &size) == SCAN_OK && size == 5 && data[5] == 0 &&
        memcmp(data, "hello", 5) == 0);
  free(data);
  CHECK(scan_read_file_max(text_path, 4, "a test file", &data, &size) == SCAN_ERR_INPUT && data == NULL);
  CHECK_MSG(strstr(scan_error_message(), "text: 5 bytes, too large for a test file (at most 4 bytes)"), "%s",
            scan_error_message());
  /* A sparse 3 GiB file is refused by its size, without being read. */
  int fd = open(test_path("sparse"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0 && ftruncate(fd, (off_t)3 << 30) == 0);
  if (fd >= 0) close(fd);
  CHECK(scan_read_file_max(test_path("sparse"), 1 << 20, "a test file", &data, &size) == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "3.0 GiB, too large"), "%s", scan_error_message());
  remove(test_path("sparse"));
}

/* A write that fails names its reason: RLIMIT_FSIZE makes the write fail with EFBIG ("File too large") the way
   a full disk fails with ENOSPC, without needing a full disk. */
static void test_write_failure(void) {
  struct rlimit saved, small;
  CHECK(getrlimit(RLIMIT_FSIZE, &saved) == 0);
  small = saved;
  small.rlim_cur = 4096;
  signal(SIGXFSZ, SIG_IGN); /* else the process is killed instead of the write failing */
  CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
  static unsigned char block[1 << 16];
  char path[1024];
  snprintf(path, sizeof path, "%s", test_path("big.bin"));
  scan_status st = scan_write_file_atomic(path, block, sizeof block);
  char message[2048];
  snprintf(message, sizeof message, "%s", scan_error_message());
  float values[20000] = {0};
  scan_array a = {SCAN_F32, 1, {20000}, values};
  scan_status npy = scan_npy_write(test_path("big.npy"), &a);
  char npy_message[2048];
  snprintf(npy_message, sizeof npy_message, "%s", scan_error_message());
  CHECK(setrlimit(RLIMIT_FSIZE, &saved) == 0);
  signal(SIGXFSZ, SIG_DFL);
  CHECK(st == SCAN_ERR_INPUT && strstr(message, "big.bin: write failed: ") && strstr(message, strerror(EFBIG)));
  CHECK_MSG(npy == SCAN_ERR_INPUT && strstr(npy_message, strerror(EFBIG)), "%s", npy_message);
  CHECK_MSG(!scan_file_exists(path), "no file may be left under the real name");
}

/* A path that does not fit its buffer is refused naming it, never cut short: a cut path names another file. */
static void test_path_join(void) {
  char buf[16];
  CHECK(scan_path_join(buf, sizeof buf, "run", "eval") == SCAN_OK && strcmp(buf, "run/eval") == 0);
  CHECK(scan_path_format(buf, sizeof buf, "%s/c_%02d.png", "run", 7) == SCAN_OK && strcmp(buf, "run/c_07.png") == 0);
  CHECK(scan_path_join(buf, sizeof buf, "run", "fifteen-chars") == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "run/fifteen-chars: path too long"), "%s", scan_error_message());
  CHECK(scan_path_format(buf, sizeof buf, "%s/%d.png", "run/longer", 12345) == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "path too long"), "%s", scan_error_message());
  char exact[9]; /* "run/eval" and its NUL: fits exactly */
  CHECK(scan_path_join(exact, sizeof exact, "run", "eval") == SCAN_OK);
  CHECK(scan_path_join(exact, sizeof exact, "run", "evals") == SCAN_ERR_INPUT);
}

int main(void) {
  signal(SIGALRM, on_alarm);
  alarm(20);
  test_reads();
  test_write_failure();
  test_path_join();
  return test_main_end();
}
