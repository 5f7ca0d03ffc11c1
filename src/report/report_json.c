#include "report_json.h"

#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"

/* The JSON files of a run are small (metrics, logs of a few hundred epochs); anything beyond this is not one. */
#define REPORT_JSON_MAX_BYTES (256UL * 1024 * 1024)

/* The line number (1-based) of byte `offset` in text, for messages. */
static long line_of(const char *text, size_t offset) {
  long line = 1;
  for (size_t i = 0; i < offset && text[i]; i++) line += text[i] == '\n';
  return line;
}

/* A file of the run, whole; *data stays NULL when there is none (its stage has not run). */
static scan_status read_if_present(const char *path, const char *what, unsigned char **data, size_t *size) {
  *data = NULL;
  *size = 0;
  if (!scan_file_exists(path)) return SCAN_OK;
  return scan_read_file_max(path, REPORT_JSON_MAX_BYTES, what, data, size);
}

scan_status report_read_json(const char *path, cJSON **out) {
  *out = NULL;
  unsigned char *data;
  size_t size;
  SCAN_TRY(read_if_present(path, "a JSON file of the run", &data, &size));
  if (!data) return SCAN_OK;
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts((const char *)data, size, &end, 0);
  scan_status status = SCAN_OK;
  if (!root) {
    size_t offset = end ? (size_t)(end - (const char *)data) : 0;
    status = scan_fail(SCAN_ERR_INPUT, "%s:%ld: not valid JSON; rerun the stage that wrote it", path,
                       line_of((const char *)data, offset));
  }
  free(data);
  *out = root;
  return status;
}

scan_status report_read_jsonl(const char *path, cJSON **out) {
  *out = NULL;
  unsigned char *data;
  size_t size;
  SCAN_TRY(read_if_present(path, "a log of the run", &data, &size));
  if (!data) return SCAN_OK;
  cJSON *array = cJSON_CreateArray();
  scan_status status = array ? SCAN_OK : scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  long number = 0;
  char *save = NULL;
  for (char *line = strtok_r((char *)data, "\n", &save); line && status == SCAN_OK; line = strtok_r(NULL, "\n", &save)) {
    number++; /* strtok_r skips empty lines, which only a hand edit leaves: counted lines are the non-empty ones */
    cJSON *item = cJSON_Parse(line);
    if (!cJSON_IsObject(item)) {
      cJSON_Delete(item);
      status = scan_fail(SCAN_ERR_INPUT, "%s: record %ld is not a JSON object; rerun the stage that wrote it", path, number);
    } else {
      cJSON_AddItemToArray(array, item);
    }
  }
  free(data);
  if (status != SCAN_OK) {
    cJSON_Delete(array);
    array = NULL;
  }
  *out = array;
  return status;
}

double report_number(const cJSON *object, const char *key, double fallback) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
  return cJSON_IsNumber(item) ? item->valuedouble : fallback;
}
