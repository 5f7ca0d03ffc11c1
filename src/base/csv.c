#include "scan/csv.h"

#include <string.h>

void scan_csv_put_field(FILE *out, const char *text) {
  if (!strpbrk(text, ",\"\r\n")) {
    fputs(text, out);
    return;
  }
  fputc('"', out);
  for (const char *c = text; *c; c++) {
    if (*c == '"') fputc('"', out); /* a quote inside is doubled */
    fputc(*c, out);
  }
  fputc('"', out);
}

void scan_csv_begin(scan_csv_reader *r, char *text) {
  r->next = text;
  r->line = 0;
  r->next_line = 1;
}

int scan_csv_next(scan_csv_reader *r, char **fields, int max_fields) {
  char *read = r->next;
  if (!*read) return 0;
  r->line = r->next_line;
  /* Fields are copied leftwards over their own quotes, so `write` never passes `read`. */
  char *write = read;
  int count = 0;
  char separator;
  for (;;) {
    char *field = write;
    if (*read == '"') {
      read++;
      for (;;) {
        if (!*read) return -1; /* unclosed quote */
        if (*read == '"' && read[1] != '"') break;
        if (*read == '"') read++; /* "" is one quote */
        if (*read == '\n') r->next_line++;
        *write++ = *read++;
      }
      read++; /* the closing quote */
      /* Anything between the closing quote and the separator is kept, as lenient readers do. */
      while (*read && *read != ',' && *read != '\n' && *read != '\r') *write++ = *read++;
    } else {
      while (*read && *read != ',' && *read != '\n' && *read != '\r') *write++ = *read++;
    }
    separator = *read;
    *write++ = '\0';
    if (count < max_fields) fields[count] = field;
    count++;
    if (separator != ',') break;
    read++;
  }
  /* The record ends at a line break (\n, \r\n or a lone \r) or at the end of the text. The separator's
     own byte may hold the field's terminating NUL by now, hence the saved copy. */
  if (separator == '\r' || separator == '\n') {
    read++;
    if (separator == '\r' && *read == '\n') read++;
    r->next_line++;
  }
  r->next = read;
  return count;
}
