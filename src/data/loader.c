/* The threaded batch loader (include/scan/loader.h).
 *
 * Batch b of an epoch always goes to ring slot b % prefetch. Workers claim the
 * next unassembled batch when its slot is free (the consumer has released the
 * batch that used it before), fill it without holding the lock, and mark the
 * slot as holding b. The consumer waits for its slot, hands it out, and releases
 * it on the following call. Each batch is filled by one worker and each sample's
 * randomness depends only on (seed, epoch, index, view), so the bits never
 * depend on the number of threads or their timing. */
#include "scan/loader.h"

#include "scan/dist.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Worker stacks hold the augmentation's working images (up to 2 x 768 KiB). */
enum { WORKER_STACK_BYTES = 8 << 20, MAX_THREADS = 256 };

struct scan_loader {
  scan_loader_config cfg;
  scan_aug_config aug_a, aug_b; /* copies: callers may reuse theirs */
  int samples, batches;
  int32_t *order;
  long floats_a, floats_b; /* per sample */
  int prefetch;
  scan_batch *slots;
  int *slot_batch; /* the batch a slot holds, -1 when none */
  uint8_t **scratch; /* per slot: one image of a streamed dataset (NULL entries when in memory) */

  pthread_mutex_t lock;
  pthread_cond_t work_ready; /* workers wait: a claim became possible, or stop */
  pthread_cond_t batch_done; /* consumer / start_epoch wait: a batch was finished */
  pthread_t *workers;
  int worker_count;
  int stop, active, epoch;
  int next_claim; /* next batch a worker may assemble */
  int released;   /* batches [0, released) are consumed and their slots free */
  int returned;   /* batches handed to the consumer */
  int in_flight;  /* batches being assembled right now */
  double stall_seconds;
  scan_status failed; /* the first image that could not be read stops the loader: its status and message */
  char failure[1024];
};

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The neighbour of `anchor`: uniform among the mined columns 1..k that are not the anchor. */
static int32_t pick_neighbor(const scan_loader *l, int32_t anchor, scan_rng *rng) {
  const int64_t *row = l->cfg.neighbors + (long)anchor * l->cfg.neighbor_cols;
  int32_t candidates[l->cfg.num_neighbors];
  int n = 0;
  for (int c = 1; c <= l->cfg.num_neighbors; c++)
    if (row[c] != anchor) candidates[n++] = (int32_t)row[c];
  if (n == 0) return anchor;
  return candidates[scan_rng_int(rng, n)];
}

static scan_status fill_batch(scan_loader *l, int batch, int epoch) {
  const scan_dataset *d = l->cfg.data;
  scan_batch *out = &l->slots[batch % l->prefetch];
  uint8_t *scratch = l->scratch[batch % l->prefetch];
  const uint8_t *image;
  int first = batch * l->cfg.batch_size;
  int n = l->samples - first < l->cfg.batch_size ? l->samples - first : l->cfg.batch_size;
  out->global_n = n;
  out->global_first = 0;
  if (l->cfg.shard_count > 1) { /* this rank's contiguous part of the global batch */
    long shard_first, shard_n;
    scan_dist_share(n, l->cfg.shard_index, l->cfg.shard_count, &shard_first, &shard_n);
    first += (int)shard_first;
    out->global_first = (int)shard_first;
    n = (int)shard_n;
  }
  out->n = n;
  for (int i = 0; i < n; i++) {
    int32_t index = l->order[first + i];
    uint64_t stream = (uint64_t)index * 4;
    scan_rng rng_a = scan_rng_make(l->cfg.seed, (uint64_t)epoch, stream);
    SCAN_TRY(scan_dataset_read(d, index, scratch, &image));
    scan_augment(&l->aug_a, image, d->height, d->width, &rng_a, out->a + i * l->floats_a);
    out->index[i] = index;
    if (out->labels) out->labels[i] = d->labels[index];
    if (!out->b) continue;
    int32_t source = index;
    if (l->cfg.kind == SCAN_BATCH_NEIGHBOR_PAIRS) {
      scan_rng rng_pick = scan_rng_make(l->cfg.seed, (uint64_t)epoch, stream + 2);
      source = pick_neighbor(l, index, &rng_pick);
      out->partner[i] = source;
    }
    scan_rng rng_b = scan_rng_make(l->cfg.seed, (uint64_t)epoch, stream + 1);
    SCAN_TRY(scan_dataset_read(d, source, scratch, &image));
    scan_augment(&l->aug_b, image, d->height, d->width, &rng_b, out->b + i * l->floats_b);
  }
  return SCAN_OK;
}

/* Called with the lock held: keeps the first failure (the message is thread-local, so it is copied for the
   consumer's thread). */
static void record_failure(scan_loader *l, scan_status st) {
  if (st == SCAN_OK || l->failed != SCAN_OK) return;
  l->failed = st;
  snprintf(l->failure, sizeof l->failure, "%s", scan_error_message());
}

static void *worker_main(void *arg) {
  scan_loader *l = arg;
  pthread_mutex_lock(&l->lock);
  while (!l->stop) {
    if (l->active && l->next_claim < l->batches && l->next_claim < l->released + l->prefetch) {
      int batch = l->next_claim++, epoch = l->epoch;
      l->in_flight++;
      pthread_mutex_unlock(&l->lock);
      scan_status st = fill_batch(l, batch, epoch);
      pthread_mutex_lock(&l->lock);
      record_failure(l, st);
      l->slot_batch[batch % l->prefetch] = batch;
      l->in_flight--;
      pthread_cond_broadcast(&l->batch_done);
    } else {
      pthread_cond_wait(&l->work_ready, &l->lock);
    }
  }
  pthread_mutex_unlock(&l->lock);
  return NULL;
}

static scan_status check_config(const scan_loader_config *c) {
  const scan_dataset *d = c->data;
  if (!d || d->count <= 0 || (!d->pixels && !d->source)) return scan_fail(SCAN_ERR_INPUT, "loader: the dataset is empty");
  if (c->kind < SCAN_BATCH_SINGLE || c->kind > SCAN_BATCH_WEAK_STRONG)
    return scan_fail(SCAN_ERR_INPUT, "loader: unknown batch kind %d", (int)c->kind);
  if (c->batch_size < 1) return scan_fail(SCAN_ERR_INPUT, "loader: batch size %d must be >= 1", c->batch_size);
  if (c->threads < 0 || c->threads > MAX_THREADS)
    return scan_fail(SCAN_ERR_INPUT, "loader: %d threads is outside 0..%d", c->threads, MAX_THREADS);
  if (c->prefetch < 0) return scan_fail(SCAN_ERR_INPUT, "loader: prefetch %d must be >= 0", c->prefetch);
  if (c->shard_count < 0 || (c->shard_count > 1 && (c->shard_index < 0 || c->shard_index >= c->shard_count)))
    return scan_fail(SCAN_ERR_INPUT, "loader: shard %d of %d does not exist", c->shard_index, c->shard_count);
  if (c->shard_count > 1 && c->batch_size < c->shard_count)
    return scan_fail(SCAN_ERR_INPUT, "loader: a batch of %d cannot be shared by %d processes (batch_size must be >= %d)",
                     c->batch_size, c->shard_count, c->shard_count);
  if (!c->aug_a) return scan_fail(SCAN_ERR_INPUT, "loader: no augmentation given");
  if (scan_aug_validate(c->aug_a, d->height, d->width, d->channels) != SCAN_OK)
    return scan_fail_context(SCAN_ERR_INPUT, "loader on %s", d->name);
  if (c->aug_b && scan_aug_validate(c->aug_b, d->height, d->width, d->channels) != SCAN_OK)
    return scan_fail_context(SCAN_ERR_INPUT, "loader on %s (second view)", d->name);
  if (c->subset) {
    if (c->subset_count < 1) return scan_fail(SCAN_ERR_INPUT, "loader: the subset is empty");
    for (int i = 0; i < c->subset_count; i++)
      if (c->subset[i] < 0 || c->subset[i] >= d->count)
        return scan_fail(SCAN_ERR_INPUT, "loader: subset entry %d is index %d, outside 0..%d", i, c->subset[i],
                         d->count - 1);
  }
  if (c->kind == SCAN_BATCH_NEIGHBOR_PAIRS) {
    if (!c->neighbors) return scan_fail(SCAN_ERR_INPUT, "loader: neighbour pairs need the mined neighbours");
    if (c->num_neighbors < 1 || c->num_neighbors > c->neighbor_cols - 1)
      return scan_fail(SCAN_ERR_INPUT, "loader: num_neighbors %d must be in 1..%d (the file has %d columns, self first)",
                       c->num_neighbors, c->neighbor_cols - 1, c->neighbor_cols);
    for (long r = 0; r < d->count; r++)
      for (int k = 1; k <= c->num_neighbors; k++) {
        int64_t v = c->neighbors[r * c->neighbor_cols + k];
        if (v < 0 || v >= d->count)
          return scan_fail(SCAN_ERR_INPUT, "loader: neighbour row %ld column %d is %lld, outside 0..%d", r, k,
                           (long long)v, d->count - 1);
      }
  }
  return SCAN_OK;
}

static scan_status alloc_slots(scan_loader *l) {
  int two = l->cfg.kind != SCAN_BATCH_SINGLE;
  int bs = l->cfg.batch_size;
  l->slots = scan_calloc((unsigned long)l->prefetch, sizeof *l->slots);
  l->slot_batch = scan_malloc(sizeof(int) * (unsigned long)l->prefetch);
  l->scratch = scan_calloc((unsigned long)l->prefetch, sizeof *l->scratch);
  if (!l->slots || !l->slot_batch || !l->scratch) return scan_fail(SCAN_ERR_INTERNAL, "loader: out of memory");
  for (int s = 0; s < l->prefetch; s++) {
    scan_batch *b = &l->slots[s];
    b->a = scan_malloc(sizeof(float) * (unsigned long)(bs * l->floats_a));
    b->index = scan_malloc(sizeof(int32_t) * (unsigned long)bs);
    if (two) b->b = scan_malloc(sizeof(float) * (unsigned long)(bs * l->floats_b));
    if (l->cfg.kind == SCAN_BATCH_NEIGHBOR_PAIRS) b->partner = scan_malloc(sizeof(int32_t) * (unsigned long)bs);
    if (l->cfg.data->labels) b->labels = scan_malloc(sizeof(int32_t) * (unsigned long)bs);
    if (!l->cfg.data->pixels && !(l->scratch[s] = scan_malloc(scan_dataset_image_bytes(l->cfg.data))))
      return SCAN_ERR_INTERNAL;
    if (!b->a || !b->index || (two && !b->b) || (l->cfg.kind == SCAN_BATCH_NEIGHBOR_PAIRS && !b->partner) ||
        (l->cfg.data->labels && !b->labels))
      return scan_fail(SCAN_ERR_INTERNAL, "loader: out of memory for %d batch buffers of %d samples", l->prefetch, bs);
  }
  return SCAN_OK;
}

static scan_status start_workers(scan_loader *l) {
  if (l->cfg.threads == 0) return SCAN_OK;
  l->workers = scan_calloc((unsigned long)l->cfg.threads, sizeof(pthread_t));
  if (!l->workers) return scan_fail(SCAN_ERR_INTERNAL, "loader: out of memory");
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, WORKER_STACK_BYTES);
  for (int t = 0; t < l->cfg.threads; t++) {
    if (pthread_create(&l->workers[t], &attr, worker_main, l) != 0) {
      pthread_attr_destroy(&attr);
      return scan_fail(SCAN_ERR_INTERNAL, "loader: cannot start worker thread %d of %d", t + 1, l->cfg.threads);
    }
    l->worker_count++;
  }
  pthread_attr_destroy(&attr);
  return SCAN_OK;
}

scan_status scan_loader_create(scan_loader **out, const scan_loader_config *cfg) {
  *out = NULL;
  SCAN_TRY(check_config(cfg));
  const scan_dataset *d = cfg->data;
  int samples = cfg->subset ? cfg->subset_count : d->count;
  int batches = cfg->drop_last ? samples / cfg->batch_size : (samples + cfg->batch_size - 1) / cfg->batch_size;
  if (batches == 0)
    return scan_fail(SCAN_ERR_INPUT, "loader on %s: %d samples make no full batch of %d (drop_last)", d->name, samples,
                     cfg->batch_size);
  scan_loader *l = scan_calloc(1, sizeof *l);
  if (!l) return scan_fail(SCAN_ERR_INTERNAL, "loader: out of memory");
  l->cfg = *cfg;
  l->aug_a = *cfg->aug_a;
  l->aug_b = cfg->aug_b ? *cfg->aug_b : *cfg->aug_a;
  l->samples = samples;
  l->batches = batches;
  l->floats_a = (long)d->channels * l->aug_a.out_size * l->aug_a.out_size;
  l->floats_b = (long)d->channels * l->aug_b.out_size * l->aug_b.out_size;
  /* Two batches beyond one per worker: the consumer never waits while every worker is busy with the next. */
  l->prefetch = cfg->prefetch > 0 ? cfg->prefetch : cfg->threads + 2;
  l->epoch = -1;
  pthread_mutex_init(&l->lock, NULL);
  pthread_cond_init(&l->work_ready, NULL);
  pthread_cond_init(&l->batch_done, NULL);
  scan_status st = SCAN_OK;
  l->order = scan_malloc(sizeof(int32_t) * (unsigned long)samples);
  if (!l->order) st = scan_fail(SCAN_ERR_INTERNAL, "loader: out of memory");
  if (st == SCAN_OK) st = alloc_slots(l);
  if (st == SCAN_OK) st = start_workers(l);
  if (st != SCAN_OK) {
    scan_loader_free(l);
    return st;
  }
  *out = l;
  return SCAN_OK;
}

scan_status scan_loader_start_epoch(scan_loader *l, int epoch) {
  if (epoch < 0) return scan_fail(SCAN_ERR_INPUT, "loader: epoch %d must be >= 0", epoch);
  pthread_mutex_lock(&l->lock);
  l->active = 0; /* no new claims; wait for what is being assembled */
  while (l->in_flight > 0) pthread_cond_wait(&l->batch_done, &l->lock);
  for (int i = 0; i < l->samples; i++) l->order[i] = l->cfg.subset ? l->cfg.subset[i] : i;
  if (l->cfg.shuffle) {
    scan_rng rng = scan_rng_make(l->cfg.seed, (uint64_t)epoch, UINT64_MAX);
    scan_rng_shuffle(&rng, l->order, l->samples);
  }
  for (int s = 0; s < l->prefetch; s++) l->slot_batch[s] = -1;
  l->epoch = epoch;
  l->next_claim = l->released = l->returned = 0;
  l->stall_seconds = 0;
  l->active = l->failed == SCAN_OK;
  pthread_cond_broadcast(&l->work_ready);
  pthread_mutex_unlock(&l->lock);
  return SCAN_OK;
}

int scan_loader_batches(const scan_loader *l) { return l->batches; }

const scan_batch *scan_loader_next(scan_loader *l) {
  pthread_mutex_lock(&l->lock);
  if (!l->active) {
    pthread_mutex_unlock(&l->lock);
    return NULL;
  }
  /* The batch handed out last time is done with: its slot can be refilled. */
  l->released = l->returned;
  pthread_cond_broadcast(&l->work_ready);
  if (l->returned >= l->batches) {
    pthread_mutex_unlock(&l->lock);
    return NULL;
  }
  int batch = l->returned, slot = batch % l->prefetch;
  if (l->worker_count == 0) {
    pthread_mutex_unlock(&l->lock);
    scan_status st = fill_batch(l, batch, l->epoch);
    pthread_mutex_lock(&l->lock);
    record_failure(l, st);
    l->slot_batch[slot] = batch;
  }
  if (l->slot_batch[slot] != batch) {
    double start = now_seconds();
    while (l->slot_batch[slot] != batch) pthread_cond_wait(&l->batch_done, &l->lock);
    l->stall_seconds += now_seconds() - start;
  }
  if (l->failed != SCAN_OK) { /* a batch with an unreadable image is never handed out */
    l->active = 0;
    pthread_mutex_unlock(&l->lock);
    return NULL;
  }
  l->returned++;
  pthread_mutex_unlock(&l->lock);
  return &l->slots[slot];
}

double scan_loader_stall_seconds(const scan_loader *l) { return l->stall_seconds; }

scan_status scan_loader_status(scan_loader *l) {
  pthread_mutex_lock(&l->lock);
  scan_status st = l->failed;
  if (st != SCAN_OK) scan_fail(st, "%s", l->failure);
  pthread_mutex_unlock(&l->lock);
  return st;
}

void scan_loader_free(scan_loader *l) {
  if (!l) return;
  pthread_mutex_lock(&l->lock);
  l->stop = 1;
  pthread_cond_broadcast(&l->work_ready);
  pthread_mutex_unlock(&l->lock);
  for (int t = 0; t < l->worker_count; t++) pthread_join(l->workers[t], NULL);
  free(l->workers);
  if (l->slots)
    for (int s = 0; s < l->prefetch; s++) {
      free(l->slots[s].a);
      free(l->slots[s].b);
      free(l->slots[s].index);
      free(l->slots[s].partner);
      free(l->slots[s].labels);
    }
  for (int s = 0; l->scratch && s < l->prefetch; s++) free(l->scratch[s]);
  free(l->scratch);
  free(l->slots);
  free(l->slot_batch);
  free(l->order);
  pthread_cond_destroy(&l->work_ready);
  pthread_cond_destroy(&l->batch_done);
  pthread_mutex_destroy(&l->lock);
  free(l);
}
