/* The threaded batch loader: batch contents against scan_augment called directly
 * with the documented per-sample streams, bit-identical batches for 0, 1 and 3
 * worker threads, shuffling and drop_last, subsets, neighbour pairs that avoid the
 * anchor, and input errors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan/loader.h"
#include "testlib.h"

enum { COUNT = 37, SIDE = 12, CH = 3 };

static scan_dataset make_dataset(uint8_t *pixels, int32_t *labels) {
  scan_rng r = scan_rng_make(99, 0, 0);
  for (long i = 0; i < (long)COUNT * SIDE * SIDE * CH; i++) pixels[i] = (uint8_t)scan_rng_int(&r, 256);
  for (int i = 0; i < COUNT; i++) labels[i] = i % 5;
  scan_dataset d;
  memset(&d, 0, sizeof d);
  d.count = COUNT;
  d.height = d.width = SIDE;
  d.channels = CH;
  d.pixels = pixels;
  d.labels = labels;
  d.num_classes = 5;
  strcpy(d.name, "test/loader");
  return d;
}

/* All batches of one epoch, concatenated: a, b, index, partner, labels. */
typedef struct {
  float *a, *b;
  int32_t index[COUNT], partner[COUNT], labels[COUNT];
  int samples, batches;
} epoch_dump;

static int dump_epoch(const scan_loader_config *cfg, int epoch, epoch_dump *out) {
  scan_loader *l = NULL;
  if (scan_loader_create(&l, cfg) != SCAN_OK) return 0;
  long floats = (long)CH * cfg->aug_a->out_size * cfg->aug_a->out_size;
  out->a = calloc((size_t)(COUNT * floats), sizeof(float));
  out->b = calloc((size_t)(COUNT * floats), sizeof(float));
  out->samples = out->batches = 0;
  scan_loader_start_epoch(l, epoch);
  const scan_batch *b;
  while ((b = scan_loader_next(l)) != NULL) {
    memcpy(out->a + out->samples * floats, b->a, sizeof(float) * (size_t)(b->n * floats));
    if (b->b) memcpy(out->b + out->samples * floats, b->b, sizeof(float) * (size_t)(b->n * floats));
    memcpy(out->index + out->samples, b->index, sizeof(int32_t) * (size_t)b->n);
    if (b->partner) memcpy(out->partner + out->samples, b->partner, sizeof(int32_t) * (size_t)b->n);
    if (b->labels) memcpy(out->labels + out->samples, b->labels, sizeof(int32_t) * (size_t)b->n);
    out->samples += b->n;
    out->batches++;
  }
  CHECK(out->batches == scan_loader_batches(l));
  CHECK(scan_loader_stall_seconds(l) >= 0.0);
  scan_loader_free(l);
  return 1;
}

static void free_dump(epoch_dump *e) {
  free(e->a);
  free(e->b);
}

static void test_single_in_order(const scan_dataset *d) {
  scan_aug_config aug;
  scan_aug_default(&aug, SCAN_AUG_SIMCLR, 10, CH);
  scan_loader_config cfg = {.data = d, .kind = SCAN_BATCH_SINGLE, .aug_a = &aug, .batch_size = 8, .seed = 5,
                            .threads = 2};
  epoch_dump e;
  CHECK(dump_epoch(&cfg, 3, &e));
  CHECK(e.batches == 5 && e.samples == COUNT);
  float view[CH * 10 * 10];
  int same = 1;
  for (int i = 0; i < COUNT; i++) {
    same &= e.index[i] == i && e.labels[i] == i % 5;
    scan_rng rng = scan_rng_make(5, 3, (uint64_t)i * 4);
    scan_augment(&aug, TEST_DATASET_IMAGE(d, i), SIDE, SIDE, &rng, view);
    same &= memcmp(view, e.a + (long)i * CH * 100, sizeof view) == 0;
  }
  CHECK(same);
  free_dump(&e);
}

static void test_threads_identical(const scan_dataset *d) {
  scan_aug_config a, b;
  scan_aug_default(&a, SCAN_AUG_SIMCLR, SIDE, CH);
  scan_aug_default(&b, SCAN_AUG_OURS, SIDE, CH);
  epoch_dump runs[3];
  const int threads[3] = {0, 1, 3};
  for (int t = 0; t < 3; t++) {
    scan_loader_config cfg = {.data = d, .kind = SCAN_BATCH_WEAK_STRONG, .aug_a = &a, .aug_b = &b, .batch_size = 6,
                              .shuffle = 1, .seed = 11, .threads = threads[t], .prefetch = 2};
    CHECK(dump_epoch(&cfg, 2, &runs[t]));
  }
  long floats = (long)COUNT * CH * SIDE * SIDE;
  for (int t = 1; t < 3; t++) {
    CHECK_MSG(memcmp(runs[0].a, runs[t].a, sizeof(float) * (size_t)floats) == 0, "view a: %d threads differ", threads[t]);
    CHECK_MSG(memcmp(runs[0].b, runs[t].b, sizeof(float) * (size_t)floats) == 0, "view b: %d threads differ", threads[t]);
    CHECK(memcmp(runs[0].index, runs[t].index, sizeof runs[0].index) == 0);
  }
  /* A shuffled epoch visits every sample once, and the two views differ. */
  int seen[COUNT] = {0}, once = 1;
  for (int i = 0; i < COUNT; i++) seen[runs[0].index[i]]++;
  for (int i = 0; i < COUNT; i++) once &= seen[i] == 1;
  CHECK(once);
  CHECK(memcmp(runs[0].a, runs[0].b, sizeof(float) * (size_t)floats) != 0);
  for (int t = 0; t < 3; t++) free_dump(&runs[t]);
}

static void test_shuffle_drop_last_subset(const scan_dataset *d) {
  scan_aug_config aug;
  scan_aug_default(&aug, SCAN_AUG_VAL, SIDE, CH);
  scan_loader_config cfg = {.data = d, .kind = SCAN_BATCH_SINGLE, .aug_a = &aug, .batch_size = 8, .shuffle = 1,
                            .drop_last = 1, .seed = 1, .threads = 2};
  epoch_dump e0, e1;
  CHECK(dump_epoch(&cfg, 0, &e0));
  CHECK(dump_epoch(&cfg, 1, &e1));
  CHECK(e0.batches == 4 && e0.samples == 32);
  int distinct = 1, seen[COUNT] = {0};
  for (int i = 0; i < 32; i++) distinct &= seen[e0.index[i]]++ == 0;
  CHECK(distinct);
  CHECK(memcmp(e0.index, e1.index, 32 * sizeof(int32_t)) != 0); /* a new order each epoch */
  free_dump(&e0);
  free_dump(&e1);
  /* A subset: only those indices, in the given order without shuffling. */
  const int32_t subset[5] = {30, 2, 17, 2, 36};
  scan_loader_config sub = {.data = d, .kind = SCAN_BATCH_SINGLE, .aug_a = &aug, .batch_size = 2, .seed = 1,
                            .threads = 1, .subset = subset, .subset_count = 5};
  epoch_dump es;
  CHECK(dump_epoch(&sub, 0, &es));
  CHECK(es.samples == 5 && es.batches == 3 && memcmp(es.index, subset, sizeof subset) == 0);
  free_dump(&es);
}

static void test_neighbor_pairs(const scan_dataset *d) {
  enum { COLS = 4 };
  int64_t nb[COUNT * COLS];
  for (int i = 0; i < COUNT; i++) {
    nb[i * COLS] = i;
    nb[i * COLS + 1] = (i + 1) % COUNT;
    nb[i * COLS + 2] = i; /* a duplicate of the anchor among its neighbours */
    nb[i * COLS + 3] = (i + 7) % COUNT;
  }
  for (int c = 1; c < COLS; c++) nb[5 * COLS + c] = 5; /* row 5: only itself */
  scan_aug_config a, b;
  scan_aug_default(&a, SCAN_AUG_OURS, SIDE, CH);
  scan_aug_default(&b, SCAN_AUG_SIMCLR, SIDE, CH);
  scan_loader_config cfg = {.data = d, .kind = SCAN_BATCH_NEIGHBOR_PAIRS, .aug_a = &a, .aug_b = &b, .neighbors = nb,
                            .neighbor_cols = COLS, .num_neighbors = 3, .batch_size = 5, .shuffle = 1, .seed = 3,
                            .threads = 3};
  int self_pairs = 0, bad = 0, first = 0, third = 0, views_ok = 1;
  float view[CH * SIDE * SIDE];
  for (int epoch = 0; epoch < 6; epoch++) {
    epoch_dump e;
    CHECK(dump_epoch(&cfg, epoch, &e));
    for (int i = 0; i < COUNT; i++) {
      int anchor = e.index[i], partner = e.partner[i];
      if (partner == anchor && anchor != 5) self_pairs++;
      if (anchor == 5 && partner != 5) bad++;
      if (anchor != 5 && partner != (anchor + 1) % COUNT && partner != (anchor + 7) % COUNT) bad++;
      if (anchor != 5) {
        first += partner == (anchor + 1) % COUNT;
        third += partner == (anchor + 7) % COUNT;
      }
      /* b is the neighbour's image under the anchor's second stream. */
      scan_rng rng = scan_rng_make(3, (uint64_t)epoch, (uint64_t)anchor * 4 + 1);
      scan_augment(&b, TEST_DATASET_IMAGE(d, partner), SIDE, SIDE, &rng, view);
      views_ok &= memcmp(view, e.b + (long)i * CH * SIDE * SIDE, sizeof view) == 0;
    }
    free_dump(&e);
  }
  CHECK(self_pairs == 0);
  CHECK(bad == 0);
  CHECK_MSG(first > 60 && third > 60, "neighbour choice not uniform: %d vs %d", first, third);
  CHECK(views_ok);
  /* Out-of-range neighbour indices are an input error naming the row. */
  nb[9 * COLS + 2] = COUNT;
  scan_loader *l = NULL;
  CHECK(scan_loader_create(&l, &cfg) == SCAN_ERR_INPUT && l == NULL);
  CHECK(strstr(scan_error_message(), "row 9") != NULL);
}

static void test_errors_and_restart(const scan_dataset *d) {
  scan_aug_config aug;
  scan_aug_default(&aug, SCAN_AUG_SIMCLR, SIDE, CH);
  scan_loader *l = NULL;
  scan_loader_config cfg = {.data = d, .kind = SCAN_BATCH_SINGLE, .aug_a = &aug, .batch_size = 64, .drop_last = 1,
                            .threads = 1};
  CHECK(scan_loader_create(&l, &cfg) == SCAN_ERR_INPUT); /* 37 samples, no full batch of 64 */
  scan_aug_config grey;
  scan_aug_default(&grey, SCAN_AUG_SIMCLR, SIDE, 1);
  cfg.aug_a = &grey;
  cfg.batch_size = 4;
  CHECK(scan_loader_create(&l, &cfg) == SCAN_ERR_INPUT); /* channels do not match the images */
  cfg.aug_a = &aug;
  CHECK(scan_loader_create(&l, &cfg) == SCAN_OK);
  CHECK(scan_loader_next(l) == NULL); /* no epoch started */
  /* Abandon an epoch after two batches; the next one is complete and correct. */
  scan_loader_start_epoch(l, 0);
  CHECK(scan_loader_next(l) != NULL && scan_loader_next(l) != NULL);
  scan_loader_start_epoch(l, 1);
  int batches = 0, samples = 0;
  const scan_batch *b;
  while ((b = scan_loader_next(l)) != NULL) {
    batches++;
    samples += b->n;
  }
  CHECK(batches == 9 && samples == 36);
  CHECK(scan_loader_next(l) == NULL);
  scan_loader_free(l);
}

int main(void) {
  static uint8_t pixels[COUNT * SIDE * SIDE * CH];
  static int32_t labels[COUNT];
  scan_dataset d = make_dataset(pixels, labels);
  test_single_in_order(&d);
  test_threads_identical(&d);
  test_shuffle_drop_last_subset(&d);
  test_neighbor_pairs(&d);
  test_errors_and_restart(&d);
  return test_main_end();
}
