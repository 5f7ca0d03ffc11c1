/* One CSV record as scan_csv_put_field writes it: the fields joined by commas, then a newline. Shared by the
 * CSV test and the CSV fuzz target, which both read such a record back. */
#ifndef SCAN_TEST_CSV_RECORD_H
#define SCAN_TEST_CSV_RECORD_H

#include <stdio.h>

#include "scan/csv.h"

/* malloc'd (the caller frees); NULL when no memory stream could be opened. */
static inline char *csv_record_text(const char *const *fields, int count) {
  char *text = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&text, &size);
  if (!out) return NULL;
  for (int f = 0; f < count; f++) {
    if (f) fputc(',', out);
    scan_csv_put_field(out, fields[f]);
  }
  fputc('\n', out);
  fclose(out);
  return text;
}

#endif
