/* Errors are values: library functions return a scan_status and leave a message
 * (naming the file, the record and the problem) in a thread-local buffer.
 * Only the CLI prints it and picks the exit status. */
#ifndef SCAN_ERROR_H
#define SCAN_ERROR_H

typedef enum {
  SCAN_OK = 0,
  SCAN_ERR_INTERNAL = 1, /* a bug or resource failure: exit status 1 */
  SCAN_ERR_INPUT = 2     /* bad input, file, config or usage: exit status 2 */
} scan_status;

/* Sets the message (printf-style) and returns `code`, so callers can write
 *   return scan_fail(SCAN_ERR_INPUT, "%s: truncated at record %d", path, i); */
scan_status scan_fail(scan_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends context to the current message: "context: previous message". */
scan_status scan_fail_context(scan_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

const char *scan_error_message(void);
void scan_error_clear(void);

/* Propagate a non-OK status. */
#define SCAN_TRY(expr)                    \
  do {                                    \
    scan_status scan_try_status_ = (expr); \
    if (scan_try_status_ != SCAN_OK)      \
      return scan_try_status_;            \
  } while (0)

/* Allocation that records "out of memory allocating N bytes" when it returns NULL, so a caller may answer
 * NULL with a bare `return SCAN_ERR_INTERNAL`. A size of 0 allocates 1 byte (never NULL for success).
 * scan_realloc keeps `old` on failure, as realloc does. */
void *scan_malloc(unsigned long bytes);
void *scan_calloc(unsigned long count, unsigned long size);
void *scan_realloc(void *old, unsigned long bytes);

#endif
