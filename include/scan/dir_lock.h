/* An exclusive lock on a directory: flock on "<dir>/.lock", which holds the owner's PID. Two commands on one
 * run directory would otherwise both write its checkpoints and mix their results. The kernel drops the lock
 * when its process ends, so a killed run never leaves the directory locked. */
#ifndef SCAN_DIR_LOCK_H
#define SCAN_DIR_LOCK_H

#include "scan/error.h"

/* Takes the lock without waiting; *fd receives the lock file's descriptor (keep it open while working). When
   another process holds it: SCAN_ERR_INPUT, "<dir>: in use by scan process <pid> (lock <dir>/.lock) ...". */
scan_status scan_dir_lock(const char *dir, int *fd);
/* Releases the lock (fd < 0 does nothing). */
void scan_dir_unlock(int fd);

#endif
