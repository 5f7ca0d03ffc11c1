/* bench_loader DATASET ROOT IMAGE_SIZE STREAMING CACHE_MB BATCHES: loads a dataset (folder, list or packed) as
 * the training split would be loaded, then times BATCHES SimCLR two-view batches of 256 from the training loader
 * (2 workers, shuffled) and prints load seconds and loader images per second (two views count as two images, as
 * the training progress counts them). Run under /usr/bin/time -v for the peak RSS (tools/bench_loader.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scan/datasets.h"
#include "scan/loader.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: bench_loader DATASET ROOT IMAGE_SIZE on|off|auto CACHE_MB BATCHES\n");
    return 2;
  }
  scan_dataset_spec spec = {.name = argv[1], .root = argv[2], .image_size = atoi(argv[3]), .cache_mb = atol(argv[5])};
  spec.streaming = strcmp(argv[4], "on") == 0 ? SCAN_STREAM_ON : strcmp(argv[4], "off") == 0 ? SCAN_STREAM_OFF : SCAN_STREAM_AUTO;
  const int batches = atoi(argv[6]);
  scan_dataset d;
  double t0 = now();
  if (scan_dataset_load(&d, &spec) != SCAN_OK) {
    fprintf(stderr, "bench_loader: %s\n", scan_error_message());
    return 2;
  }
  double load_s = now() - t0;
  scan_aug_config aug;
  scan_aug_default(&aug, SCAN_AUG_SIMCLR, d.height, d.channels);
  scan_loader_config cfg = {.data = &d, .kind = SCAN_BATCH_TWO_VIEWS, .aug_a = &aug, .batch_size = 256, .shuffle = 1,
                            .drop_last = 1, .seed = 1, .threads = 2};
  scan_loader *l = NULL;
  if (scan_loader_create(&l, &cfg) != SCAN_OK) {
    fprintf(stderr, "bench_loader: %s\n", scan_error_message());
    return 2;
  }
  scan_loader_start_epoch(l, 0);
  long images = 0;
  t0 = now();
  const scan_batch *b;
  for (int i = 0; i < batches && (b = scan_loader_next(l)) != NULL; i++) images += 2L * b->n;
  double seconds = now() - t0;
  int rc = scan_loader_status(l) == SCAN_OK ? 0 : 2;
  if (rc) fprintf(stderr, "bench_loader: %s\n", scan_error_message());
  size_t held, peak, budget;
  scan_dataset_cache_usage(&d, &held, &peak, &budget);
  printf("%s %s streaming=%s: %d images %dx%dx%d %s, load %.1f s, loader %.0f img/s (%ld images), cache peak %.0f MiB\n",
         argv[1], argv[2], argv[4], d.count, d.height, d.width, d.channels, d.pixels ? "in memory" : "streamed", load_s,
         images / seconds, images, (double)peak / 1048576.0);
  scan_loader_free(l);
  scan_dataset_free(&d);
  return rc;
}
