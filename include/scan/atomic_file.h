/* Atomic writes: data goes to "<path>.tmp.<pid>", is flushed, then renamed over
 * <path>, so a crash never leaves a half-written file under the real name. */
#ifndef SCAN_ATOMIC_FILE_H
#define SCAN_ATOMIC_FILE_H

#include <stdio.h>

#include "scan/error.h"

typedef struct {
  FILE *file;
  char path[4096];
  char temp_path[4096 + 32];
} scan_atomic_file;

scan_status scan_atomic_open(scan_atomic_file *af, const char *path);
/* Flushes, fsyncs and renames; on any earlier write error removes the temp file. */
scan_status scan_atomic_commit(scan_atomic_file *af);
void scan_atomic_abort(scan_atomic_file *af);

/* Whole-buffer convenience. */
scan_status scan_write_file_atomic(const char *path, const void *data, size_t size);
/* A cJSON tree printed (indented) and written atomically; the caller still owns and frees json. */
struct cJSON;
scan_status scan_write_json_atomic(const char *path, const struct cJSON *json);
/* Reads a whole file into a malloc'd buffer (NUL-terminated for text use). */
scan_status scan_read_file(const char *path, unsigned char **data, size_t *size);
/* mkdir -p */
scan_status scan_make_dirs(const char *path);
int scan_file_exists(const char *path);
/* Removes the temporaries "<name>.tmp.<pid>" that a killed writer left in dir (and its subdirectories down to
   `depth` levels), saying so on stderr after "<label>: ". Those of a process that still runs are kept. Returns how
   many it removed. */
int scan_remove_stale_temporaries(const char *dir, int depth, const char *label);

#endif
