#include "data_internal.h"
#include "scan/dataset.h"
#include "scan/hash.h"

/* The decoded data rather than the files' names, sizes and times: it covers every format (packed dataset files,
   folders, lists) in one place, and catches a file replaced by one of the same size and time as well as removed
   class folders. Hashing is about a tenth of a second for CIFAR-10, small beside loading it. A streamed dataset's
   images are not in memory: its files' paths, sizes and modification times stand for them (data_source_hash), so
   the same folder streamed and loaded whole have different fingerprints. */
uint64_t scan_dataset_fingerprint(const scan_dataset *d) {
  int32_t shape[5] = {d->count, d->height, d->width, d->channels, d->num_classes};
  uint64_t h = scan_hash_bytes(SCAN_HASH_SEED, shape, sizeof shape);
  if (d->pixels)
    h = scan_hash_bytes(h, d->pixels, (size_t)d->count * (size_t)d->height * (size_t)d->width * (size_t)d->channels);
  else if (d->source)
    h = data_source_hash(d->source, h);
  if (d->labels) h = scan_hash_bytes(h, d->labels, sizeof *d->labels * (size_t)d->count);
  for (int i = 0; d->file_names && i < d->count; i++) h = scan_hash_string(h, d->file_names[i] ? d->file_names[i] : "");
  for (int i = 0; d->class_names && i < d->num_classes; i++)
    h = scan_hash_string(h, d->class_names[i] ? d->class_names[i] : "");
  return h;
}
