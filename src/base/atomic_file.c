#include "scan/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "scan/dist.h"
#include "scan/stop_point.h"

scan_status scan_atomic_open(scan_atomic_file *af, const char *path) {
  memset(af, 0, sizeof *af);
  if (strlen(path) >= sizeof af->path) return scan_fail(SCAN_ERR_INPUT, "%s: path too long", path);
  strcpy(af->path, path);
  if (!scan_dist_is_root()) { /* data-parallel runs: rank 0 writes every file, the others' copies go nowhere */
    af->discard = 1;
    af->file = fopen("/dev/null", "wb");
    if (!af->file) return scan_fail(SCAN_ERR_INPUT, "/dev/null: cannot open: %s", strerror(errno));
    return SCAN_OK;
  }
  SCAN_TRY(scan_path_format(af->temp_path, sizeof af->temp_path, "%s.tmp.%ld", path, (long)getpid()));
  af->file = fopen(af->temp_path, "wb");
  if (!af->file) return scan_fail(SCAN_ERR_INPUT, "%s: cannot create: %s", af->temp_path, strerror(errno));
  return SCAN_OK;
}

scan_status scan_atomic_commit(scan_atomic_file *af) {
  if (!af->file) return scan_fail(SCAN_ERR_INTERNAL, "%s: not open", af->path);
  if (af->discard) {
    fclose(af->file);
    af->file = NULL;
    return SCAN_OK;
  }
  /* fflush first: after an earlier failed write it fails again and leaves that reason (ENOSPC...) in errno. */
  errno = 0;
  int failed = fflush(af->file) != 0 || ferror(af->file) || fsync(fileno(af->file)) != 0;
  int saved_errno = errno;
  if (fclose(af->file) != 0) failed = 1;
  af->file = NULL;
  if (failed) {
    unlink(af->temp_path);
    return scan_fail(SCAN_ERR_INPUT, "%s: write failed: %s", af->path,
                     saved_errno ? strerror(saved_errno) : "an earlier write to it failed");
  }
  const char *base = strrchr(af->path, '/');
  scan_stop_point("before-rename", base ? base + 1 : af->path);
  if (rename(af->temp_path, af->path) != 0) {
    saved_errno = errno;
    unlink(af->temp_path);
    return scan_fail(SCAN_ERR_INPUT, "%s: cannot rename into place: %s", af->path, strerror(saved_errno));
  }
  return SCAN_OK;
}

scan_status scan_atomic_fail(scan_atomic_file *af) {
  int saved_errno = errno; /* before fclose and unlink, which may change it */
  scan_atomic_abort(af);
  return scan_fail(SCAN_ERR_INPUT, "%s: write failed: %s", af->path, strerror(saved_errno));
}

void scan_atomic_abort(scan_atomic_file *af) {
  if (af->file) fclose(af->file);
  af->file = NULL;
  if (af->temp_path[0]) unlink(af->temp_path);
}

scan_status scan_write_file_atomic(const char *path, const void *data, size_t size) {
  scan_atomic_file af;
  SCAN_TRY(scan_atomic_open(&af, path));
  if (size && fwrite(data, 1, size, af.file) != size) return scan_atomic_fail(&af);
  return scan_atomic_commit(&af);
}

scan_status scan_write_json_atomic(const char *path, const struct cJSON *json) {
  char *text = cJSON_Print(json);
  if (!text) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory printing JSON", path);
  scan_status status = scan_write_file_atomic(path, text, strlen(text));
  free(text);
  return status;
}

scan_status scan_open_regular(const char *path, int *fd, size_t *size) {
  *fd = -1;
  *size = 0;
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. */
  int handle = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (handle < 0) return scan_fail(SCAN_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
  struct stat info;
  if (fstat(handle, &info) != 0) {
    int saved = errno;
    close(handle);
    return scan_fail(SCAN_ERR_INPUT, "%s: cannot stat: %s", path, strerror(saved));
  }
  /* A FIFO, socket or device (/dev/zero) has no size to bound the read by, so only regular files are read. */
  if (!S_ISREG(info.st_mode)) {
    close(handle);
    const char *kind = S_ISDIR(info.st_mode)    ? "a directory"
                       : S_ISFIFO(info.st_mode) ? "a FIFO (named pipe)"
                       : S_ISCHR(info.st_mode) || S_ISBLK(info.st_mode) ? "a device"
                                                                        : "not a regular file";
    return scan_fail(SCAN_ERR_INPUT, "%s: is %s; give a regular file", path, kind);
  }
  /* Regular files never block; clear the flag so reads behave normally. */
  fcntl(handle, F_SETFL, fcntl(handle, F_GETFL) & ~O_NONBLOCK);
  *fd = handle;
  *size = (size_t)info.st_size;
  return SCAN_OK;
}

scan_status scan_read_exact(int fd, const char *path, unsigned char *buf, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, buf + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return scan_fail(SCAN_ERR_INPUT, "%s: read error: %s", path, strerror(errno));
    if (n == 0) return scan_fail(SCAN_ERR_INPUT, "%s: file shrank while being read", path);
    done += (size_t)n;
  }
  return SCAN_OK;
}

/* Size text for messages: "4.0 GiB", "512 KiB". */
static void human_size(size_t bytes, char *text, size_t text_size) {
  static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = (double)bytes;
  int unit = 0;
  while (value >= 1024 && unit < 4) value /= 1024, unit++;
  if (unit == 0) snprintf(text, text_size, "%zu bytes", bytes);
  else snprintf(text, text_size, "%.1f %s", value, units[unit]);
}

scan_status scan_check_file_size(const char *path, size_t size, size_t max_bytes, const char *what) {
  if (size <= max_bytes) return SCAN_OK;
  char have[32], limit[32];
  human_size(size, have, sizeof have);
  human_size(max_bytes, limit, sizeof limit);
  return scan_fail(SCAN_ERR_INPUT, "%s: %s, too large for %s (at most %s)", path, have, what, limit);
}

scan_status scan_read_file_max(const char *path, size_t max_bytes, const char *what, unsigned char **data, size_t *size) {
  *data = NULL;
  *size = 0;
  int fd;
  size_t file_size;
  SCAN_TRY(scan_open_regular(path, &fd, &file_size));
  scan_status st = scan_check_file_size(path, file_size, max_bytes, what);
  /* The size fstat gave bounds the allocation; a file that grows meanwhile is read up to that size. */
  unsigned char *buf = st == SCAN_OK ? scan_malloc(file_size + 1) : NULL;
  if (st == SCAN_OK && !buf) st = scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory reading %zu bytes", path, file_size);
  if (st == SCAN_OK) st = scan_read_exact(fd, path, buf, file_size);
  close(fd);
  if (st != SCAN_OK) {
    free(buf);
    return st;
  }
  buf[file_size] = 0;
  *data = buf;
  *size = file_size;
  return SCAN_OK;
}

scan_status scan_read_file(const char *path, unsigned char **data, size_t *size) {
  return scan_read_file_max(path, SIZE_MAX - 1, "a file", data, size);
}

scan_status scan_make_dirs(const char *path) {
  char buf[SCAN_PATH_MAX];
  if (strlen(path) >= sizeof buf) return scan_fail(SCAN_ERR_INPUT, "%s: path too long", path);
  strcpy(buf, path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      return scan_fail(SCAN_ERR_INPUT, "%s: cannot create directory: %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST)
    return scan_fail(SCAN_ERR_INPUT, "%s: cannot create directory: %s", buf, strerror(errno));
  return SCAN_OK;
}

int scan_file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* A temporary "<name>.tmp.<pid>" whose writer no longer runs was left by a kill in the middle of a write. */
static int stale_temporary(const char *name) {
  const char *tmp = strstr(name, ".tmp.");
  if (!tmp) return 0;
  char *end = NULL;
  long pid = strtol(tmp + 5, &end, 10);
  if (pid <= 0 || *end != '\0') return 0;
  return kill((pid_t)pid, 0) != 0 && errno == ESRCH; /* a live writer (or one not ours to judge) is left alone */
}

int scan_remove_stale_temporaries(const char *dir, int depth, const char *label) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int removed = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char path[SCAN_PATH_MAX];
    struct stat st;
    /* Best effort: what cannot be named (too long) or looked at is left where it is. */
    if (scan_path_join(path, sizeof path, dir, e->d_name) != SCAN_OK || lstat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (depth > 0) removed += scan_remove_stale_temporaries(path, depth - 1, label);
    } else if (stale_temporary(e->d_name) && remove(path) == 0) {
      fprintf(stderr, "%s: removed %s, left by an interrupted write\n", label, path);
      removed++;
    }
  }
  closedir(d);
  return removed;
}
