/* `scan data info|show` through the binary: every kind of bad input exits 2
 * with a message naming the file (or the flag); --json parses; show writes a PNG;
 * show --augment draws the views the config's augmentation settings give. */
#include <cjson/cJSON.h>
#include <string.h>

#include "data_writers.h"
#include "scan/augment.h"
#include "scan/image_io.h"
#include "testlib.h"

static char output[65536];

/* Runs `scan data <args>`; returns the exit status, output in `output`. */
static int scan_data(const char *args) {
  char command[4096];
  snprintf(command, sizeof command, "data %s", args);
  return test_scan_run(command, output, sizeof output, 0);
}

/* `scan data <args>` exits 2 and its output contains `needle`. */
static void expect_input_error(const char *args, const char *needle) {
  char command[4096];
  snprintf(command, sizeof command, "data %s", args);
  test_scan_rejects(command, needle, output, sizeof output);
}

static void write_good_idx(const char *folder) {
  const uint8_t labels[4] = {0, 1, 1, 9};
  make_dir(test_path(folder));
  char images[512], labs[512];
  snprintf(images, sizeof images, "%s/train-images-idx3-ubyte", folder);
  snprintf(labs, sizeof labs, "%s/train-labels-idx1-ubyte", folder);
  CHECK(write_idx_images(test_path(images), 2051, 4, 28, 28) == 0);
  CHECK(write_idx_labels(test_path(labs), 2049, 4, labels) == 0);
}

static void test_bad_inputs(void) {
  char args[2048];
  /* Missing file. */
  make_dir(test_path("none"));
  snprintf(args, sizeof args, "info --dataset mnist --root %s --split train", test_path("none"));
  expect_input_error(args, "none/train-images-idx3-ubyte");

  /* Wrong magic. */
  write_good_idx("magic");
  CHECK(write_idx_images(test_path("magic/train-images-idx3-ubyte"), 2049, 4, 28, 28) == 0);
  snprintf(args, sizeof args, "info --dataset mnist --root %s --split train", test_path("magic"));
  expect_input_error(args, "magic/train-images-idx3-ubyte: wrong magic number");

  /* Truncated images file. */
  write_good_idx("trunc");
  unsigned char *buf = malloc(16 + 4 * 784);
  FILE *f = fopen(test_path("trunc/train-images-idx3-ubyte"), "rb");
  size_t n = f ? fread(buf, 1, 16 + 4 * 784, f) : 0;
  if (f) fclose(f);
  CHECK(n == 16 + 4 * 784 && test_write_file(test_path("trunc/train-images-idx3-ubyte"), buf, (long)n - 100) == 0);
  free(buf);
  snprintf(args, sizeof args, "info --dataset fashion-mnist --root %s --split train", test_path("trunc"));
  expect_input_error(args, "trunc/train-images-idx3-ubyte: truncated");

  /* Image/label count mismatch. */
  write_good_idx("count");
  const uint8_t three[3] = {0, 1, 2};
  CHECK(write_idx_labels(test_path("count/train-labels-idx1-ubyte"), 2049, 3, three) == 0);
  snprintf(args, sizeof args, "info --dataset mnist --root %s", test_path("count"));
  expect_input_error(args, "count/train-labels-idx1-ubyte: 3 labels but");

  /* Label out of range (CIFAR-10 record 2). */
  make_dir(test_path("c10"));
  const uint8_t labels[3] = {1, 2, 12};
  CHECK(write_cifar(test_path("c10/test_batch.bin"), 3, labels, NULL, 0) == 0);
  snprintf(args, sizeof args, "info --dataset cifar-10 --root %s --split test", test_path("c10"));
  expect_input_error(args, "c10/test_batch.bin: record 2: label 12");

  /* STL-10 images not a whole number of images. */
  make_dir(test_path("stl"));
  CHECK(test_write_file(test_path("stl/test_X.bin"), "abc", 3) == 0);
  snprintf(args, sizeof args, "info --dataset stl-10 --root %s --split test", test_path("stl"));
  expect_input_error(args, "stl/test_X.bin: truncated");

  /* Corrupt image, zero-size image, image of another size, empty folder. */
  make_dir(test_path("corrupt"));
  CHECK(test_write_file(test_path("corrupt/a.png"), "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16) == 0);
  snprintf(args, sizeof args, "info --dataset folder --root %s", test_path("corrupt"));
  expect_input_error(args, "corrupt/a.png: corrupt PNG");
  make_dir(test_path("zero"));
  CHECK(write_png_header_only(test_path("zero/z.png"), 5, 0) == 0);
  snprintf(args, sizeof args, "show --dataset folder --root %s --out %s", test_path("zero"), test_path("zero.png"));
  expect_input_error(args, "zero/z.png");
  make_dir(test_path("sizes"));
  uint8_t small[4 * 4] = {0}, large[5 * 4] = {0};
  CHECK(scan_image_write_png(test_path("sizes/a.png"), small, 4, 4, 1) == SCAN_OK);
  CHECK(scan_image_write_png(test_path("sizes/b.png"), large, 5, 4, 1) == SCAN_OK);
  snprintf(args, sizeof args, "info --dataset folder --root %s", test_path("sizes"));
  expect_input_error(args, "sizes/b.png: image is 4x5");
  make_dir(test_path("empty"));
  snprintf(args, sizeof args, "info --dataset folder --root %s", test_path("empty"));
  expect_input_error(args, "empty: folder has no PNG or JPEG images");

  /* Usage errors name the flag. */
  expect_input_error("info --bogus", "--bogus");
  expect_input_error("info --root", "--root");
  expect_input_error("show --per-class", "--per-class");
  expect_input_error("show --per-class many", "--per-class");
  expect_input_error("info --dataset imagenet", "imagenet");
  expect_input_error("frobnicate", "frobnicate");
}

static void test_info_json_and_show(void) {
  write_good_idx("good");
  char args[2048];
  snprintf(args, sizeof args, "info --dataset mnist --root %s --json", test_path("good"));
  CHECK(scan_data(args) == 0);
  cJSON *root = cJSON_Parse(output);
  CHECK_MSG(root != NULL, "not JSON: %s", output);
  if (root) {
    cJSON *splits = cJSON_GetObjectItem(root, "splits");
    CHECK(cJSON_GetArraySize(splits) == 1); /* only train exists */
    cJSON *train = cJSON_GetArrayItem(splits, 0);
    CHECK(train && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(train, "split")), "train") == 0);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(train, "count")) == 4);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(train, "height")) == 28);
    cJSON *classes = cJSON_GetObjectItem(train, "classes");
    CHECK(cJSON_GetArraySize(classes) == 10);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(classes, 1), "count")) == 2);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(classes, 9), "count")) == 1);
    cJSON_Delete(root);
  }
  snprintf(args, sizeof args, "info --dataset mnist --root %s", test_path("good"));
  CHECK(scan_data(args) == 0 && strstr(output, "mnist/train: 4 images, 28x28x1") != NULL);

  snprintf(args, sizeof args, "show --dataset mnist --root %s --per-class 3 --out %s", test_path("good"),
           test_path("grid.png"));
  CHECK_MSG(scan_data(args) == 0 && strstr(output, "grid.png") != NULL, "%s", output);
  uint8_t *pixels = NULL;
  int h = 0, w = 0, c = 0;
  CHECK_MSG(scan_image_read(test_path("grid.png"), &pixels, &h, &w, &c) == SCAN_OK, "%s", scan_error_message());
  /* 10 class rows of 28 px images enlarged 3x (84 px cells): taller than 10 * 84. */
  CHECK(h > 10 * 84 && w > 3 * 84 && c == 3);
  free(pixels);
}

/* The sheet's geometry for 28 px images (include/scan/viz_grid.h, src/viz/image_grid.c): cells of
   3 x 28 px, 4 px gaps, 8 px margins, a 16 pt title line, one 12 pt caption line under every row. */
enum { SHEET_SCALE = 3, SHEET_CELL = 28 * SHEET_SCALE, SHEET_GAP = 4, SHEET_MARGIN = 8, SHEET_TITLE = 16 + 8,
       SHEET_CAPTION = 12 + 4 };

/* Number of pixels of `view` (28 x 28 grey) that differ from the sheet cell at (row, col), each
   view pixel being a 3 x 3 block of equal RGB values; `left` is where the first cell column starts. */
static int cell_mismatches(const uint8_t *png, int png_width, int left, int row, int col, const uint8_t *view) {
  int top = SHEET_MARGIN + SHEET_TITLE + row * (SHEET_CELL + SHEET_CAPTION + SHEET_GAP);
  int x0 = left + col * (SHEET_CELL + SHEET_GAP), bad = 0;
  for (int y = 0; y < SHEET_CELL; y++)
    for (int x = 0; x < SHEET_CELL; x++)
      for (int c = 0; c < 3; c++)
        bad += png[((long)(top + y) * png_width + x0 + x) * 3 + c] != view[(y / SHEET_SCALE) * 28 + x / SHEET_SCALE];
  return bad;
}

/* What the sheet should show in row `index`'s column 1 + epoch: the view scan_augment_u8 makes of the
   written MNIST image `index` with the loader's random stream (seed, epoch, 4 * index). */
static void expected_view(const scan_aug_config *aug, int index, int epoch, int seed, uint8_t view[28 * 28]) {
  uint8_t src[28 * 28];
  for (int y = 0; y < 28; y++)
    for (int x = 0; x < 28; x++) src[y * 28 + x] = test_pixel(index, y, x, 0);
  if (epoch < 0) { /* the original */
    memcpy(view, src, sizeof src);
    return;
  }
  scan_rng rng = scan_rng_make((uint64_t)seed, (uint64_t)epoch, (uint64_t)index * 4);
  scan_augment_u8(aug, src, 28, 28, &rng, view);
}

static void test_show_augment(void) {
  write_good_idx("aug");
  enum { IMAGES = 2, VIEWS = 3, SEED = 5 };
  /* Every simclr setting away from its default, so a sheet that ignored the config would differ. */
  const char *settings =
      "--set pretext.augmentation_kwargs.random_resized_crop.scale=[0.3,0.6] "
      "--set pretext.augmentation_kwargs.color_jitter_random_apply.p=1 "
      "--set pretext.augmentation_kwargs.color_jitter.brightness=0.9 "
      "--set pretext.augmentation_kwargs.color_jitter.contrast=0.2 "
      "--set pretext.augmentation_kwargs.color_jitter.saturation=0.3 "
      "--set pretext.augmentation_kwargs.color_jitter.hue=0.05 "
      "--set pretext.augmentation_kwargs.random_grayscale.p=0.5";
  char args[4096];
  snprintf(args, sizeof args,
           "show --augment simclr --dataset mnist --root %s --images %d --views %d --seed %d %s --out %s",
           test_path("aug"), IMAGES, VIEWS, SEED, settings, test_path("simclr.png"));
  CHECK_MSG(scan_data(args) == 0 && strstr(output, "simclr.png") != NULL, "scan data %s: %s", args, output);
  uint8_t *png = NULL;
  int h = 0, w = 0, c = 0;
  CHECK_MSG(scan_image_read(test_path("simclr.png"), &png, &h, &w, &c) == SCAN_OK, "%s", scan_error_message());
  if (!png) return;
  CHECK(c == 3);
  CHECK_MSG(h == 2 * SHEET_MARGIN + SHEET_TITLE + IMAGES * (SHEET_CELL + SHEET_CAPTION) + (IMAGES - 1) * SHEET_GAP,
            "sheet height %d", h);
  /* The width adds the row-label column ("#0 <class>"), whose size depends on the font. */
  int label_column = w - (2 * SHEET_MARGIN + (1 + VIEWS) * SHEET_CELL + VIEWS * SHEET_GAP);
  CHECK_MSG(label_column > 2 * SHEET_GAP && label_column < 300, "sheet width %d", w);

  scan_aug_config aug, defaults;
  scan_aug_default(&aug, SCAN_AUG_SIMCLR, 28, 1);
  defaults = aug;
  aug.rrc_scale_min = 0.3, aug.rrc_scale_max = 0.6, aug.jitter_p = 1, aug.brightness = 0.9, aug.contrast = 0.2;
  aug.saturation = 0.3, aug.hue = 0.05, aug.grayscale_p = 0.5;
  CHECK(scan_aug_validate(&aug, 28, 28, 1) == SCAN_OK);
  int left = SHEET_MARGIN + label_column;
  uint8_t view[28 * 28];
  /* Rows are images 0 and 2 (spread over the 4); column 0 the original, column 1 + e epoch e's view. */
  for (int row = 0; row < IMAGES; row++)
    for (int col = 0; col <= VIEWS; col++) {
      expected_view(&aug, row * 4 / IMAGES, col - 1, SEED, view);
      int bad = cell_mismatches(png, w, left, row, col, view);
      CHECK_MSG(bad == 0, "row %d column %d: %d pixel values differ", row, col, bad);
    }
  expected_view(&defaults, 0, 0, SEED, view);
  CHECK_MSG(cell_mismatches(png, w, left, 0, 1, view) > 0, "the config's settings change nothing");
  free(png);

  /* Without --seed the config's seed applies: --set seed=5 draws the same sheet. */
  snprintf(args, sizeof args,
           "show --augment simclr --dataset mnist --root %s --images %d --views %d --set seed=%d %s --out %s",
           test_path("aug"), IMAGES, VIEWS, SEED, settings, test_path("config-seed.png"));
  CHECK_MSG(scan_data(args) == 0, "%s", output);
  uint8_t *again = NULL, *first = NULL;
  int h2 = 0, w2 = 0, c2 = 0;
  CHECK(scan_image_read(test_path("simclr.png"), &first, &h, &w, &c) == SCAN_OK);
  CHECK(scan_image_read(test_path("config-seed.png"), &again, &h2, &w2, &c2) == SCAN_OK);
  CHECK(first && again && h == h2 && w == w2 && memcmp(first, again, (size_t)h * (size_t)w * 3) == 0);
  free(first);
  free(again);

  /* ours: default 8 views; the 4 images all fit in the 4 rows asked for. */
  snprintf(args, sizeof args, "show --augment ours --dataset mnist --root %s --images 4 --out %s", test_path("aug"),
           test_path("ours.png"));
  CHECK_MSG(scan_data(args) == 0, "%s", output);
  CHECK(scan_image_read(test_path("ours.png"), &png, &h, &w, &c) == SCAN_OK);
  CHECK_MSG(h == 2 * SHEET_MARGIN + SHEET_TITLE + 4 * (SHEET_CELL + SHEET_CAPTION) + 3 * SHEET_GAP, "height %d", h);
  label_column = w - (2 * SHEET_MARGIN + 9 * SHEET_CELL + 8 * SHEET_GAP);
  CHECK_MSG(label_column > 2 * SHEET_GAP && label_column < 300, "width %d", w);
  free(png);

  expect_input_error("show --augment bogus", "'bogus'");
  expect_input_error("show --augment standard", "'standard'");
  expect_input_error("show --views 3", "--augment");
  snprintf(args, sizeof args, "show --augment simclr --dataset mnist --root %s --views 0 --out %s", test_path("aug"),
           test_path("zero.png"));
  expect_input_error(args, "0 views");
  snprintf(args, sizeof args,
           "show --augment simclr --dataset mnist --root %s "
           "--set pretext.augmentation_kwargs.random_grayscale.p=2 --out %s",
           test_path("aug"), test_path("bad.png"));
  expect_input_error(args, "random_grayscale.p = 2 must be in [0, 1]");
}

int main(void) {
  test_bad_inputs();
  test_info_json_and_show();
  test_show_augment();
  return test_main_end();
}
