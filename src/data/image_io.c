/* PNG (libpng) and JPEG (libjpeg) decoding into 8-bit grey or RGB, and PNG
 * encoding. Both libraries report errors by longjmp; the handlers here keep
 * the library's message so the status can name the file and the problem,
 * and never print. */
#include "scan/image_io.h"

#include <stdio.h> /* before jpeglib.h, which uses FILE */

#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan/atomic_file.h"
#include "scan/resample.h"

static scan_status check_dimensions(const char *name, unsigned long height, unsigned long width) {
  if (height == 0 || width == 0) return scan_fail(SCAN_ERR_INPUT, "%s: image has zero size (%lux%lu)", name, width, height);
  if (height > SCAN_IMAGE_MAX_SIDE || width > SCAN_IMAGE_MAX_SIDE || height * width > (unsigned long)SCAN_IMAGE_MAX_PIXELS)
    return scan_fail(SCAN_ERR_INPUT,
                     "%s: image too large to decode (%lux%lu; at most %d a side and %ld pixels); shrink the file first "
                     "(--image-size and the config's image_size resize images only after they are decoded)",
                     name, width, height, SCAN_IMAGE_MAX_SIDE, (long)SCAN_IMAGE_MAX_PIXELS);
  return SCAN_OK;
}

/* ---------------- PNG ---------------- */

typedef struct {
  const unsigned char *data;
  size_t size, position;
  char message[256];
} png_source;

static void png_error_handler(png_structp png, png_const_charp message) {
  png_source *src = png_get_error_ptr(png);
  snprintf(src->message, sizeof src->message, "%s", message);
  png_longjmp(png, 1);
}

static void png_warning_handler(png_structp png, png_const_charp message) { (void)png, (void)message; }

static void png_read_memory(png_structp png, png_bytep out, png_size_t length) {
  png_source *src = png_get_io_ptr(png);
  if (length > src->size - src->position) png_error(png, "file is truncated");
  memcpy(out, src->data + src->position, length);
  src->position += length;
}

static unsigned long be32(const unsigned char *p) {
  return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

static scan_status decode_png(const unsigned char *data, size_t size, const char *name, uint8_t **pixels, int *height,
                              int *width, int *channels) {
  /* The sides are checked in IHDR (always the first chunk) before libpng starts: it would stop a large image
     with "Invalid IHDR data", or at whichever chunk comes next, instead of saying it is too large. */
  if (size >= 24 && memcmp(data + 12, "IHDR", 4) == 0) SCAN_TRY(check_dimensions(name, be32(data + 20), be32(data + 16)));
  png_source src = {data, size, 0, ""};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_error_handler, png_warning_handler);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    return scan_fail(SCAN_ERR_INTERNAL, "%s: cannot start the PNG decoder", name);
  }
  /* Written after setjmp, read after a longjmp: must be volatile. */
  uint8_t *volatile image = NULL;
  png_bytep *volatile rows = NULL;
  if (setjmp(png_jmpbuf(png))) {
    free(image);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return scan_fail(SCAN_ERR_INPUT, "%s: corrupt PNG: %s", name, src.message);
  }
  png_set_read_fn(png, &src, png_read_memory);
  png_set_user_limits(png, SCAN_IMAGE_MAX_SIDE, SCAN_IMAGE_MAX_SIDE);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  scan_status st = check_dimensions(name, h, w);
  if (st != SCAN_OK) {
    png_destroy_read_struct(&png, &info, NULL);
    return st;
  }
  /* Everything becomes 8-bit grey or RGB: palettes expanded, 16-bit reduced, alpha dropped. */
  png_set_expand(png);
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  int c = png_get_channels(png, info);
  if (c != 1 && c != 3) png_error(png, "unsupported colour type");
  size_t row_bytes = png_get_rowbytes(png, info);
  if (row_bytes != (size_t)w * (size_t)c) png_error(png, "unexpected row size");
  image = scan_malloc((size_t)h * row_bytes);
  rows = scan_malloc(sizeof(png_bytep) * h);
  if (!image || !rows) png_error(png, "out of memory");
  for (png_uint_32 y = 0; y < h; y++) rows[y] = image + (size_t)y * row_bytes;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  free(rows);
  png_destroy_read_struct(&png, &info, NULL);
  *pixels = image;
  *height = (int)h;
  *width = (int)w;
  *channels = c;
  return SCAN_OK;
}

/* ---------------- JPEG ---------------- */

typedef struct {
  struct jpeg_error_mgr base;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
} jpeg_error_trap;

static void jpeg_error_exit(j_common_ptr cinfo) {
  jpeg_error_trap *trap = (jpeg_error_trap *)cinfo->err;
  trap->base.format_message(cinfo, trap->message);
  longjmp(trap->jump, 1);
}

/* Level -1 is a warning about corrupt data (e.g. a cut-off file, which libjpeg
 * would pad with grey): treated as an error so no image is silently wrong.
 * Other levels are trace messages and are ignored. */
static void jpeg_emit_message(j_common_ptr cinfo, int level) {
  if (level == -1) jpeg_error_exit(cinfo);
}

static scan_status decode_jpeg(const unsigned char *data, size_t size, const char *name, uint8_t **pixels, int *height,
                               int *width, int *channels) {
  struct jpeg_decompress_struct cinfo;
  jpeg_error_trap trap;
  cinfo.err = jpeg_std_error(&trap.base);
  trap.base.error_exit = jpeg_error_exit;
  trap.base.emit_message = jpeg_emit_message;
  trap.message[0] = 0;
  uint8_t *volatile image = NULL;
  if (setjmp(trap.jump)) {
    free(image);
    jpeg_destroy_decompress(&cinfo);
    return scan_fail(SCAN_ERR_INPUT, "%s: corrupt JPEG: %s", name, trap.message);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, (unsigned long)size);
  jpeg_read_header(&cinfo, TRUE);
  scan_status st = check_dimensions(name, cinfo.image_height, cinfo.image_width);
  if (st == SCAN_OK && cinfo.jpeg_color_space != JCS_GRAYSCALE && cinfo.jpeg_color_space != JCS_YCbCr &&
      cinfo.jpeg_color_space != JCS_RGB)
    st = scan_fail(SCAN_ERR_INPUT, "%s: unsupported JPEG colour space (CMYK or other); convert it to RGB", name);
  if (st != SCAN_OK) {
    jpeg_destroy_decompress(&cinfo);
    return st;
  }
  cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  int c = cinfo.output_components;
  size_t row_bytes = (size_t)cinfo.output_width * (size_t)c;
  image = scan_malloc(row_bytes * cinfo.output_height);
  if (!image) {
    jpeg_destroy_decompress(&cinfo);
    return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", name);
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = image + (size_t)cinfo.output_scanline * row_bytes;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  *pixels = image;
  *height = (int)cinfo.output_height;
  *width = (int)cinfo.output_width;
  *channels = c;
  jpeg_destroy_decompress(&cinfo);
  return SCAN_OK;
}

/* ---------------- public ---------------- */

/* The magic bytes of the formats scan_image_decode reads. */
static int is_png(const unsigned char *data, size_t size) {
  static const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return size >= 8 && memcmp(data, magic, 8) == 0;
}

static int is_jpeg(const unsigned char *data, size_t size) {
  return size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff;
}

scan_status scan_image_decode(const unsigned char *data, size_t size, const char *name, uint8_t **pixels, int *height,
                              int *width, int *channels) {
  *pixels = NULL;
  *height = *width = *channels = 0;
  if (is_png(data, size)) return decode_png(data, size, name, pixels, height, width, channels);
  if (is_jpeg(data, size)) return decode_jpeg(data, size, name, pixels, height, width, channels);
  if (size == 0) return scan_fail(SCAN_ERR_INPUT, "%s: empty file", name);
  return scan_fail(SCAN_ERR_INPUT, "%s: not a PNG or JPEG image", name);
}

scan_status scan_image_read(const char *path, uint8_t **pixels, int *height, int *width, int *channels) {
  *pixels = NULL;
  *height = *width = *channels = 0;
  /* Type and size are checked before the file is read whole: a FIFO or device is refused by
     scan_open_regular, a large file that is not an image costs 8 bytes, an image file beyond the limit nothing. */
  int fd;
  size_t size;
  SCAN_TRY(scan_open_regular(path, &fd, &size));
  unsigned char head[8];
  size_t head_size = size < sizeof head ? size : sizeof head;
  scan_status st = scan_read_exact(fd, path, head, head_size);
  if (st == SCAN_OK && size == 0) st = scan_fail(SCAN_ERR_INPUT, "%s: empty file", path);
  if (st == SCAN_OK && !is_png(head, head_size) && !is_jpeg(head, head_size))
    st = scan_fail(SCAN_ERR_INPUT, "%s: not a PNG or JPEG image", path);
  if (st == SCAN_OK) st = scan_check_file_size(path, size, SCAN_IMAGE_MAX_FILE_BYTES, "an image file");
  unsigned char *data = st == SCAN_OK ? scan_malloc(size) : NULL;
  if (st == SCAN_OK && !data) st = scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory reading %zu bytes", path, size);
  if (st == SCAN_OK) {
    memcpy(data, head, head_size);
    st = scan_read_exact(fd, path, data + head_size, size - head_size);
  }
  close(fd);
  if (st == SCAN_OK) st = scan_image_decode(data, size, path, pixels, height, width, channels);
  free(data);
  return st;
}

typedef struct {
  unsigned char *data;
  size_t size, capacity;
  int failed;
} png_sink;

static void png_write_memory(png_structp png, png_bytep bytes, png_size_t length) {
  png_sink *sink = png_get_io_ptr(png);
  if (sink->size + length > sink->capacity) {
    size_t capacity = sink->capacity ? sink->capacity : 4096;
    while (capacity < sink->size + length) capacity *= 2;
    unsigned char *grown = scan_realloc(sink->data, capacity);
    if (!grown) png_error(png, "out of memory");
    sink->data = grown;
    sink->capacity = capacity;
  }
  memcpy(sink->data + sink->size, bytes, length);
  sink->size += length;
}

static void png_flush_memory(png_structp png) { (void)png; }

scan_status scan_image_encode_png(const uint8_t *pixels, int height, int width, int channels, unsigned char **data,
                                  size_t *size) {
  *data = NULL;
  *size = 0;
  if (channels != 1 && channels != 3 && channels != 4)
    return scan_fail(SCAN_ERR_INTERNAL, "PNG encoding: %d channels (1, 3 or 4 supported)", channels);
  SCAN_TRY(check_dimensions("PNG encoding", (unsigned long)height, (unsigned long)width));
  png_source errors = {NULL, 0, 0, ""}; /* only its message buffer is used */
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &errors, png_error_handler, png_warning_handler);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_write_struct(&png, NULL);
    return scan_fail(SCAN_ERR_INTERNAL, "cannot start the PNG encoder");
  }
  png_sink sink = {NULL, 0, 0, 0};
  if (setjmp(png_jmpbuf(png))) {
    free(sink.data);
    png_destroy_write_struct(&png, &info);
    return scan_fail(SCAN_ERR_INTERNAL, "PNG encoding failed: %s", errors.message);
  }
  png_set_write_fn(png, &sink, png_write_memory, png_flush_memory);
  int colour = channels == 1 ? PNG_COLOR_TYPE_GRAY : channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA;
  png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, colour, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * (size_t)width * (size_t)channels);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  *data = sink.data;
  *size = sink.size;
  return SCAN_OK;
}

scan_status scan_image_write_png(const char *path, const uint8_t *pixels, int height, int width, int channels) {
  unsigned char *data;
  size_t size;
  scan_status st = scan_image_encode_png(pixels, height, width, channels, &data, &size);
  if (st != SCAN_OK) return scan_fail_context(st, "%s", path);
  st = scan_write_file_atomic(path, data, size);
  free(data);
  return st;
}

void scan_image_convert_channels(const uint8_t *src, int src_channels, uint8_t *dst, int dst_channels, long pixel_count) {
  if (src_channels == dst_channels) {
    memcpy(dst, src, (size_t)pixel_count * (size_t)src_channels);
  } else if (src_channels == 1) {
    for (long i = 0; i < pixel_count; i++) dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = src[i];
  } else {
    /* PIL's convert("L"): L = (19595 R + 38470 G + 7471 B + 2^15) >> 16. */
    for (long i = 0; i < pixel_count; i++)
      dst[i] = (uint8_t)((19595u * src[3 * i] + 38470u * src[3 * i + 1] + 7471u * src[3 * i + 2] + 0x8000u) >> 16);
  }
}

scan_status scan_image_reshape(const uint8_t *pixels, int h, int w, int channels, int out_h, int out_w, int out_channels,
                               uint8_t *out) {
  const uint8_t *source = pixels;
  uint8_t *converted = NULL;
  if (channels != out_channels) {
    converted = scan_malloc((size_t)h * w * out_channels);
    if (!converted) return SCAN_ERR_INTERNAL;
    scan_image_convert_channels(pixels, channels, converted, out_channels, (long)h * w);
    source = converted;
  }
  scan_resample_bilinear_u8(source, h, w, out_channels, 0, 0, h, w, out, out_h, out_w, 1);
  free(converted);
  return SCAN_OK;
}
