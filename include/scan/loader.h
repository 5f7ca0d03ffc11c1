/* The threaded batch loader: worker threads augment samples and assemble whole
 * batches ahead of the training step, into a ring of `prefetch` preallocated
 * batch buffers. Every sample's randomness is scan_rng_make(seed, epoch,
 * index * 4 + view) (view 0 = a, 1 = b, 2 = the neighbour choice) and the order is
 * shuffled with scan_rng_make(seed, epoch, UINT64_MAX), so batches are
 * bit-identical for any thread count. */
#ifndef SCAN_LOADER_H
#define SCAN_LOADER_H

#include <stdint.h>

#include "scan/augment.h"
#include "scan/dataset.h"
#include "scan/error.h"

typedef enum {
  SCAN_BATCH_SINGLE,         /* a = aug_a(image) */
  SCAN_BATCH_TWO_VIEWS,      /* a = aug_a(image), b = aug_b(image): SimCLR */
  SCAN_BATCH_NEIGHBOR_PAIRS, /* a = aug_a(anchor), b = aug_b(one mined neighbour): SCAN */
  SCAN_BATCH_WEAK_STRONG     /* a = aug_a(image) weak, b = aug_b(image) strong: self-labelling */
} scan_batch_kind;

typedef struct {
  const scan_dataset *data;
  scan_batch_kind kind;
  const scan_aug_config *aug_a, *aug_b; /* view 1 / anchor / weak, and view 2 / neighbour / strong (aug_b NULL = aug_a) */
  /* NEIGHBOR_PAIRS: [data->count, neighbor_cols] mined indices, self in column 0. The
   * neighbour is drawn uniformly among columns 1..num_neighbors that are not the
   * anchor itself (the reference could pair a sample with itself, spec §18.6); only
   * when all of them are the anchor is the anchor used. */
  const int64_t *neighbors;
  int neighbor_cols;
  int num_neighbors;
  int batch_size;
  int shuffle;
  int drop_last;
  uint64_t seed;
  int threads;  /* worker threads; 0 = assemble each batch in scan_loader_next on the calling thread */
  int prefetch; /* batch buffers in the ring (>= 1); 0 = threads + 2, what every loader of the program uses */
  const int32_t *subset; /* optional: iterate only these dataset indices */
  int subset_count;
  /* Data-parallel training: every batch holds only part `shard_index` of `shard_count` contiguous parts of the global
   * batch (scan_dist_share of its n samples, in order); shard_count 0 or 1 = the whole batch. The order, the number
   * of batches and every sample's randomness are those of the global batch, so sample i of a global batch is the
   * same image augmented the same way on any number of ranks. batch_size (the global batch) must be >= shard_count. */
  int shard_index, shard_count;
} scan_loader_config;

typedef struct {
  int n;            /* samples in this batch (this shard's, with shard_count > 1) */
  int global_n;     /* samples in the global batch (= n without shards) */
  int global_first; /* the global batch's position of this batch's first sample (0 without shards) */
  float *a;         /* [n, C, H, W] */
  float *b;         /* [n, C, H, W]; NULL for SINGLE */
  int32_t *index;   /* [n] dataset indices (anchors for NEIGHBOR_PAIRS) */
  int32_t *partner; /* [n] the neighbour's dataset index (NEIGHBOR_PAIRS), else NULL */
  int32_t *labels;  /* [n] labels of `index`, or NULL when the dataset is unlabelled */
} scan_batch;

typedef struct scan_loader scan_loader;

/* Checks the config (augmentations against the images, neighbour indices in range)
 * and allocates the ring and starts the workers. The loader keeps pointers to data,
 * neighbours and subset (they must outlive it) and copies the augmentation configs. */
scan_status scan_loader_create(scan_loader **out, const scan_loader_config *cfg);
/* Starts an epoch (abandoning what is left of the previous one): the order is the
 * identity or the shuffle of rng(seed, epoch). */
scan_status scan_loader_start_epoch(scan_loader *l, int epoch);
int scan_loader_batches(const scan_loader *l);
/* The next batch of the epoch, or NULL at its end or when an image could not be read (a streamed file that no
 * longer decodes): scan_loader_status tells which. Valid until the next call. */
const scan_batch *scan_loader_next(scan_loader *l);
/* SCAN_OK, or the first image failure (its message, naming the file, set again on the calling thread); a loader
 * that failed hands out no more batches. */
scan_status scan_loader_status(scan_loader *l);
/* Seconds the consumer waited in scan_loader_next this epoch. */
double scan_loader_stall_seconds(const scan_loader *l);
void scan_loader_free(scan_loader *l);

#endif
