/* Running the scan binary from a CLI test: scan("pretext --out %s", run) runs
 * `scan pretext --out RUN<cli_extra_args> --quiet` (no --quiet for `scan config`), its output in `output`,
 * and CHECK_RUNS / CHECK_REJECTS check the exit status (and the message). SCAN_TEST_VERBOSE=1 prints every
 * command with its status and output. */
#ifndef SCAN_TEST_CLI_SCAN_H
#define SCAN_TEST_CLI_SCAN_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

static char output[1 << 16];
/* Appended to every command's arguments, e.g. " --config tiny.yml". */
static char cli_extra_args[1024];

static int scan(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static int scan(const char *fmt, ...) {
  char args[4096], command[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(command, sizeof command, "%s %s%s%s", test_scan_bin(), args, cli_extra_args,
           strncmp(args, "config ", 7) ? " --quiet" : "");
  int rc = test_run(command, output, sizeof output);
  if (getenv("SCAN_TEST_VERBOSE")) fprintf(stderr, "$ scan %s\n-> %d\n%s\n", args, rc, output);
  return rc;
}

/* CHECK that a command succeeded, showing its output when it did not. */
#define CHECK_RUNS(...)                                                      \
  do {                                                                       \
    int rc_ = scan(__VA_ARGS__);                                             \
    CHECK_MSG(rc_ == 0, "exit status %d:\n%s", rc_, output);                 \
  } while (0)

/* CHECK that a command failed with exit status 2 and a message holding `needle`. */
#define CHECK_REJECTS(needle, ...)                                                                                 \
  do {                                                                                                             \
    int rc_ = scan(__VA_ARGS__);                                                                                   \
    CHECK_MSG(rc_ == 2 && strstr(output, needle) != NULL, "exit status %d (want 2, message with '%s'):\n%s", rc_, \
              needle, output);                                                                                     \
  } while (0)

#endif
