#include "scan/progress.h"

#include "scan/dist.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int progress_quiet;

void scan_progress_set_quiet(int quiet) { progress_quiet = quiet; }

double scan_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void format_duration(char *out, size_t size, double seconds) {
  if (seconds < 0 || seconds > 1e7) { snprintf(out, size, "?"); return; }
  long s = (long)(seconds + 0.5);
  if (s >= 3600) snprintf(out, size, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else snprintf(out, size, "%ldm%02lds", s / 60, s % 60);
}

void scan_progress_start(scan_progress *p, const char *label, long total, const char *unit) {
  memset(p, 0, sizeof *p);
  snprintf(p->label, sizeof p->label, "%s", label);
  snprintf(p->unit, sizeof p->unit, "%s", unit);
  p->total = total;
  p->start_time = scan_now_seconds();
  p->last_print = p->start_time;
  p->is_tty = isatty(STDERR_FILENO);
}

void scan_progress_note(scan_progress *p, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(p->extra, sizeof p->extra, fmt, args);
  va_end(args);
}

static void print_line(scan_progress *p, double now, int final) {
  double elapsed = now - p->start_time;
  double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
  double eta = rate > 0 ? (double)(p->total - p->done) / rate : -1;
  char eta_text[32], elapsed_text[32];
  format_duration(eta_text, sizeof eta_text, eta);
  format_duration(elapsed_text, sizeof elapsed_text, elapsed);
  double fraction = p->total > 0 ? (double)p->done / (double)p->total : 0;
  if (p->is_tty) {
    char bar[31];
    int filled = (int)(fraction * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < filled ? '#' : '.';
    bar[30] = 0;
    fprintf(stderr, "\r%s [%s] %ld/%ld %.1f %s/s ETA %s %s\033[K", p->label, bar, p->done, p->total, rate, p->unit,
            final ? elapsed_text : eta_text, p->extra);
    if (final) fputc('\n', stderr);
  } else {
    fprintf(stderr, "%s: %ld/%ld (%.0f%%) %.1f %s/s %s %s %s\n", p->label, p->done, p->total, 100 * fraction, rate,
            p->unit, final ? "took" : "ETA", final ? elapsed_text : eta_text, p->extra);
  }
  fflush(stderr);
}

void scan_progress_update(scan_progress *p, long done) {
  p->done = done;
  if (progress_quiet || !scan_dist_is_root()) return; /* one progress line per run, rank 0's */
  double now = scan_now_seconds();
  double interval = p->is_tty ? 0.2 : 10.0;
  if (now - p->last_print >= interval) {
    p->last_print = now;
    print_line(p, now, 0);
  }
}

void scan_progress_finish(scan_progress *p) {
  if (progress_quiet || !scan_dist_is_root()) return;
  print_line(p, scan_now_seconds(), 1);
}
