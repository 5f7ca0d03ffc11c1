/* Where `scan predict`'s images come from: the files of a folder or list, decoded a batch at a time so that
 * memory does not grow with their number, or a dataset file read whole; each image through the model's own
 * validation transform whatever its size and channel count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "predict_internal.h"
#include "scan/image_io.h"
#include "scan/resample.h"

scan_status predict_source_open(predict_source *s, const scan_dataset_spec *spec) {
  memset(s, 0, sizeof *s);
  s->from_files = scan_dataset_is_files(spec->name);
  if (s->from_files) {
    SCAN_TRY(scan_image_files_find(&s->files, spec));
    s->count = s->files.count;
    return SCAN_OK;
  }
  SCAN_TRY(scan_dataset_load(&s->data, spec));
  s->count = s->data.count;
  return SCAN_OK;
}

void predict_source_close(predict_source *s) {
  if (s->from_files) scan_image_files_free(&s->files);
  else scan_dataset_free(&s->data);
  memset(s, 0, sizeof *s);
}

const char *predict_source_name(const predict_source *s, long index, char *buf, size_t size) {
  if (s->from_files) return s->files.names[index];
  if (s->data.file_names) return s->data.file_names[index];
  snprintf(buf, size, "%ld", index);
  return buf;
}

/* One image into the model's input: channels converted, then (resize_to > 0) the whole image resized to
   resize_to x resize_to, as the folder and list readers loaded the training images, then the validation
   transform. The decoded pixels are freed here, so each thread holds at most one image decoded. */
static scan_status prepare_one(const predict_source *s, long index, int resize_to, const scan_aug_config *aug, float *dst) {
  uint8_t *decoded = NULL;
  const uint8_t *pixels;
  int h, w, c;
  if (s->from_files) {
    SCAN_TRY(scan_image_read(s->files.paths[index], &decoded, &h, &w, &c));
    pixels = decoded;
  } else {
    h = s->data.height;
    w = s->data.width;
    c = s->data.channels;
    decoded = scan_malloc(scan_dataset_image_bytes(&s->data));
    if (!decoded) return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
    scan_status read = scan_dataset_copy_image(&s->data, index, decoded);
    if (read != SCAN_OK) {
      free(decoded);
      return read;
    }
    pixels = decoded;
  }
  uint8_t *converted = NULL, *resized = NULL;
  scan_status status = SCAN_OK;
  if (c != aug->channels) { /* grey into an RGB model copies the grey; RGB into a grey model takes the luma */
    converted = scan_malloc((size_t)h * w * aug->channels);
    if (converted) scan_image_convert_channels(pixels, c, converted, aug->channels, (long)h * w);
    else status = SCAN_ERR_INTERNAL;
    pixels = converted;
  }
  if (status == SCAN_OK && resize_to > 0 && (h != resize_to || w != resize_to)) {
    resized = scan_malloc((size_t)resize_to * resize_to * aug->channels);
    if (resized) scan_resample_bilinear_u8(pixels, h, w, aug->channels, 0, 0, h, w, resized, resize_to, resize_to, 1);
    else status = SCAN_ERR_INTERNAL;
    pixels = resized;
    h = w = resize_to;
  }
  if (status == SCAN_OK) {
    scan_rng unused = scan_rng_make(0, 0, (uint64_t)index); /* the val transform draws no random numbers */
    scan_augment(aug, pixels, h, w, &unused, dst);
  }
  free(resized);
  free(converted);
  free(decoded);
  return status;
}

void predict_source_prepare(const predict_source *s, long first, int n, int resize_to, const scan_aug_config *aug,
                            float *input, int *ok, char (*messages)[PREDICT_MESSAGE_SIZE]) {
  const size_t item = (size_t)aug->channels * aug->out_size * aug->out_size;
#pragma omp parallel for schedule(dynamic)
  for (int k = 0; k < n; k++) {
    scan_status status = prepare_one(s, first + k, resize_to, aug, input + (size_t)k * item);
    ok[k] = status == SCAN_OK;
    /* The error message is per thread: copy it on the thread that set it. */
    if (!ok[k]) snprintf(messages[k], PREDICT_MESSAGE_SIZE, "%s", scan_error_message());
  }
}
