/* Progress for long work: a bar with rate and ETA on a terminal, a plain line
 * every few seconds otherwise (CI logs). Output goes to stderr. */
#ifndef SCAN_PROGRESS_H
#define SCAN_PROGRESS_H

typedef struct {
  char label[64];
  char unit[16];
  long total;
  long done;
  double start_time;
  double last_print;
  int is_tty;
  char extra[128]; /* appended text, e.g. "loss 4.21" */
} scan_progress;

void scan_progress_start(scan_progress *p, const char *label, long total, const char *unit);
void scan_progress_update(scan_progress *p, long done);
/* Sets the text shown after the rate, e.g. a running loss. */
void scan_progress_note(scan_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void scan_progress_finish(scan_progress *p);

double scan_now_seconds(void); /* monotonic clock */

/* Quiet mode: suppresses progress output (set by --quiet). */
void scan_progress_set_quiet(int quiet);

#endif
