#include "report_json.h"

#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"

cJSON *report_read_json(const char *path) {
  unsigned char *data = NULL;
  size_t size = 0;
  if (!scan_file_exists(path) || scan_read_file(path, &data, &size) != SCAN_OK) return NULL;
  cJSON *root = cJSON_ParseWithLength((const char *)data, size);
  free(data);
  return root;
}

cJSON *report_read_jsonl(const char *path) {
  unsigned char *data = NULL;
  size_t size = 0;
  if (!scan_file_exists(path) || scan_read_file(path, &data, &size) != SCAN_OK) return NULL;
  cJSON *array = cJSON_CreateArray();
  char *save = NULL;
  for (char *line = strtok_r((char *)data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    cJSON *item = cJSON_Parse(line);
    if (item) cJSON_AddItemToArray(array, item);
  }
  free(data);
  return array;
}

double report_number(const cJSON *object, const char *key, double fallback) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
  return cJSON_IsNumber(item) ? item->valuedouble : fallback;
}
