/* What a stage depends on in the configuration: the common keys and its own section's, resolved. The hash tells
 * `scan run` whether a stage's outputs are stale; the text, stored in a training checkpoint, tells a resumed stage
 * which keys differ from those it started with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

/* Keys only one section has (eval, explain) belong to that section alone. */
static int stage_has_key(int section, int key) {
  const char *only_in = config_schema[key].only_in;
  return !only_in || section == CONFIG_COMMON || strcmp(only_in, config_section_names[section]) == 0;
}

static int stage_section(const char *stage) {
  int section = config_section_index(stage);
  return section < 0 ? CONFIG_COMMON : section;
}

/* The canonical text of key k as stage section `section` sees it; 0 when the stage does not have the key, or when it
   holds the key's neutral value (config_schema_neutral), which hashes and compares as if the key did not exist. */
static int stage_value_text(const scan_config *c, int section, int k, char *text, size_t size) {
  const config_value *v = stage_has_key(section, k) ? config_resolve(c, section, k) : NULL;
  if (!v) return 0;
  config_canonical_value(v, k, text, size);
  const char *neutral = config_schema_neutral(k);
  return !(neutral && strcmp(text, neutral) == 0);
}

uint64_t scan_config_stage_hash(const scan_config *c, const char *stage) {
  int section = stage_section(stage);
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (int k = 0; k < config_schema_count; k++) {
    char text[4096];
    if (!stage_value_text(c, section, k, text, sizeof text)) continue;
    const char *parts[2] = {config_schema[k].key, text};
    for (int p = 0; p < 2; p++) {
      for (const unsigned char *s = (const unsigned char *)parts[p]; *s; s++) h = (h ^ *s) * 1099511628211ULL;
      h = (h ^ 0xff) * 1099511628211ULL; /* separator: "ab"+"c" differs from "a"+"bc" */
    }
  }
  return h;
}

char *scan_config_stage_text(const scan_config *c, const char *stage) {
  int section = stage_section(stage);
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  if (!f) return NULL;
  for (int k = 0; k < config_schema_count; k++) {
    char value[4096];
    if (!stage_value_text(c, section, k, value, sizeof value)) continue;
    fprintf(f, "%s: %s\n", config_schema[k].key, value);
  }
  if (fclose(f) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

/* The value of `key` in a stage text ("key: value" lines), copied into out; 0 when absent. */
static int text_value(const char *text, const char *key, char *out, size_t size) {
  size_t len = strlen(key);
  for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, key, len) != 0 || strncmp(line + len, ": ", 2) != 0) continue;
    const char *value = line + len + 2, *end = strchr(value, '\n');
    size_t n = end ? (size_t)(end - value) : strlen(value);
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), value);
    return 1;
  }
  return 0;
}

int scan_config_stage_diff(const char *old_text, const char *new_text, const char *const *ignored, char *out,
                           size_t size) {
  int differences = 0;
  size_t used = 0;
  out[0] = '\0';
  for (int k = 0; k < config_schema_count; k++) {
    const char *key = config_schema[k].key;
    int skip = 0;
    for (int i = 0; ignored && ignored[i] && !skip; i++) skip = strcmp(ignored[i], key) == 0;
    if (skip) continue;
    char before[512] = "(unset)", after[512] = "(unset)";
    int had = text_value(old_text, key, before, sizeof before), has = text_value(new_text, key, after, sizeof after);
    const char *neutral = config_schema_neutral(k); /* a stage text leaves a key out at its neutral value */
    if (neutral && !had) snprintf(before, sizeof before, "%s", neutral);
    if (neutral && !has) snprintf(after, sizeof after, "%s", neutral);
    if ((!had && !has) || strcmp(before, after) == 0) continue;
    differences++;
    if (used < size)
      used += (size_t)snprintf(out + used, size - used, "%s%s %s -> %s", differences > 1 ? ", " : "", key, before, after);
  }
  return differences;
}
