/* Streamed datasets: a folder decoded on the fly through a bounded cache and a packed file (scan data pack) give
 * exactly the images and the loader batches of the same folder loaded whole; the cache never holds more than its
 * budget; a file that stops decoding fails the loader (and a training stage, exit 2) with its name; the packed
 * file round trip, and `scan data pack` on the command line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan/datasets.h"
#include "scan/image_io.h"
#include "scan/loader.h"
#include "scan/rng.h"
#include "testlib.h"

enum { COUNT = 120, SIDE = 64, CLASSES = 3 };

/* COUNT PNGs in CLASSES class folders, 70x60, every fourth one grey (converted to RGB on load), so that loading
   converts and resizes. */
static void write_folder(const char *root) {
  mkdir(root, 0777);
  uint8_t *image = malloc(70 * 60 * 3);
  scan_rng rng = scan_rng_make(5, 0, 0);
  char path[512];
  for (int k = 0; k < CLASSES; k++) {
    snprintf(path, sizeof path, "%s/class%d", root, k);
    mkdir(path, 0777);
  }
  for (int i = 0; i < COUNT; i++) {
    int channels = i % 4 == 0 ? 1 : 3;
    for (int p = 0; p < 70 * 60 * channels; p++) image[p] = (uint8_t)(scan_rng_int(&rng, 64) + (p / 97 + i) % 192);
    snprintf(path, sizeof path, "%s/class%d/img%03d.png", root, i % CLASSES, i);
    CHECK(scan_image_write_png(path, image, 60, 70, channels) == SCAN_OK);
  }
  free(image);
}

static scan_status load(scan_dataset *d, const char *name, const char *root, scan_streaming streaming, long cache_mb) {
  scan_dataset_spec spec = {.name = name, .root = root, .image_size = SIDE, .streaming = streaming, .cache_mb = cache_mb};
  return scan_dataset_load(d, &spec);
}

/* Every image of `d` equals the in-memory `whole`'s. */
static int same_images(const scan_dataset *whole, const scan_dataset *d) {
  size_t bytes = scan_dataset_image_bytes(whole);
  if (d->count != whole->count || scan_dataset_image_bytes(d) != bytes) return 0;
  uint8_t *scratch = malloc(bytes);
  int same = 1;
  for (int pass = 0; pass < 2; pass++) /* twice: the second pass reads (some) images from the cache */
    for (long i = 0; i < d->count && same; i++) {
      const uint8_t *image;
      same = scan_dataset_read(d, i, scratch, &image) == SCAN_OK && memcmp(image, TEST_DATASET_IMAGE(whole, i), bytes) == 0;
    }
  free(scratch);
  same = same && (whole->labels == NULL) == (d->labels == NULL);
  same = same && (!d->labels || memcmp(whole->labels, d->labels, sizeof(int32_t) * (size_t)d->count) == 0);
  for (long i = 0; same && i < d->count; i++) same = strcmp(whole->file_names[i], d->file_names[i]) == 0;
  for (int k = 0; same && k < d->num_classes; k++) same = strcmp(whole->class_names[k], d->class_names[k]) == 0;
  return same && d->num_classes == whole->num_classes;
}

/* Two epochs of SimCLR two-view batches (two workers), every float of every batch concatenated. */
static float *epochs(const scan_dataset *d, long *floats_out, scan_status *status) {
  scan_aug_config aug;
  scan_aug_default(&aug, SCAN_AUG_SIMCLR, 48, 3);
  scan_loader_config cfg = {.data = d, .kind = SCAN_BATCH_TWO_VIEWS, .aug_a = &aug, .batch_size = 16, .shuffle = 1,
                            .seed = 7, .threads = 2};
  scan_loader *l = NULL;
  *status = scan_loader_create(&l, &cfg);
  if (*status != SCAN_OK) return NULL;
  long per = 3L * 48 * 48, total = 0;
  float *all = malloc(sizeof(float) * (size_t)(2 * 2 * COUNT * per));
  for (int epoch = 0; epoch < 2 && *status == SCAN_OK; epoch++) {
    scan_loader_start_epoch(l, epoch);
    const scan_batch *b;
    while ((b = scan_loader_next(l)) != NULL) {
      memcpy(all + total, b->a, sizeof(float) * (size_t)(b->n * per));
      memcpy(all + total + b->n * per, b->b, sizeof(float) * (size_t)(b->n * per));
      total += 2 * b->n * per;
    }
    *status = scan_loader_status(l);
  }
  scan_loader_free(l);
  *floats_out = total;
  return all;
}

static void check_same_batches(const scan_dataset *whole, const scan_dataset *d, const char *what) {
  long n_whole = 0, n = 0;
  scan_status s1, s2;
  float *a = epochs(whole, &n_whole, &s1), *b = epochs(d, &n, &s2);
  CHECK_MSG(s1 == SCAN_OK && s2 == SCAN_OK && n == n_whole && n == 2L * 2 * COUNT * 3 * 48 * 48 &&
                memcmp(a, b, sizeof(float) * (size_t)n) == 0,
            "%s: batches differ from the in-memory folder's", what);
  free(a);
  free(b);
}

int main(void) {
  const char *root = test_path("folder");
  write_folder(root);
  const size_t bytes = (size_t)SIDE * SIDE * 3, budget = 1u << 20; /* 1 MiB holds 85 of the 120 images */

  scan_dataset whole, streamed, auto_small;
  CHECK(load(&whole, "folder", root, SCAN_STREAM_OFF, 0) == SCAN_OK && whole.pixels && !whole.source);
  CHECK(load(&streamed, "folder", root, SCAN_STREAM_ON, 1) == SCAN_OK && !streamed.pixels && streamed.source);
  /* auto: 120 x 12 KiB fits the default budget, so it is loaded whole, as before streaming existed. */
  CHECK(load(&auto_small, "folder", root, SCAN_STREAM_AUTO, 0) == SCAN_OK && auto_small.pixels && !auto_small.source);
  CHECK(same_images(&whole, &auto_small));
  scan_dataset_free(&auto_small);

  CHECK(same_images(&whole, &streamed));
  size_t held, peak, limit;
  scan_dataset_cache_usage(&streamed, &held, &peak, &limit);
  CHECK_MSG(limit == budget && held <= budget && peak <= budget && peak == budget / bytes * bytes,
            "cache held %zu, peak %zu, budget %zu", held, peak, limit);
  check_same_batches(&whole, &streamed, "streamed folder");
  scan_dataset_cache_usage(&streamed, &held, &peak, &limit);
  CHECK_MSG(peak <= budget, "after the loader: peak %zu over the budget %zu", peak, budget);

  /* Packed round trip, from the streamed folder (as scan data pack writes it): read back whole and by pread. */
  const char *packed_path = test_path("folder.pack");
  CHECK(scan_dataset_pack(&streamed, packed_path) == SCAN_OK);
  scan_dataset packed_whole, packed;
  CHECK(load(&packed_whole, "packed", packed_path, SCAN_STREAM_OFF, 0) == SCAN_OK && packed_whole.pixels);
  CHECK(load(&packed, "packed", packed_path, SCAN_STREAM_ON, 0) == SCAN_OK && !packed.pixels && packed.source);
  CHECK(same_images(&whole, &packed_whole));
  CHECK(same_images(&whole, &packed));
  CHECK(strcmp(packed.name, "packed") == 0);
  check_same_batches(&whole, &packed, "packed file");
  CHECK(scan_dataset_fingerprint(&packed_whole) == scan_dataset_fingerprint(&whole)); /* pixels hashed alike */
  CHECK(scan_dataset_fingerprint(&packed) == scan_dataset_fingerprint(&packed));
  scan_dataset_free(&packed_whole);
  scan_dataset_free(&packed);

  /* A damaged packed file is refused with its name. */
  FILE *f = fopen(packed_path, "r+b");
  CHECK(f && ftruncate(fileno(f), 5000) == 0);
  if (f) fclose(f);
  scan_dataset bad;
  CHECK(load(&bad, "packed", packed_path, SCAN_STREAM_ON, 0) == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "folder.pack") && strstr(scan_error_message(), "truncated"), "%s",
            scan_error_message());

  /* A file that no longer decodes stops the loader with its name (image 50 is not in the cache: make it so by
     reading the others after it). */
  char victim[512];
  snprintf(victim, sizeof victim, "%s/class%d/img%03d.png", root, 50 % CLASSES, 50);
  f = fopen(victim, "wb");
  CHECK(f && fputs("not a png at all", f) >= 0);
  if (f) fclose(f);
  scan_dataset fresh;
  CHECK(load(&fresh, "folder", root, SCAN_STREAM_ON, 1) == SCAN_OK); /* listing does not decode them */
  long n;
  scan_status st;
  float *none = epochs(&fresh, &n, &st);
  free(none);
  CHECK(st == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "img050.png") && strstr(scan_error_message(), "not a PNG or JPEG"), "%s",
            scan_error_message());
  scan_dataset_free(&fresh);

  /* The command line: scan data pack, then the packed file as a dataset. */
  char args[2048], output[8192];
  const char *good = test_path("good");
  write_folder(good);
  snprintf(args, sizeof args, "data pack --dataset folder --root %s --image-size %d --out %s", good, SIDE,
           test_path("good.pack"));
  CHECK(test_scan_run(args, output, sizeof output, 1) == 0);
  CHECK_MSG(strstr(output, "120 images of 64x64x3"), "%s", output);
  snprintf(args, sizeof args, "data info --dataset packed --root %s", test_path("good.pack"));
  CHECK(test_scan_run(args, output, sizeof output, 1) == 0);
  CHECK_MSG(strstr(output, "120") && strstr(output, "class2"), "%s", output);
  snprintf(args, sizeof args, "data pack --dataset folder --root %s --image-size %d --out %s", root, SIDE,
           test_path("bad.pack"));
  test_scan_rejects(args, "img050.png", output, sizeof output);

  /* Training on the streamed folder with the damaged file stops with its name (exit 2), not a crash. */
  snprintf(args, sizeof args,
           "pretext --dataset folder --root %s --val-dataset folder --val-root %s --out %s --quiet --set data_streaming=on "
           "--set image_size=32 --set pretext.epochs=1 --set pretext.batch_size=16 --set num_classes=3",
           root, good, test_path("run"));
  test_scan_rejects(args, "img050.png: not a PNG or JPEG image", output, sizeof output);

  scan_dataset_free(&streamed);
  scan_dataset_free(&whole);
  return test_main_end();
}
