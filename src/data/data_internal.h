/* Helpers shared by the dataset readers in src/data (not a public interface). */
#ifndef SCAN_DATA_INTERNAL_H
#define SCAN_DATA_INTERNAL_H

#include <stddef.h>

#include "scan/datasets.h"

/* A whole text file, NUL-terminated; a file holding a NUL byte is refused as "<path>: not <what>". */
scan_status data_read_text(const char *path, const char *what, unsigned char **text, size_t *size);

/* Whole file into memory, gunzipping it when it is gzip'd (zlib reads plain
 * files unchanged). Files that are (or inflate to) more than max_bytes are refused. */
scan_status data_read_whole(const char *path, size_t max_bytes, unsigned char **data, size_t *size);

/* Looks for <root>/<subdir>/<name>, then <root>/<name>. Returns 1 when found,
 * with the path in `out`; 0 when not, and `out` holds the first path tried
 * (for the error message); -1 when a path is too long (the message is recorded). */
int data_find_file(const char *root, const char *subdir, const char *name, char *out, size_t out_size);

/* Allocates pixels (and labels when labelled) of an empty dataset; sets the sizes. */
scan_status data_alloc_images(scan_dataset *d, long count, int height, int width, int channels, int labelled);
/* Copies n class names into d (num_classes = n). */
scan_status data_set_class_names(scan_dataset *d, const char *const *names, int n);
/* Reads one class name per non-empty line of a text file; there must be exactly `expected`. */
scan_status data_read_class_names(scan_dataset *d, const char *path, int expected);
/* Class names "0", "1", ... */
scan_status data_set_numbered_class_names(scan_dataset *d, int n);

/* The format readers behind scan_dataset_load (spec->split is already checked). */
scan_status data_load_idx(scan_dataset *out, const scan_dataset_spec *spec);
scan_status data_load_cifar(scan_dataset *out, const scan_dataset_spec *spec);
scan_status data_load_stl(scan_dataset *out, const scan_dataset_spec *spec);
scan_status data_load_files(scan_dataset *out, const scan_dataset_spec *spec); /* folder and list */
/* The listing halves of scan_image_files_find: an image folder (image_folder.c), a list file (image_list.c). */
scan_status data_list_folder(scan_image_files *out, const char *root);
scan_status data_list_list(scan_image_files *out, const char *list_path);
int data_idx_present(const scan_dataset_spec *spec);
int data_cifar_present(const scan_dataset_spec *spec);
int data_stl_present(const scan_dataset_spec *spec);

/* Folder and list readers share this: decode each file, convert to `channels`,
 * resize to image_size (0 = all must match the first image), fill d->pixels.
 * paths are full paths; d->file_names are set from display_names (copied). */
scan_status data_load_image_files(scan_dataset *d, const char *const *paths, const char *const *display_names,
                                  long count, int image_size, int channels);

/* Converts a decoded h x w x c image to `channels`, then resizes it (bilinear) to out_h x out_w at dst. */
scan_status data_fit_image(const char *path, const uint8_t *decoded, int h, int w, int c, int channels, uint8_t *dst,
                           int out_h, int out_w);

/* ---- Streamed images (image_source.c) ---- */
struct scan_image_source;
/* The decoded-image cache budget of a spec, in bytes. */
size_t data_cache_budget(const scan_dataset_spec *spec);
/* Makes d streamed from `count` files: takes *paths (set to NULL); sets count and sizes (the first image's when
   image_size is 0, decoding it). A cache of at most budget bytes of decoded images. */
scan_status data_source_open_files(scan_dataset *d, char ***paths, long count, int image_size, int channels,
                                   size_t budget);
/* Makes d (count and sizes set) streamed from a packed file's images at data_offset; takes fd. */
scan_status data_source_open_packed(scan_dataset *d, int fd, const char *path, unsigned long long data_offset);
/* Takes back the paths a files source holds (the source then frees none). */
char **data_source_take_paths(struct scan_image_source *s);
void data_source_free(struct scan_image_source *s);
/* Hashes what identifies a streamed source's files (paths, sizes, modification times) into h. */
uint64_t data_source_hash(const struct scan_image_source *s, uint64_t h);

scan_status data_load_packed(scan_dataset *out, const scan_dataset_spec *spec);

#endif
