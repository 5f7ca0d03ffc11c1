#include "scan/dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "scan/paths.h"

scan_status scan_dir_lock(const char *dir, int *fd) {
  *fd = -1;
  char path[SCAN_PATH_MAX];
  SCAN_TRY(scan_path_join(path, sizeof path, dir, ".lock"));
  int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (f < 0) return scan_fail(SCAN_ERR_INPUT, "%s: cannot open the lock file: %s", path, strerror(errno));
  if (flock(f, LOCK_EX | LOCK_NB) != 0) {
    int saved = errno;
    char text[32] = {0};
    ssize_t n = pread(f, text, sizeof text - 1, 0);
    close(f);
    if (saved != EWOULDBLOCK)
      return scan_fail(SCAN_ERR_INPUT, "%s: cannot lock: %s", path, strerror(saved));
    long pid = n > 0 ? strtol(text, NULL, 10) : 0;
    if (pid > 0)
      return scan_fail(SCAN_ERR_INPUT, "%s: in use by scan process %ld (lock %s); wait for it to finish or stop it", dir,
                       pid, path);
    return scan_fail(SCAN_ERR_INPUT, "%s: in use by another scan process (lock %s); wait for it to finish or stop it",
                     dir, path);
  }
  /* The owner's PID, for the message another process gives; the lock itself is the flock, not this text. */
  char text[32];
  int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
  if (ftruncate(f, 0) != 0 || pwrite(f, text, (size_t)len, 0) != len) {
    int saved = errno;
    close(f);
    return scan_fail(SCAN_ERR_INPUT, "%s: cannot write the lock file: %s", path, strerror(saved));
  }
  *fd = f;
  return SCAN_OK;
}

void scan_dir_unlock(int fd) {
  if (fd >= 0) close(fd); /* closing the descriptor releases the flock */
}
