/* CSV reader (RFC 4180, in place): any bytes end in a finite number of records, and every record the reader
 * returns reads back the same after scan_csv_put_field writes it, whatever its quotes, commas and line breaks. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../csv_record.h"
#include "scan/csv.h"

enum { MAX_FIELDS = 16 };

static void check_round_trip(char **fields, int count) {
  char *text = csv_record_text((const char *const *)fields, count);
  if (!text) return;
  scan_csv_reader again;
  scan_csv_begin(&again, text);
  char *back[MAX_FIELDS];
  /* A lone empty field is written as an empty line, which reads back as one empty field too. */
  if (scan_csv_next(&again, back, MAX_FIELDS) != count) abort();
  for (int f = 0; f < count; f++)
    if (strcmp(back[f], fields[f]) != 0) abort();
  if (scan_csv_next(&again, back, MAX_FIELDS) != 0) abort();
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  scan_csv_reader csv;
  scan_csv_begin(&csv, text);
  char *fields[MAX_FIELDS];
  long records = 0;
  int n;
  while ((n = scan_csv_next(&csv, fields, MAX_FIELDS)) > 0) {
    if (++records > (long)size + 1) abort(); /* every record consumes at least one byte */
    if (n <= MAX_FIELDS) check_round_trip(fields, n);
  }
  free(text);
  return 0;
}
