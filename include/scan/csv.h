/* CSV fields with RFC 4180 quoting: a field holding a comma, quote or line break is quoted, a quote doubled. */
#ifndef SCAN_CSV_H
#define SCAN_CSV_H

#include <stdio.h>

/* Splits one CSV line in place (quotes removed, "" read as one quote); returns the number of fields. */
int scan_csv_split(char *line, char **fields, int max_fields);
/* Writes one field, quoted only when it needs to be. */
void scan_csv_put_field(FILE *f, const char *text);

#endif
