/* CSV as RFC 4180 has it, for the tables the program writes and reads back (predictions.csv, labels.csv,
 * features CSV): a field holding a comma, a quote or a line break is quoted, with quotes doubled, so a file
 * name with a newline stays one field of one record. */
#ifndef SCAN_CSV_H
#define SCAN_CSV_H

#include <stdio.h>

/* The largest CSV file read whole (a labels.csv of ten million images is about 600 MiB). */
#define SCAN_CSV_MAX_BYTES (1024UL * 1024 * 1024)

/* Writes one field, quoted only when it needs to be. */
void scan_csv_put_field(FILE *out, const char *text);

/* A reader over a NUL-terminated buffer (e.g. from scan_read_file_max), which it splits in place. */
typedef struct {
  char *next;      /* start of the next record */
  long line;       /* line on which the record last returned starts (1-based), for messages */
  long next_line;  /* line on which `next` starts */
} scan_csv_reader;

void scan_csv_begin(scan_csv_reader *r, char *text);
/* The next record's fields, unquoted and NUL-terminated in place (at most max_fields are stored).
 * Returns the record's field count (which may exceed max_fields), 0 at the end of the text, or -1 when a
 * quoted field is not closed before the end. Empty lines are records of one empty field. */
int scan_csv_next(scan_csv_reader *r, char **fields, int max_fields);

#endif
