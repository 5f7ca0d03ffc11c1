/* Reads a whole file that may be gzip'd: zlib's gzread passes plain files
 * through unchanged, so MNIST-style files work compressed or not. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data_internal.h"
#include "scan/atomic_file.h"

scan_status data_read_whole(const char *path, size_t max_bytes, unsigned char **data, size_t *size) {
  *data = NULL;
  *size = 0;
  /* Only a regular file: gzopen would wait forever on a FIFO, and a device has no end. */
  int fd;
  size_t file_size;
  SCAN_TRY(scan_open_regular(path, &fd, &file_size));
  close(fd);
  gzFile file = gzopen(path, "rb");
  if (!file) return scan_fail(SCAN_ERR_INPUT, "%s: cannot open", path);
  size_t capacity = 1 << 20, used = 0;
  unsigned char *buffer = scan_malloc(capacity);
  if (!buffer) {
    gzclose(file);
    return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path);
  }
  for (;;) {
    if (used == capacity) {
      if (capacity >= max_bytes) {
        free(buffer);
        gzclose(file);
        return scan_fail(SCAN_ERR_INPUT, "%s: larger than %zu bytes (when decompressed)", path, max_bytes);
      }
      size_t bigger = capacity * 2 > max_bytes ? max_bytes : capacity * 2;
      unsigned char *grown = scan_realloc(buffer, bigger);
      if (!grown) {
        free(buffer);
        gzclose(file);
        return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path);
      }
      buffer = grown;
      capacity = bigger;
    }
    size_t want = capacity - used;
    if (want > 1u << 30) want = 1u << 30; /* gzread takes an unsigned int */
    int n = gzread(file, buffer + used, (unsigned)want);
    if (n < 0) {
      int code;
      const char *message = gzerror(file, &code);
      scan_status st = scan_fail(SCAN_ERR_INPUT, "%s: %s", path, message && *message ? message : "read error");
      free(buffer);
      gzclose(file);
      return st;
    }
    if (n == 0) break;
    used += (size_t)n;
  }
  /* gzread returns 0 both at a clean end and at a cut-off gzip stream; only gzerror tells them apart. */
  int code = Z_OK;
  const char *message = gzerror(file, &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    scan_status st = scan_fail(SCAN_ERR_INPUT, "%s: %s (truncated or corrupt gzip file)", path, message);
    free(buffer);
    gzclose(file);
    return st;
  }
  gzclose(file);
  *data = buffer;
  *size = used;
  return SCAN_OK;
}
