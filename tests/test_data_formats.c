/* Every dataset reader on tiny files written in the exact formats: pixel values
 * and labels at known positions (including the STL-10 transpose and the CIFAR
 * CHW -> HWC reordering), the CIFAR-20 mapping, image folders and lists, and
 * the errors for broken files. */
#include <stdio.h> /* before jpeglib.h, which uses FILE and size_t */
#include <string.h>

#include <jpeglib.h>

#include "data_writers.h"
#include "scan/atomic_file.h"
#include "scan/datasets.h"
#include "scan/image_io.h"
#include "testlib.h"

static scan_status load(scan_dataset *d, const char *name, const char *root, const char *split) {
  scan_dataset_spec spec = {.name = name, .root = root, .split = split, .image_size = 0, .channels = 0};
  return scan_dataset_load(d, &spec);
}

/* Every pixel of image `index` of d equals test_pixel(expected_n, ...). */
static int image_matches(const scan_dataset *d, int index, int expected_n) {
  const uint8_t *img = TEST_DATASET_IMAGE(d, index);
  for (int y = 0; y < d->height; y++)
    for (int x = 0; x < d->width; x++)
      for (int c = 0; c < d->channels; c++)
        if (img[(y * d->width + x) * d->channels + c] != test_pixel(expected_n, y, x, c)) return 0;
  return 1;
}

static void test_idx(void) {
  make_dir(test_path("fm"));
  const uint8_t labels[3] = {3, 0, 9};
  CHECK(write_idx_images(test_path("fm/train-images-idx3-ubyte.gz"), 2051, 3, 4, 5) == 0);
  CHECK(write_idx_labels(test_path("fm/train-labels-idx1-ubyte"), 2049, 3, labels) == 0);
  scan_dataset d;
  CHECK_MSG(load(&d, "fashion-mnist", test_path("fm"), "train") == SCAN_OK, "%s", scan_error_message());
  CHECK(d.count == 3 && d.height == 4 && d.width == 5 && d.channels == 1);
  CHECK(d.labels && d.labels[0] == 3 && d.labels[1] == 0 && d.labels[2] == 9);
  CHECK(image_matches(&d, 0, 0) && image_matches(&d, 2, 2));
  CHECK(d.num_classes == 10 && strcmp(d.class_names[0], "T-shirt/top") == 0 && strcmp(d.class_names[9], "Ankle boot") == 0);
  CHECK(strcmp(d.name, "fashion-mnist/train") == 0);
  scan_dataset_free(&d);

  /* MNIST test split = t10k files; class names are digits. */
  CHECK(write_idx_images(test_path("fm/t10k-images-idx3-ubyte"), 2051, 2, 3, 3) == 0);
  CHECK(write_idx_labels(test_path("fm/t10k-labels-idx1-ubyte.gz"), 2049, 2, labels) == 0);
  CHECK_MSG(load(&d, "mnist", test_path("fm"), "test") == SCAN_OK, "%s", scan_error_message());
  CHECK(d.count == 2 && d.labels[1] == 0 && strcmp(d.class_names[7], "7") == 0 && image_matches(&d, 1, 1));
  scan_dataset_free(&d);

  /* In-memory checks of every rule. */
  unsigned char images[16 + 2 * 4], labs[8 + 2] = {0};
  put_be32(images, 2051), put_be32(images + 4, 2), put_be32(images + 8, 2), put_be32(images + 12, 2);
  put_be32(labs, 2049), put_be32(labs + 4, 2);
  CHECK(scan_idx_parse(&d, images, sizeof images, labs, sizeof labs, 10, "i", "l") == SCAN_OK);
  scan_dataset_free(&d);
  CHECK(scan_idx_parse(&d, images, sizeof images - 1, labs, sizeof labs, 10, "img.idx", "l") == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "img.idx: truncated") != NULL);
  scan_dataset_free(&d);
  labs[9] = 10;
  CHECK(scan_idx_parse(&d, images, sizeof images, labs, sizeof labs, 10, "i", "lab.idx") == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "lab.idx: record 1: label 10") != NULL);
  labs[9] = 0;
  put_be32(labs + 4, 3);
  CHECK(scan_idx_parse(&d, images, sizeof images, labs, sizeof labs, 10, "i", "lab.idx") == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "3 labels but i has 2 images") != NULL);
  put_be32(images, 2049);
  CHECK(scan_idx_parse(&d, images, sizeof images, labs, sizeof labs, 10, "img.idx", "l") == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "img.idx: wrong magic number 2049") != NULL);

  /* A gzip file cut short is an error, not a shorter dataset. */
  unsigned char *whole;
  size_t whole_size;
  CHECK(scan_read_file(test_path("fm/train-images-idx3-ubyte.gz"), &whole, &whole_size) == SCAN_OK);
  make_dir(test_path("cut"));
  CHECK(test_write_file(test_path("cut/train-images-idx3-ubyte.gz"), whole, (long)whole_size - 10) == 0);
  free(whole);
  CHECK(write_idx_labels(test_path("cut/train-labels-idx1-ubyte"), 2049, 3, labels) == 0);
  CHECK(load(&d, "fashion-mnist", test_path("cut"), "train") == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "cut/train-images-idx3-ubyte.gz") != NULL, "%s", scan_error_message());
  CHECK(d.pixels == NULL && d.count == 0);
}

static void test_cifar10(void) {
  make_dir(test_path("c10"));
  make_dir(test_path("c10/cifar-10-batches-bin"));
  /* Five train batches of 1, 2, 1, 1, 1 records; the pixel formula continues across batches. */
  const uint8_t labels[6] = {6, 9, 0, 4, 1, 8};
  int first = 0;
  for (int b = 1; b <= 5; b++) {
    char name[128];
    int n = b == 2 ? 2 : 1;
    snprintf(name, sizeof name, "c10/cifar-10-batches-bin/data_batch_%d.bin", b);
    CHECK(write_cifar(test_path(name), n, labels + first, NULL, first) == 0);
    first += n;
  }
  const char *meta = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
  CHECK(test_write_file(test_path("c10/cifar-10-batches-bin/batches.meta.txt"), meta, (long)strlen(meta)) == 0);
  scan_dataset d;
  CHECK_MSG(load(&d, "cifar-10", test_path("c10"), "train") == SCAN_OK, "%s", scan_error_message());
  CHECK(d.count == 6 && d.height == 32 && d.width == 32 && d.channels == 3);
  for (int i = 0; i < 6; i++) CHECK(d.labels[i] == labels[i] && image_matches(&d, i, i));
  /* One position by hand: image 2, row 5, column 7, blue comes from byte 1 + 2*1024 + 5*32 + 7 of its record. */
  CHECK(TEST_DATASET_IMAGE(&d, 2)[(5 * 32 + 7) * 3 + 2] == test_pixel(2, 5, 7, 2));
  CHECK(d.num_classes == 10 && strcmp(d.class_names[6], "frog") == 0);
  scan_dataset_free(&d);

  /* A test batch with one byte missing is a truncated file named in the error. */
  unsigned char *buf;
  size_t size;
  CHECK(write_cifar(test_path("c10/cifar-10-batches-bin/test_batch.bin"), 2, labels, NULL, 0) == 0);
  CHECK(scan_read_file(test_path("c10/cifar-10-batches-bin/test_batch.bin"), &buf, &size) == SCAN_OK);
  CHECK(test_write_file(test_path("c10/cifar-10-batches-bin/test_batch.bin"), buf, (long)size - 1) == 0);
  free(buf);
  CHECK(load(&d, "cifar-10", test_path("c10"), "test") == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "test_batch.bin: truncated") != NULL);
  /* A label of 10 names the file and the record. */
  const uint8_t bad[2] = {3, 10};
  CHECK(write_cifar(test_path("c10/cifar-10-batches-bin/test_batch.bin"), 2, bad, NULL, 0) == 0);
  CHECK(load(&d, "cifar-10", test_path("c10"), "test") == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "test_batch.bin: record 1: label 10") != NULL, "%s", scan_error_message());
}

static void test_cifar20_mapping(void) {
  /* The inverse view of spec §3.1, written out independently of the table. */
  static const int inverse[20][5] = {
      {4, 30, 55, 72, 95},  {1, 32, 67, 73, 91},  {54, 62, 70, 82, 92}, {9, 10, 16, 28, 61}, {0, 51, 53, 57, 83},
      {22, 39, 40, 86, 87}, {5, 20, 25, 84, 94},  {6, 7, 14, 18, 24},   {3, 42, 43, 88, 97}, {12, 17, 37, 68, 76},
      {23, 33, 49, 60, 71}, {15, 19, 21, 31, 38}, {34, 63, 64, 66, 75}, {26, 45, 77, 79, 99}, {2, 11, 35, 46, 98},
      {27, 29, 44, 78, 93}, {36, 50, 65, 74, 80}, {47, 52, 56, 59, 96}, {8, 13, 48, 58, 90}, {41, 69, 81, 85, 89}};
  int seen[100] = {0};
  for (int s = 0; s < 20; s++)
    for (int k = 0; k < 5; k++) {
      CHECK(scan_cifar20_superclass[inverse[s][k]] == s);
      seen[inverse[s][k]]++;
    }
  for (int f = 0; f < 100; f++) CHECK(seen[f] == 1);
  CHECK(strcmp(scan_cifar20_names[6], "househould furniture") == 0 && strcmp(scan_cifar20_names[19], "vehicles 2") == 0);
}

static void test_cifar100(void) {
  /* Files directly in root (no cifar-100-binary folder). */
  make_dir(test_path("c100"));
  const uint8_t coarse[3] = {4, 19, 0}, fine[3] = {0, 99, 55};
  CHECK(write_cifar(test_path("c100/train.bin"), 3, coarse, fine, 10) == 0);
  scan_dataset d;
  CHECK_MSG(load(&d, "cifar-100", test_path("c100"), "train") == SCAN_OK, "%s", scan_error_message());
  CHECK(d.count == 3 && d.labels[0] == 0 && d.labels[1] == 99 && d.labels[2] == 55 && d.num_classes == 100);
  CHECK(image_matches(&d, 1, 11));
  scan_dataset_free(&d);
  CHECK_MSG(load(&d, "cifar-20", test_path("c100"), "train") == SCAN_OK, "%s", scan_error_message());
  CHECK(d.count == 3 && d.labels[0] == 4 && d.labels[1] == 13 && d.labels[2] == 0 && d.num_classes == 20);
  CHECK(strcmp(d.class_names[13], "non-insect invertebrates") == 0 && image_matches(&d, 2, 12));
  scan_dataset_free(&d);
  const uint8_t bad_fine[3] = {0, 100, 1};
  CHECK(write_cifar(test_path("c100/test.bin"), 3, coarse, bad_fine, 0) == 0);
  CHECK(load(&d, "cifar-20", test_path("c100"), "test") == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "test.bin: record 1: fine label 100") != NULL);
}

static void test_stl(void) {
  make_dir(test_path("stl"));
  make_dir(test_path("stl/stl10_binary"));
  const uint8_t labels[2] = {1, 10};
  CHECK(write_stl_images(test_path("stl/stl10_binary/train_X.bin"), 2, 0) == 0);
  CHECK(test_write_file(test_path("stl/stl10_binary/train_y.bin"), labels, 2) == 0);
  CHECK(write_stl_images(test_path("stl/stl10_binary/unlabeled_X.bin"), 1, 2) == 0);
  scan_dataset d;
  CHECK_MSG(load(&d, "stl-10", test_path("stl"), "train") == SCAN_OK, "%s", scan_error_message());
  CHECK(d.count == 2 && d.height == 96 && d.width == 96 && d.channels == 3);
  CHECK(d.labels[0] == 0 && d.labels[1] == 9 && strcmp(d.class_names[7], "monkey") == 0);
  CHECK(image_matches(&d, 0, 0) && image_matches(&d, 1, 1));
  /* The transpose by hand: row 10, column 40, green of image 1 is file byte 27648 + 9216 + 40*96 + 10. */
  CHECK(TEST_DATASET_IMAGE(&d, 1)[(10 * 96 + 40) * 3 + 1] == test_pixel(1, 10, 40, 1));
  scan_dataset_free(&d);

  CHECK_MSG(load(&d, "stl-10", test_path("stl"), "train+unlabeled") == SCAN_OK, "%s", scan_error_message());
  CHECK(d.count == 3 && d.labels[1] == 9 && d.labels[2] == -1 && image_matches(&d, 2, 2));
  scan_dataset_free(&d);
  CHECK_MSG(load(&d, "stl-10", test_path("stl"), "unlabeled") == SCAN_OK, "%s", scan_error_message());
  CHECK(d.count == 1 && d.labels == NULL && d.num_classes == 0 && image_matches(&d, 0, 2));
  scan_dataset_free(&d);

  const uint8_t bad[2] = {1, 11};
  CHECK(test_write_file(test_path("stl/stl10_binary/train_y.bin"), bad, 2) == 0);
  CHECK(load(&d, "stl-10", test_path("stl"), "train") == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "train_y.bin: record 1: label 11") != NULL);
  CHECK(test_write_file(test_path("stl/stl10_binary/train_y.bin"), bad, 1) == 0);
  CHECK(load(&d, "stl-10", test_path("stl"), "train") == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "train_y.bin: 1 labels but") != NULL);
  CHECK(load(&d, "stl-10", test_path("stl"), "validation") == SCAN_ERR_INPUT);
}

/* Writes a w x h test image (test_pixel with n) as PNG with 1 or 3 channels. */
static void write_test_png(const char *path, int n, int h, int w, int channels) {
  uint8_t *pixels = malloc((size_t)(h * w * channels));
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < channels; c++) pixels[(y * w + x) * channels + c] = test_pixel(n, y, x, c);
  CHECK_MSG(scan_image_write_png(path, pixels, h, w, channels) == SCAN_OK, "%s", scan_error_message());
  free(pixels);
}

/* A constant-colour baseline JPEG written with libjpeg at quality 100. */
static void write_test_jpeg(const char *path, int h, int w, const uint8_t rgb[3]) {
  struct jpeg_compress_struct cinfo;
  struct jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  FILE *f = fopen(path, "wb");
  jpeg_stdio_dest(&cinfo, f);
  cinfo.image_width = (JDIMENSION)w, cinfo.image_height = (JDIMENSION)h;
  cinfo.input_components = 3, cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 100, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  uint8_t *row = malloc((size_t)w * 3);
  for (int x = 0; x < w; x++) memcpy(row + 3 * x, rgb, 3);
  while (cinfo.next_scanline < cinfo.image_height) jpeg_write_scanlines(&cinfo, &row, 1);
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  fclose(f);
  free(row);
}

static void test_image_io(void) {
  write_test_png(test_path("rgb.png"), 3, 6, 5, 3);
  uint8_t *pixels;
  int h, w, c;
  CHECK(scan_image_read(test_path("rgb.png"), &pixels, &h, &w, &c) == SCAN_OK);
  CHECK(h == 6 && w == 5 && c == 3 && pixels[(4 * 5 + 2) * 3 + 1] == test_pixel(3, 4, 2, 1));
  free(pixels);
  /* JPEG found by its magic bytes even under a .png name. */
  const uint8_t colour[3] = {200, 40, 90};
  write_test_jpeg(test_path("photo.png"), 16, 24, colour);
  CHECK_MSG(scan_image_read(test_path("photo.png"), &pixels, &h, &w, &c) == SCAN_OK, "%s", scan_error_message());
  CHECK(h == 16 && w == 24 && c == 3);
  if (c == 3) {
    CHECK_NEAR(pixels[(7 * 24 + 11) * 3 + 0], 200, 3, 0);
    CHECK_NEAR(pixels[(7 * 24 + 11) * 3 + 1], 40, 3, 0);
    CHECK_NEAR(pixels[(7 * 24 + 11) * 3 + 2], 90, 3, 0);
  }
  free(pixels);
  /* A JPEG cut in half is an error, not an image padded with grey. */
  unsigned char *data;
  size_t size;
  CHECK(scan_read_file(test_path("photo.png"), &data, &size) == SCAN_OK);
  CHECK(scan_image_decode(data, size / 2, "half.jpg", &pixels, &h, &w, &c) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "half.jpg: corrupt JPEG") != NULL && pixels == NULL);
  free(data);
  CHECK(scan_read_file(test_path("rgb.png"), &data, &size) == SCAN_OK);
  CHECK(scan_image_decode(data, size - 20, "cut.png", &pixels, &h, &w, &c) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "cut.png: corrupt PNG") != NULL);
  free(data);
  CHECK(write_png_header_only(test_path("zero.png"), 0, 7) == 0);
  CHECK(scan_image_read(test_path("zero.png"), &pixels, &h, &w, &c) == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "zero.png") != NULL, "%s", scan_error_message());
  CHECK(write_png_header_only(test_path("huge.png"), 100000, 100000) == 0);
  CHECK(scan_image_read(test_path("huge.png"), &pixels, &h, &w, &c) == SCAN_ERR_INPUT);
  CHECK(test_write_file(test_path("text.png"), "hello", 5) == 0);
  CHECK(scan_image_read(test_path("text.png"), &pixels, &h, &w, &c) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "text.png: not a PNG or JPEG") != NULL);

  /* Grey <-> RGB: PIL's luma weights. */
  const uint8_t rgb[6] = {255, 0, 0, 10, 200, 30};
  uint8_t grey[2], back[6];
  scan_image_convert_channels(rgb, 3, grey, 1, 2);
  CHECK(grey[0] == 76 && grey[1] == 124); /* (19595*255 + 2^15) >> 16 = 76; 0.299*10 + 0.587*200 + 0.114*30 = 123.8 */
  scan_image_convert_channels(grey, 1, back, 3, 2);
  CHECK(back[3] == 124 && back[4] == 124 && back[5] == 124);
}

static void test_folder_and_list(void) {
  make_dir(test_path("folder")), make_dir(test_path("folder/dog")), make_dir(test_path("folder/cat"));
  write_test_png(test_path("folder/cat/b.png"), 1, 4, 5, 3);
  write_test_png(test_path("folder/cat/a.png"), 0, 4, 5, 3);
  write_test_png(test_path("folder/dog/c.png"), 2, 4, 5, 1); /* grey: becomes RGB */
  CHECK(test_write_file(test_path("folder/dog/notes.txt"), "x", 1) == 0);
  scan_dataset d;
  CHECK_MSG(load(&d, "folder", test_path("folder"), NULL) == SCAN_OK, "%s", scan_error_message());
  CHECK(d.count == 3 && d.height == 4 && d.width == 5 && d.channels == 3 && d.num_classes == 2);
  CHECK(strcmp(d.class_names[0], "cat") == 0 && strcmp(d.class_names[1], "dog") == 0);
  CHECK(d.labels[0] == 0 && d.labels[1] == 0 && d.labels[2] == 1);
  CHECK(strcmp(d.file_names[0], "cat/a.png") == 0 && strcmp(d.file_names[2], "dog/c.png") == 0);
  CHECK(image_matches(&d, 0, 0) && image_matches(&d, 1, 1));
  const uint8_t *grey = TEST_DATASET_IMAGE(&d, 2);
  CHECK(grey[(3 * 5 + 4) * 3 + 0] == test_pixel(2, 3, 4, 0) && grey[(3 * 5 + 4) * 3 + 2] == test_pixel(2, 3, 4, 0));
  CHECK(strcmp(d.name, "folder") == 0);
  scan_dataset_free(&d);

  /* Flat folder, grey output. */
  make_dir(test_path("flat"));
  write_test_png(test_path("flat/x.png"), 5, 3, 3, 3);
  scan_dataset_spec grey_spec = {.name = "folder", .root = test_path("flat"), .split = NULL, .image_size = 0, .channels = 1};
  CHECK_MSG(scan_dataset_load(&d, &grey_spec) == SCAN_OK, "%s", scan_error_message());
  CHECK(d.count == 1 && d.labels == NULL && d.channels == 1 && d.num_classes == 0);
  uint8_t expect[1];
  const uint8_t src[3] = {test_pixel(5, 2, 1, 0), test_pixel(5, 2, 1, 1), test_pixel(5, 2, 1, 2)};
  scan_image_convert_channels(src, 3, expect, 1, 1);
  CHECK(TEST_DATASET_IMAGE(&d, 0)[2 * 3 + 1] == expect[0]);
  scan_dataset_free(&d);

  /* Sizes differ: an error naming the file, unless an image size is given. */
  write_test_png(test_path("flat/y.png"), 5, 4, 3, 3);
  CHECK(load(&d, "folder", test_path("flat"), NULL) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "flat/y.png: image is 3x4") != NULL);
  /* A constant image stays constant through the resize. */
  make_dir(test_path("const"));
  uint8_t flat_grey[6 * 10];
  memset(flat_grey, 77, sizeof flat_grey);
  CHECK(scan_image_write_png(test_path("const/a.png"), flat_grey, 6, 10, 1) == SCAN_OK);
  scan_dataset_spec sized = {.name = "folder", .root = test_path("const"), .split = NULL, .image_size = 8, .channels = 3};
  CHECK_MSG(scan_dataset_load(&d, &sized) == SCAN_OK, "%s", scan_error_message());
  CHECK(d.height == 8 && d.width == 8 && d.channels == 3);
  int all_77 = 1;
  for (int i = 0; i < 8 * 8 * 3; i++) all_77 &= d.pixels[i] == 77;
  CHECK(all_77);
  scan_dataset_free(&d);

  make_dir(test_path("empty"));
  CHECK(load(&d, "folder", test_path("empty"), NULL) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "empty: folder has no PNG or JPEG images") != NULL);
  CHECK(test_write_file(test_path("folder/cat/broken.png"), "\x89PNG\r\n\x1a\nxxxx", 12) == 0);
  CHECK(load(&d, "folder", test_path("folder"), NULL) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "cat/broken.png: corrupt PNG") != NULL);

  /* List with labels, comments, blank lines, tab and space separators. */
  const char *list = "# two classes\ncat/a.png\t1\n\n  dog/c.png 0\r\n";
  CHECK(test_write_file(test_path("folder/list.txt"), list, (long)strlen(list)) == 0);
  scan_dataset_spec list_spec = {.name = "list", .root = test_path("folder/list.txt"), .split = NULL, .image_size = 0, .channels = 0};
  CHECK_MSG(scan_dataset_load(&d, &list_spec) == SCAN_OK, "%s", scan_error_message());
  CHECK(d.count == 2 && d.labels && d.labels[0] == 1 && d.labels[1] == 0 && d.num_classes == 2);
  CHECK(strcmp(d.file_names[1], "dog/c.png") == 0 && image_matches(&d, 0, 0));
  scan_dataset_free(&d);
  const char *mixed = "cat/a.png 1\ndog/c.png\n";
  CHECK(test_write_file(test_path("folder/mixed.txt"), mixed, (long)strlen(mixed)) == 0);
  list_spec.root = test_path("folder/mixed.txt");
  CHECK(scan_dataset_load(&d, &list_spec) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "mixed.txt: 1 of 2 lines have a label") != NULL);
  const char *missing = "cat/a.png\nnothere.png\n";
  CHECK(test_write_file(test_path("folder/missing.txt"), missing, (long)strlen(missing)) == 0);
  list_spec.root = test_path("folder/missing.txt");
  CHECK(scan_dataset_load(&d, &list_spec) == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "nothere.png") != NULL);
}

static void test_names(void) {
  CHECK(scan_dataset_name_valid("cifar-20") && scan_dataset_name_valid("list") && !scan_dataset_name_valid("imagenet"));
  scan_dataset d;
  CHECK(load(&d, "cifar-10", NULL, "train") == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "needs a root") != NULL);
  CHECK(load(&d, "imagenet", "/tmp", NULL) == SCAN_ERR_INPUT);
  CHECK(load(&d, "cifar-10", test_path("nowhere"), "train") == SCAN_ERR_INPUT);
  CHECK(strstr(scan_error_message(), "nowhere/cifar-10-batches-bin/data_batch_1.bin: no such file") != NULL);
  scan_dataset_spec present = {.name = "stl-10", .root = test_path("stl"), .split = "unlabeled", .image_size = 0, .channels = 0};
  CHECK(scan_dataset_split_present(&present));
  present.split = "test";
  CHECK(!scan_dataset_split_present(&present));
}

int main(void) {
  test_idx();
  test_cifar10();
  test_cifar20_mapping();
  test_cifar100();
  test_stl();
  test_image_io();
  test_folder_and_list();
  test_names();
  return test_main_end();
}
