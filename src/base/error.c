#include "scan/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char error_message[2048];

scan_status scan_fail(scan_status code, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(error_message, sizeof error_message, fmt, args);
  va_end(args);
  return code;
}

scan_status scan_fail_context(scan_status code, const char *fmt, ...) {
  char previous[sizeof error_message];
  memcpy(previous, error_message, sizeof previous);
  va_list args;
  va_start(args, fmt);
  int n = vsnprintf(error_message, sizeof error_message, fmt, args);
  va_end(args);
  /* Append ": previous" by hand: the message is allowed to be cut at the buffer's end. */
  size_t used = n < 0 ? 0 : (size_t)n < sizeof error_message ? (size_t)n : sizeof error_message - 1;
  if (previous[0] && used + 3 < sizeof error_message) {
    error_message[used++] = ':';
    error_message[used++] = ' ';
    size_t room = sizeof error_message - 1 - used, len = strlen(previous);
    if (len > room) len = room;
    memcpy(error_message + used, previous, len);
    error_message[used + len] = '\0';
  }
  return code;
}

const char *scan_error_message(void) { return error_message[0] ? error_message : "unknown error"; }

void scan_error_clear(void) { error_message[0] = '\0'; }

void *scan_malloc(unsigned long bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p) scan_fail(SCAN_ERR_INTERNAL, "out of memory allocating %lu bytes", bytes);
  return p;
}

void *scan_calloc(unsigned long count, unsigned long size) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) scan_fail(SCAN_ERR_INTERNAL, "out of memory allocating %lu x %lu bytes", count, size);
  return p;
}

void *scan_realloc(void *old, unsigned long bytes) {
  void *p = realloc(old, bytes ? bytes : 1);
  if (!p) scan_fail(SCAN_ERR_INTERNAL, "out of memory allocating %lu bytes", bytes);
  return p;
}
