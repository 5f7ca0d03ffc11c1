/* One size for every path buffer, and the joins that fill one: a path that does not fit is refused with
 * a message naming it, never cut short (a cut path would read or overwrite some other file). */
#ifndef SCAN_PATHS_H
#define SCAN_PATHS_H

#include <stddef.h>

#include "scan/error.h"

/* Linux's PATH_MAX: the longest path (with its NUL) that the kernel accepts. */
#define SCAN_PATH_MAX 4096

/* "<dir>/<name>" into buf[size]; SCAN_ERR_INPUT naming the path when it does not fit. */
scan_status scan_path_join(char *buf, size_t size, const char *dir, const char *name);
/* printf into buf[size] with the same check, for paths of another shape ("%s/cluster_%02d.png"). */
scan_status scan_path_format(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
