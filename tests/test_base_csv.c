/* CSV as the program writes it and reads it back (RFC 4180): quoted fields with commas, doubled quotes and
 * line breaks stay one field of one record; CRLF and a missing final newline end records; an unclosed
 * quote is an error; line numbers count the lines a record's quoted field spans. */
#include <stdlib.h>
#include <string.h>

#include "csv_record.h"
#include "scan/csv.h"
#include "testlib.h"

static void test_reader(void) {
  char text[] = "index,file,cluster\r\n"
                "0,\"a\nb.png\",2\n"
                "1,\"say \"\"hi\"\", ok\",0\n"
                "\n"
                "2,,1";
  scan_csv_reader csv;
  scan_csv_begin(&csv, text);
  char *f[4];
  CHECK(scan_csv_next(&csv, f, 4) == 3 && csv.line == 1 && strcmp(f[0], "index") == 0 && strcmp(f[2], "cluster") == 0);
  CHECK(scan_csv_next(&csv, f, 4) == 3 && csv.line == 2 && strcmp(f[1], "a\nb.png") == 0 && strcmp(f[2], "2") == 0);
  CHECK(scan_csv_next(&csv, f, 4) == 3 && csv.line == 4 && strcmp(f[1], "say \"hi\", ok") == 0 && strcmp(f[2], "0") == 0);
  CHECK(scan_csv_next(&csv, f, 4) == 1 && csv.line == 5 && f[0][0] == '\0'); /* an empty line */
  CHECK(scan_csv_next(&csv, f, 4) == 3 && csv.line == 6 && strcmp(f[0], "2") == 0 && f[1][0] == '\0' &&
        strcmp(f[2], "1") == 0);
  CHECK(scan_csv_next(&csv, f, 4) == 0);

  /* More fields than room: counted, the first ones stored. */
  char wide[] = "a,b,c,d,e\n";
  scan_csv_begin(&csv, wide);
  CHECK(scan_csv_next(&csv, f, 2) == 5 && strcmp(f[0], "a") == 0 && strcmp(f[1], "b") == 0);

  char unclosed[] = "0,\"never closed\n1,x\n";
  scan_csv_begin(&csv, unclosed);
  CHECK(scan_csv_next(&csv, f, 4) == -1);
}

/* What scan_csv_put_field writes, scan_csv_next reads back unchanged. */
static void test_round_trip(void) {
  const char *fields[] = {"plain", "with,comma", "with \"quote\"", "line\nbreak", "cr\r\nlf", ""};
  const int count = (int)(sizeof fields / sizeof fields[0]);
  char *text = csv_record_text(fields, count);
  CHECK(text != NULL);
  if (!text) return;
  scan_csv_reader csv;
  scan_csv_begin(&csv, text);
  char *back[8];
  CHECK(scan_csv_next(&csv, back, 8) == count);
  for (int i = 0; i < count; i++) CHECK_MSG(strcmp(back[i], fields[i]) == 0, "field %d read back as '%s'", i, back[i]);
  CHECK(scan_csv_next(&csv, back, 8) == 0);
  free(text);
}

int main(void) {
  test_reader();
  test_round_trip();
  return test_main_end();
}
