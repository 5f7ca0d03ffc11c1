/* Streamed images (include/scan/dataset.h): a folder or list whose files are decoded when an image is asked for,
 * through a bounded least-recently-used cache of decoded images, or a packed file (scan data pack) read image by
 * image with pread (the operating system's page cache is its cache; no decoding is needed).
 *
 * The cache holds at most budget / image_bytes decoded images; an image's buffer is allocated the first time its
 * entry is used, so `held` (bytes of decoded images) never exceeds the budget. A miss decodes outside the lock:
 * two workers may decode the same image at once, and the second finds it cached and keeps the cached copy (the same
 * bytes). Every entry point takes the lock, so the loader's worker threads share one cache. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_internal.h"
#include "scan/hash.h"
#include "scan/image_io.h"
#include "scan/paths.h"

typedef struct {
  long index;      /* the image held, -1 when free */
  long prev, next; /* LRU list: head = most recently used */
  uint8_t *pixels; /* image_bytes, allocated on first use */
} cache_entry;

struct scan_image_source {
  /* files */
  char **paths;
  long count;
  int resize; /* image_size was given: every image is resized to it, else all must match the first */
  /* packed */
  int fd;
  char packed_path[SCAN_PATH_MAX];
  unsigned long long data_offset;
  int height, width, channels;
  size_t image_bytes;
  /* cache (files only) */
  pthread_mutex_t lock;
  size_t budget, held, peak;
  long capacity, used; /* entries allowed, entries whose buffer exists */
  cache_entry *entries;
  int32_t *slot; /* count: the entry holding image i, or -1 */
  long head, tail;
};

static void unlink_entry(struct scan_image_source *s, long e) {
  cache_entry *x = &s->entries[e];
  if (x->prev >= 0) s->entries[x->prev].next = x->next; else s->head = x->next;
  if (x->next >= 0) s->entries[x->next].prev = x->prev; else s->tail = x->prev;
  x->prev = x->next = -1;
}

static void push_front(struct scan_image_source *s, long e) {
  cache_entry *x = &s->entries[e];
  x->prev = -1;
  x->next = s->head;
  if (s->head >= 0) s->entries[s->head].prev = e;
  s->head = e;
  if (s->tail < 0) s->tail = e;
}

/* Decodes file i, converts and resizes it into dst: the same steps, in the same order, as loading it whole. */
static scan_status decode_file(const struct scan_image_source *s, long i, uint8_t *dst) {
  uint8_t *decoded;
  int h, w, c;
  SCAN_TRY(scan_image_read(s->paths[i], &decoded, &h, &w, &c));
  scan_status st = SCAN_OK;
  if (!s->resize && (h != s->height || w != s->width))
    st = scan_fail(SCAN_ERR_INPUT, "%s: image is %dx%d but %s is %dx%d; give an image size to resize them all", s->paths[i],
                   w, h, s->paths[0], s->width, s->height);
  if (st == SCAN_OK) st = data_fit_image(s->paths[i], decoded, h, w, c, s->channels, dst, s->height, s->width);
  free(decoded);
  return st;
}

static scan_status read_packed(const struct scan_image_source *s, long i, uint8_t *dst) {
  size_t done = 0;
  off_t at = (off_t)(s->data_offset + (unsigned long long)i * s->image_bytes);
  while (done < s->image_bytes) {
    ssize_t got = pread(s->fd, dst + done, s->image_bytes - done, at + (off_t)done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      return scan_fail(SCAN_ERR_INPUT, "%s: cannot read image %ld: %s", s->packed_path, i,
                       got < 0 ? strerror(errno) : "the file is truncated");
    done += (size_t)got;
  }
  return SCAN_OK;
}

static scan_status source_read(struct scan_image_source *s, long i, uint8_t *dst) {
  if (!s->paths) return read_packed(s, i, dst);
  if (s->capacity == 0) return decode_file(s, i, dst);
  pthread_mutex_lock(&s->lock);
  long e = s->slot[i];
  if (e >= 0) {
    memcpy(dst, s->entries[e].pixels, s->image_bytes);
    unlink_entry(s, e);
    push_front(s, e);
    pthread_mutex_unlock(&s->lock);
    return SCAN_OK;
  }
  pthread_mutex_unlock(&s->lock);
  SCAN_TRY(decode_file(s, i, dst));
  pthread_mutex_lock(&s->lock);
  if (s->slot[i] < 0) { /* not cached by another worker meanwhile */
    if (s->used < s->capacity && (s->entries[s->used].pixels = malloc(s->image_bytes)) != NULL) {
      e = s->used++;
      s->held += s->image_bytes;
      if (s->held > s->peak) s->peak = s->held;
    } else {
      e = s->tail; /* full (or out of memory for a new entry: reuse the oldest, if any) */
      if (e >= 0) {
        unlink_entry(s, e);
        s->slot[s->entries[e].index] = -1;
      }
    }
    if (e >= 0) {
      memcpy(s->entries[e].pixels, dst, s->image_bytes);
      s->entries[e].index = i;
      s->slot[i] = (int32_t)e;
      push_front(s, e);
    }
  }
  pthread_mutex_unlock(&s->lock);
  return SCAN_OK;
}

scan_status scan_dataset_read(const scan_dataset *d, long index, uint8_t *scratch, const uint8_t **image) {
  if (index < 0 || index >= d->count)
    return scan_fail(SCAN_ERR_INTERNAL, "%s: image %ld is outside 0..%d", d->name, index, d->count - 1);
  if (d->pixels) {
    *image = d->pixels + (size_t)index * scan_dataset_image_bytes(d);
    return SCAN_OK;
  }
  if (!d->source) return scan_fail(SCAN_ERR_INTERNAL, "%s: the dataset holds no images", d->name);
  *image = scratch;
  return source_read(d->source, index, scratch);
}

scan_status scan_dataset_read_unit(const scan_dataset *d, long index, uint8_t *scratch, float *row) {
  const uint8_t *image = NULL;
  SCAN_TRY(scan_dataset_read(d, index, scratch, &image));
  const size_t bytes = scan_dataset_image_bytes(d);
  for (size_t j = 0; j < bytes; j++) row[j] = image[j] / 255.0f;
  return SCAN_OK;
}

scan_status scan_dataset_copy_image(const scan_dataset *d, long index, uint8_t *dst) {
  const uint8_t *image = NULL;
  SCAN_TRY(scan_dataset_read(d, index, dst, &image));
  if (image != dst) memcpy(dst, image, scan_dataset_image_bytes(d));
  return SCAN_OK;
}

scan_status scan_dataset_gather(const scan_dataset *d, const int64_t *indices, long count, uint8_t **out) {
  const size_t bytes = scan_dataset_image_bytes(d);
  *out = scan_calloc(count > 0 ? (size_t)count : 1, bytes);
  if (!*out) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory for %ld images", d->name, count);
  scan_status status = SCAN_OK;
  for (long i = 0; i < count && status == SCAN_OK; i++)
    if (indices[i] >= 0) status = scan_dataset_copy_image(d, (long)indices[i], *out + (size_t)i * bytes);
  if (status != SCAN_OK) {
    free(*out);
    *out = NULL;
  }
  return status;
}

void scan_dataset_cache_usage(const scan_dataset *d, size_t *held, size_t *peak, size_t *budget) {
  *held = *peak = *budget = 0;
  struct scan_image_source *s = d->source;
  if (!s || !s->paths) return;
  pthread_mutex_lock(&s->lock);
  *held = s->held;
  *peak = s->peak;
  *budget = s->budget;
  pthread_mutex_unlock(&s->lock);
}

static struct scan_image_source *source_new(void) {
  struct scan_image_source *s = scan_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->fd = -1;
  s->head = s->tail = -1;
  pthread_mutex_init(&s->lock, NULL);
  return s;
}

scan_status data_source_open_files(scan_dataset *d, char ***paths, long count, int image_size, int channels,
                                   size_t budget) {
  struct scan_image_source *s = source_new();
  if (!s) return SCAN_ERR_INTERNAL;
  d->source = s; /* freed with the dataset from here on */
  s->paths = *paths;
  s->count = count;
  *paths = NULL;
  s->resize = image_size != 0;
  s->channels = channels ? channels : 3;
  if (image_size) {
    s->height = s->width = image_size;
  } else { /* the first image sets the size */
    uint8_t *decoded;
    int c;
    SCAN_TRY(scan_image_read(s->paths[0], &decoded, &s->height, &s->width, &c));
    free(decoded);
  }
  d->count = (int)count;
  d->height = s->height;
  d->width = s->width;
  d->channels = s->channels;
  s->image_bytes = scan_dataset_image_bytes(d);
  s->budget = budget;
  s->capacity = (long)(budget / s->image_bytes);
  if (s->capacity > count) s->capacity = count;
  s->entries = scan_calloc((unsigned long)(s->capacity ? s->capacity : 1), sizeof *s->entries);
  s->slot = scan_malloc(sizeof(int32_t) * (unsigned long)count);
  if (!s->entries || !s->slot) return SCAN_ERR_INTERNAL;
  for (long i = 0; i < count; i++) s->slot[i] = -1;
  for (long e = 0; e < s->capacity; e++) s->entries[e] = (cache_entry){-1, -1, -1, NULL};
  return SCAN_OK;
}

scan_status data_source_open_packed(scan_dataset *d, int fd, const char *path, unsigned long long data_offset) {
  struct scan_image_source *s = source_new();
  if (!s) {
    close(fd);
    return SCAN_ERR_INTERNAL;
  }
  d->source = s;
  s->fd = fd;
  s->data_offset = data_offset;
  s->height = d->height;
  s->width = d->width;
  s->channels = d->channels;
  s->count = d->count;
  s->image_bytes = scan_dataset_image_bytes(d);
  return scan_path_format(s->packed_path, sizeof s->packed_path, "%s", path);
}

char **data_source_take_paths(struct scan_image_source *s) {
  char **paths = s->paths;
  s->paths = NULL;
  return paths;
}

void data_source_free(struct scan_image_source *s) {
  if (!s) return;
  for (long i = 0; s->paths && i < s->count; i++) free(s->paths[i]);
  free(s->paths);
  for (long e = 0; e < s->used; e++) free(s->entries[e].pixels);
  free(s->entries);
  free(s->slot);
  if (s->fd >= 0) close(s->fd);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

/* A streamed dataset's fingerprint covers each file's path, size and modification time (and, for a packed file,
   its own size and time) instead of its pixels: hashing the pixels would decode every image once more before
   training, minutes for a large folder. It misses a file rewritten with the same size within the same
   nanosecond-resolution mtime, which only a deliberate edit does. */
uint64_t data_source_hash(const struct scan_image_source *s, uint64_t h) {
  struct stat info;
  long n = s->paths ? s->count : 1;
  for (long i = 0; i < n; i++) {
    const char *path = s->paths ? s->paths[i] : s->packed_path;
    long long facts[3] = {-1, -1, -1};
    if (stat(path, &info) == 0) {
      facts[0] = (long long)info.st_size;
      facts[1] = (long long)info.st_mtim.tv_sec;
      facts[2] = (long long)info.st_mtim.tv_nsec;
    }
    h = scan_hash_string(h, path);
    h = scan_hash_bytes(h, facts, sizeof facts);
  }
  return h;
}
