#include "scan/paths.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>

/* realpath() writes up to PATH_MAX bytes: a SCAN_PATH_MAX buffer must hold them. */
_Static_assert(SCAN_PATH_MAX >= PATH_MAX, "SCAN_PATH_MAX is smaller than PATH_MAX");

scan_status scan_path_join(char *buf, size_t size, const char *dir, const char *name) {
  int n = snprintf(buf, size, "%s/%s", dir, name);
  if (n >= 0 && (size_t)n < size) return SCAN_OK;
  return scan_fail(SCAN_ERR_INPUT, "%s/%s: path too long (%d bytes, at most %zu)", dir, name, n, size - 1);
}

scan_status scan_path_format(char *buf, size_t size, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  int n = vsnprintf(buf, size, fmt, args);
  va_end(args);
  if (n >= 0 && (size_t)n < size) return SCAN_OK;
  /* buf holds the path cut at size - 1 bytes: enough to recognise it. */
  return scan_fail(SCAN_ERR_INPUT, "%s...: path too long (%d bytes, at most %zu)", buf, n, size - 1);
}
