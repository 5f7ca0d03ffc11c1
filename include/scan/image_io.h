/* PNG and JPEG images in and out, always as 8-bit HWC with 1 (grey) or 3 (RGB)
 * channels: palettes are expanded, 16-bit samples reduced to 8, alpha dropped.
 * The format is told by the magic bytes, not by the file name. */
#ifndef SCAN_IMAGE_IO_H
#define SCAN_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "scan/error.h"

/* Images larger than this (a side, or in all) are refused: corrupt headers, decompression bombs. */
#define SCAN_IMAGE_MAX_SIDE 16384
#define SCAN_IMAGE_MAX_PIXELS (8192L * 8192L)
/* Image files larger than this are refused before they are read (an 8192x8192 16-bit RGBA PNG stored
 * without compression is 512 MiB). */
#define SCAN_IMAGE_MAX_FILE_BYTES (1024UL * 1024 * 1024)

/* Decodes an image file (a regular file only: FIFOs and devices are refused; the magic bytes and the file
 * size are checked before it is read whole). *pixels is malloc'd (h*w*channels bytes), caller frees. */
scan_status scan_image_read(const char *path, uint8_t **pixels, int *height, int *width, int *channels);
/* The same from memory; `name` is used in error messages. */
scan_status scan_image_decode(const unsigned char *data, size_t size, const char *name, uint8_t **pixels,
                              int *height, int *width, int *channels);

/* Writes an 8-bit PNG (channels 1, 3 or 4) atomically. */
scan_status scan_image_write_png(const char *path, const uint8_t *pixels, int height, int width, int channels);
/* Encodes a PNG into a malloc'd buffer. */
scan_status scan_image_encode_png(const uint8_t *pixels, int height, int width, int channels, unsigned char **data,
                                  size_t *size);

/* Converts between grey and RGB (grey -> RGB copies, RGB -> grey uses the
 * ITU-R 601 luma that PIL's convert("L") uses). dst holds h*w*dst_channels. */
void scan_image_convert_channels(const uint8_t *src, int src_channels, uint8_t *dst, int dst_channels, long pixel_count);
/* An image [h, w, channels] as another shape: out_channels channels (scan_image_convert_channels), then the whole
 * image resized to out_h x out_w (bilinear, antialiased) into out [out_h, out_w, out_channels]. How an image file
 * is brought to a dataset's images (scan explain --image, scan query --query-image). */
scan_status scan_image_reshape(const uint8_t *pixels, int h, int w, int channels, int out_h, int out_w, int out_channels,
                               uint8_t *out);

#endif
