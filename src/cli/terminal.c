#include "terminal.h"

#include <stdio.h>

const char *terminal_safe(const char *text, char *buf, size_t size) {
  size_t used = 0;
  if (size == 0) return buf;
  for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
    char piece[8];
    if (*c == '\n') snprintf(piece, sizeof piece, "\\n");
    else if (*c == '\t') snprintf(piece, sizeof piece, "\\t");
    else if (*c < 0x20 || *c == 0x7f) snprintf(piece, sizeof piece, "\\x%02x", *c);
    else piece[0] = (char)*c, piece[1] = '\0';
    size_t n = 0;
    while (piece[n]) n++;
    if (used + n >= size) break; /* never half an escape */
    for (size_t i = 0; i < n; i++) buf[used++] = piece[i];
  }
  buf[used] = '\0';
  return buf;
}
