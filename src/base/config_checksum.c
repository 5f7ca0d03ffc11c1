/* config.yml ends with "# checksum: <hex>", the hash of every byte before that line. A run directory's
 * configuration that was truncated, emptied or edited is then refused instead of being completed from the
 * built-in defaults (which silently trained another dataset into the run). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config_internal.h"
#include "scan/hash.h"

static const char marker[] = "# checksum: ";

void config_checksum_line(const char *text, size_t size, char *line, size_t line_size) {
  snprintf(line, line_size, "%s%016" PRIx64 "\n", marker, scan_hash_bytes(SCAN_HASH_SEED, text, size));
}

scan_status config_checksum_verify(const char *text, size_t size, const char *path, int required) {
  /* The checksum is the last line; find where it starts. */
  size_t end = size;
  if (end > 0 && text[end - 1] == '\n') end--;
  size_t start = end;
  while (start > 0 && text[start - 1] != '\n') start--;
  int present = end - start > sizeof marker - 1 && memcmp(text + start, marker, sizeof marker - 1) == 0;
  if (!present) {
    if (!required) return SCAN_OK;
    return scan_fail(SCAN_ERR_INPUT,
                     "%s: damaged or not written by scan (no checksum line at its end%s); refusing to complete it from "
                     "defaults. Restore it, or pass the configuration with --config FILE",
                     path, size == 0 ? ": the file is empty" : ", truncated?");
  }
  char expected[64];
  config_checksum_line(text, start, expected, sizeof expected);
  if (end + 1 - start == strlen(expected) && memcmp(text + start, expected, end + 1 - start) == 0) return SCAN_OK;
  return scan_fail(SCAN_ERR_INPUT,
                   "%s: damaged: its checksum does not match its content (truncated or edited after scan wrote it). "
                   "Restore it, or, for a deliberately edited copy, delete its last line (the checksum)",
                   path);
}
