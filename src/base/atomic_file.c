#include "scan/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "scan/stop_point.h"

scan_status scan_atomic_open(scan_atomic_file *af, const char *path) {
  memset(af, 0, sizeof *af);
  if (strlen(path) >= sizeof af->path) return scan_fail(SCAN_ERR_INPUT, "%s: path too long", path);
  strcpy(af->path, path);
  snprintf(af->temp_path, sizeof af->temp_path, "%s.tmp.%ld", path, (long)getpid());
  af->file = fopen(af->temp_path, "wb");
  if (!af->file) return scan_fail(SCAN_ERR_INPUT, "%s: cannot create: %s", af->temp_path, strerror(errno));
  return SCAN_OK;
}

scan_status scan_atomic_commit(scan_atomic_file *af) {
  if (!af->file) return scan_fail(SCAN_ERR_INTERNAL, "%s: not open", af->path);
  int failed = ferror(af->file) || fflush(af->file) != 0 || fsync(fileno(af->file)) != 0;
  int saved_errno = errno;
  if (fclose(af->file) != 0) failed = 1;
  af->file = NULL;
  if (failed) {
    unlink(af->temp_path);
    return scan_fail(SCAN_ERR_INPUT, "%s: write failed: %s", af->path, strerror(saved_errno));
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

void scan_atomic_abort(scan_atomic_file *af) {
  if (af->file) fclose(af->file);
  af->file = NULL;
  if (af->temp_path[0]) unlink(af->temp_path);
}

scan_status scan_write_file_atomic(const char *path, const void *data, size_t size) {
  scan_atomic_file af;
  SCAN_TRY(scan_atomic_open(&af, path));
  if (size && fwrite(data, 1, size, af.file) != size) {
    scan_atomic_abort(&af);
    return scan_fail(SCAN_ERR_INPUT, "%s: write failed", path);
  }
  return scan_atomic_commit(&af);
}

scan_status scan_write_json_atomic(const char *path, const struct cJSON *json) {
  char *text = cJSON_Print(json);
  if (!text) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory printing JSON", path);
  scan_status status = scan_write_file_atomic(path, text, strlen(text));
  free(text);
  return status;
}

scan_status scan_read_file(const char *path, unsigned char **data, size_t *size) {
  *data = NULL;
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return scan_fail(SCAN_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 16, used = 0;
  unsigned char *buf = malloc(cap + 1);
  if (!buf) { fclose(f); return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path); }
  size_t n;
  while ((n = fread(buf + used, 1, cap - used, f)) > 0) {
    used += n;
    if (used == cap) {
      unsigned char *bigger = realloc(buf, cap * 2 + 1);
      if (!bigger) { free(buf); fclose(f); return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path); }
      buf = bigger;
      cap *= 2;
    }
  }
  int err = ferror(f);
  fclose(f);
  if (err) { free(buf); return scan_fail(SCAN_ERR_INPUT, "%s: read error", path); }
  buf[used] = 0;
  *data = buf;
  *size = used;
  return SCAN_OK;
}

scan_status scan_make_dirs(const char *path) {
  char buf[4096];
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
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) != 0) continue;
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
