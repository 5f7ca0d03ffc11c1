#include "viz_png.h"

#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"

typedef struct {
  unsigned char *data;
  size_t size, capacity;
} png_buffer;

static cairo_status_t append_bytes(void *closure, const unsigned char *bytes, unsigned int length) {
  png_buffer *b = closure;
  if (b->size + length > b->capacity) {
    size_t capacity = b->capacity ? b->capacity : 65536;
    while (capacity < b->size + length) capacity *= 2;
    unsigned char *grown = scan_realloc(b->data, capacity);
    if (!grown) return CAIRO_STATUS_NO_MEMORY;
    b->data = grown;
    b->capacity = capacity;
  }
  memcpy(b->data + b->size, bytes, length);
  b->size += length;
  return CAIRO_STATUS_SUCCESS;
}

scan_status viz_write_png(cairo_surface_t *surface, const char *path, const char *what) {
  png_buffer png = {0};
  cairo_surface_flush(surface);
  cairo_status_t cs = cairo_surface_status(surface);
  if (cs == CAIRO_STATUS_SUCCESS) cs = cairo_surface_write_to_png_stream(surface, append_bytes, &png);
  scan_status st = cs == CAIRO_STATUS_SUCCESS
                       ? scan_write_file_atomic(path, png.data, png.size)
                       : scan_fail(SCAN_ERR_INTERNAL, "%s: drawing the %s failed: %s", path, what, cairo_status_to_string(cs));
  free(png.data);
  return st;
}
