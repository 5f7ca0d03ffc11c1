/* Atomic writes: data goes to "<path>.tmp.<pid>", is flushed, then renamed over
 * <path>, so a crash never leaves a half-written file under the real name. In a data-parallel run only rank 0
 * writes: on the other ranks every atomic write succeeds without touching the file system. */
#ifndef SCAN_ATOMIC_FILE_H
#define SCAN_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "scan/error.h"
#include "scan/paths.h"

typedef struct {
  FILE *file;
  char path[SCAN_PATH_MAX];
  char temp_path[SCAN_PATH_MAX];
  int discard; /* a data-parallel rank other than 0 (scan/dist.h): written to /dev/null, nothing renamed */
} scan_atomic_file;

scan_status scan_atomic_open(scan_atomic_file *af, const char *path);
/* Flushes, fsyncs and renames; on any earlier write error removes the temp file. */
scan_status scan_atomic_commit(scan_atomic_file *af);
void scan_atomic_abort(scan_atomic_file *af);
/* After a failed fwrite: aborts and returns "<path>: write failed: <strerror(errno)>" (e.g. "No space left on device"). */
scan_status scan_atomic_fail(scan_atomic_file *af);

/* Whole-buffer convenience. */
scan_status scan_write_file_atomic(const char *path, const void *data, size_t size);
/* A cJSON tree printed (indented) and written atomically; the caller still owns and frees json. */
struct cJSON;
scan_status scan_write_json_atomic(const char *path, const struct cJSON *json);
/* Opens a regular file for reading and gives its size. FIFOs, devices and directories are refused (a FIFO
 * is opened without blocking first, so it is refused instead of waiting for a writer). Caller closes *fd. */
scan_status scan_open_regular(const char *path, int *fd, size_t *size);
/* Reads exactly `size` bytes from fd; a short file is an error naming `path`. */
scan_status scan_read_exact(int fd, const char *path, unsigned char *buf, size_t size);
/* "<path>: 4.0 GiB, too large for <what> (at most 1.0 GiB)" when size > max_bytes. */
scan_status scan_check_file_size(const char *path, size_t size, size_t max_bytes, const char *what);
/* Reads a whole regular file into a malloc'd buffer (NUL-terminated for text use), at most max_bytes;
 * `what` names the kind of file in the message ("a names file"). */
scan_status scan_read_file_max(const char *path, size_t max_bytes, const char *what, unsigned char **data, size_t *size);
/* The same without a size limit beyond the file's own size. */
scan_status scan_read_file(const char *path, unsigned char **data, size_t *size);
/* mkdir -p */
scan_status scan_make_dirs(const char *path);
int scan_file_exists(const char *path);
/* Removes the temporaries "<name>.tmp.<pid>" that a killed writer left in dir (and its subdirectories down to
   `depth` levels), saying so on stderr after "<label>: ". Those of a process that still runs are kept. Returns how
   many it removed. */
int scan_remove_stale_temporaries(const char *dir, int depth, const char *label);

#endif
