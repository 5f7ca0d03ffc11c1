/* CSV as the tables scan reads and writes use it (RFC 4180 quoting). */
#include "scan/csv.h"

#include <string.h>

/* Splits one CSV line in place into fields (RFC 4180 quotes: "a,b" and "" for a quote). Returns the count. */
int scan_csv_split(char *line, char **fields, int max_fields) {
  int count = 0;
  char *read = line, *write = line;
  while (count < max_fields) {
    fields[count++] = write;
    if (*read == '"') {
      read++;
      while (*read && !(*read == '"' && read[1] != '"')) {
        if (*read == '"') read++; /* "" is one quote */
        *write++ = *read++;
      }
      if (*read == '"') read++;
    } else {
      while (*read && *read != ',' && *read != '\n' && *read != '\r') *write++ = *read++;
    }
    int more = *read == ',';
    *write++ = '\0';
    if (!more) break;
    read++;
  }
  return count;
}

void scan_csv_put_field(FILE *f, const char *text) {
  if (!strpbrk(text, ",\"\r\n")) {
    fputs(text, f);
    return;
  }
  fputc('"', f);
  for (const char *c = text; *c; c++) {
    if (*c == '"') fputc('"', f); /* CSV doubles a quote */
    fputc(*c, f);
  }
  fputc('"', f);
}
