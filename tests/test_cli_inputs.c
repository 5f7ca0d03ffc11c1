/* Inputs that are not what they claim, through the binary (issue #22): every read is bounded and every
 * refusal is a message naming the file with exit status 2, never a hang (each command runs under
 * `timeout`, whose status 124 would fail the check) and never memory that grows with the input:
 *  - /dev/zero and a FIFO as --image, --query-image, an image-list entry and a dataset file;
 *  - a sparse 4 GiB file named x.png that is no image, and one with PNG magic bytes;
 *  - a PNG whose header claims a side beyond the decoder's limit ("too large", with the limit);
 *  - a folder whose first image is 8000x8000, too large to keep at its own size in this machine's memory;
 *  - negative --index; class names holding terminal escape codes; NaN features in features-val.npy;
 *  - SCAN_BACKEND, SCAN_ISA and SCAN_ONEDNN_BLOCK values scan does not know (read once, at start). */
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_writers.h"
#include "scan/image_io.h"
#include "scan/npy.h"
#include "testlib.h"
#include "tiny_run.h"

static char output[1 << 16];
static char data[256], config[512], run[512];

/* `scan <args>` under a 60 s timeout exits 2 with `needle` in its output. */
static void expect_refused(const char *args, const char *needle) {
  char command[4096];
  snprintf(command, sizeof command, "timeout 60 %s %s", test_scan_bin(), args);
  int rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 2 && strstr(output, needle) != NULL, "scan %s -> %d (124 = hung): %s (wanted '%s')", args, rc, output,
            needle);
}

/* A sparse file of `size` bytes starting with `head`: no disk space, but a reader that reads it whole
   would need `size` bytes of memory. */
static void write_sparse(const char *path, const void *head, size_t head_size, off_t size) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0);
  if (fd < 0) return;
  CHECK(head_size == 0 || write(fd, head, head_size) == (ssize_t)head_size);
  CHECK(ftruncate(fd, size) == 0);
  close(fd);
}

/* The largest resident size of any command run so far, in MiB (the shell waits for scan, so its usage counts). */
static double children_peak_mib(void) {
  struct rusage usage;
  getrusage(RUSAGE_CHILDREN, &usage);
  return usage.ru_maxrss / 1024.0;
}

static void test_unbounded_files(void) {
  char args[4096];
  const char *fifo = test_path("pipe.png");
  CHECK(mkfifo(fifo, 0644) == 0);
  make_dir(test_path("notimage"));
  write_sparse(test_path("notimage/x.png"), "GIF89a", 6, (off_t)4 << 30);
  make_dir(test_path("hugepng"));
  write_sparse(test_path("hugepng/x.png"), "\x89PNG\r\n\x1a\n", 8, (off_t)4 << 30);

  /* Before any other command, so that the peak below is theirs: none reads more than a few bytes of 4 GiB. */
  snprintf(args, sizeof args, "data info --dataset folder --root %s", test_path("notimage"));
  expect_refused(args, "notimage/x.png: not a PNG or JPEG image");
  snprintf(args, sizeof args, "data info --dataset folder --root %s", test_path("hugepng"));
  expect_refused(args, "hugepng/x.png: 4.0 GiB, too large for an image file (at most 1.0 GiB)");
  snprintf(args, sizeof args, "explain --config %s --out %s --image /dev/zero", config, run);
  expect_refused(args, "/dev/zero: is a device");
  CHECK_MSG(children_peak_mib() < 1024, "a refused input cost %.0f MiB", children_peak_mib());

  snprintf(args, sizeof args, "explain --config %s --out %s --image %s", config, run, fifo);
  expect_refused(args, "pipe.png: is a FIFO");
  snprintf(args, sizeof args, "query --config %s --out %s --query-image /dev/zero --n 3", config, run);
  expect_refused(args, "/dev/zero: is a device");
  snprintf(args, sizeof args, "query --config %s --out %s --query-image %s --n 3", config, run, fifo);
  expect_refused(args, "pipe.png: is a FIFO");

  /* Image lists: an entry that is a device or a FIFO; the list itself as a FIFO. */
  const char *list = test_path("list.txt");
  char text[1200];
  snprintf(text, sizeof text, "/dev/zero 0\n%s 1\n", fifo);
  CHECK(test_write_file(list, text, (long)strlen(text)) == 0);
  snprintf(args, sizeof args, "data info --dataset list --root %s", list);
  expect_refused(args, "/dev/zero: is a device");
  snprintf(text, sizeof text, "%s 1\n", fifo);
  CHECK(test_write_file(list, text, (long)strlen(text)) == 0);
  expect_refused(args, "pipe.png: is a FIFO");
  snprintf(args, sizeof args, "data info --dataset list --root %s", fifo);
  expect_refused(args, "pipe.png: is a FIFO");
  /* Dataset files by their fixed names: a FIFO in their place is refused, not waited on. */
  make_dir(test_path("mnist"));
  const uint8_t one_label[1] = {0};
  CHECK(write_idx_labels(test_path("mnist/train-labels-idx1-ubyte"), 2049, 1, one_label) == 0);
  CHECK(mkfifo(test_path("mnist/train-images-idx3-ubyte"), 0644) == 0);
  snprintf(args, sizeof args, "data info --dataset mnist --root %s --split train", test_path("mnist"));
  expect_refused(args, "train-images-idx3-ubyte: is a FIFO");
  make_dir(test_path("cifar"));
  CHECK(mkfifo(test_path("cifar/test_batch.bin"), 0644) == 0);
  snprintf(args, sizeof args, "data info --dataset cifar-10 --root %s --split test", test_path("cifar"));
  expect_refused(args, "test_batch.bin: is a FIFO");
  /* A run directory whose config.yml is a FIFO. */
  make_dir(test_path("fiforun"));
  CHECK(mkfifo(test_path("fiforun/config.yml"), 0644) == 0);
  snprintf(args, sizeof args, "report --out %s", test_path("fiforun"));
  expect_refused(args, "fiforun/config.yml: is a FIFO");
  remove(test_path("notimage/x.png"));
  remove(test_path("hugepng/x.png"));
}

static void test_large_images(void) {
  char args[4096];
  /* A header beyond libpng's default limits: said to be too large, with the limit, not "Invalid IHDR data". */
  make_dir(test_path("wide"));
  CHECK(write_png_header_only(test_path("wide/a.png"), 2000000, 10) == 0);
  snprintf(args, sizeof args, "data info --dataset folder --root %s", test_path("wide"));
  expect_refused(args, "wide/a.png: image too large to decode (2000000x10; at most 16384 a side");

  /* A first image of 8000x8000 (decodable) in a folder of more images than this machine could hold at that
     size: the image and the image-size option are named, exit 2 instead of "out of memory". The other files
     are never decoded, so they may be empty. */
  make_dir(test_path("photos"));
  uint8_t *big = calloc((size_t)8000 * 8000, 1);
  CHECK(big && scan_image_write_png(test_path("photos/a_big.png"), big, 8000, 8000, 1) == SCAN_OK);
  free(big);
  const double memory = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  const long others = (long)(memory / (8000.0 * 8000 * 3)) + 2;
  for (long i = 0; i < others; i++) {
    char name[64];
    snprintf(name, sizeof name, "photos/b_%05ld.png", i);
    CHECK(test_write_file(test_path(name), "", 0) == 0);
  }
  snprintf(args, sizeof args, "data info --dataset folder --root %s", test_path("photos"));
  expect_refused(args, "photos/a_big.png: image too large to keep");
  CHECK_MSG(strstr(output, "--image-size N"), "the message should name the option: %s", output);
}

static void test_messages(void) {
  char args[4096];
  snprintf(args, sizeof args, "explain --config %s --out %s --index -1", config, run);
  expect_refused(args, "--index must be 0 or more, got -1");
  snprintf(args, sizeof args, "query --config %s --out %s --query -3 --n 3", config, run);
  expect_refused(args, "--query must be 0 or more, got -3");

  /* A class folder whose name holds an escape sequence: printed escaped, never raw. */
  make_dir(test_path("escape"));
  make_dir(test_path("escape/\x1b[31mred"));
  uint8_t pixels[4 * 4] = {0};
  CHECK(scan_image_write_png(test_path("escape/\x1b[31mred/a.png"), pixels, 4, 4, 1) == SCAN_OK);
  char command[4096];
  snprintf(command, sizeof command, "timeout 60 %s data info --dataset folder --root %s", test_scan_bin(), test_path("escape"));
  int rc = test_run(command, output, sizeof output);
  CHECK_MSG(rc == 0 && !strchr(output, '\x1b') && strstr(output, "\\x1b[31mred"), "rc %d: %s", rc, output);
  /* The same name in an error message (a folder without images) is escaped too. */
  remove(test_path("escape/\x1b[31mred/a.png"));
  snprintf(args, sizeof args, "data info --dataset folder --root %s", test_path("escape"));
  expect_refused(args, "\\x1b[31mred: class folder has no PNG or JPEG images");
  CHECK(!strchr(output, '\x1b'));

  /* NaN features name their file. */
  make_dir(run);
  make_dir(test_path("run/pretext"));
  float *features = calloc(90 * 4, sizeof(float));
  for (int i = 0; i < 90 * 4; i++) features[i] = (float)(i % 7) + 1;
  features[5 * 4 + 2] = NAN;
  scan_array a = {SCAN_F32, 2, {90, 4}, features};
  CHECK(scan_npy_write(test_path("run/pretext/features-val.npy"), &a) == SCAN_OK);
  free(features);
  snprintf(args, sizeof args, "candidates --config %s --out %s --n-list 5", config, run);
  expect_refused(args, "pretext/features-val.npy: row 5 holds a NaN");
}

/* The compute context's variables are read when scan starts (include/scan/context.h): a value it does not know
   stops it before any work, naming the variable and the value. */
static void test_environment(void) {
  const char *cases[][2] = {{"SCAN_BACKEND=nave", "SCAN_BACKEND='nave'"},
                            {"SCAN_ISA=avx1024", "SCAN_ISA='avx1024'"},
                            {"SCAN_ONEDNN_BLOCK=7", "SCAN_ONEDNN_BLOCK='7'"}};
  for (int i = 0; i < 3; i++) {
    char command[4096];
    snprintf(command, sizeof command, "%s timeout 60 %s config show --config %s", cases[i][0], test_scan_bin(), config);
    int rc = test_run(command, output, sizeof output);
    CHECK_MSG(rc == 2 && strstr(output, cases[i][1]) != NULL, "%s -> %d: %s", cases[i][0], rc, output);
  }
}

int main(void) {
  snprintf(data, sizeof data, "%s", test_path("data"));
  snprintf(config, sizeof config, "%s", test_path("tiny.yml"));
  snprintf(run, sizeof run, "%s", test_path("run"));
  make_dir(data);
  tiny_write_split(data, "train", 60, 1);
  tiny_write_split(data, "t10k", 90, 2);
  tiny_write_config(config, data);
  test_unbounded_files();
  test_large_images();
  test_messages();
  test_environment();
  return test_main_end();
}
