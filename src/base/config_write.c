/* The resolved configuration as YAML. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "scan/atomic_file.h"

/* One item in a canonical spelling, so "0.30", "3e-1" and "0.3" hash and compare alike. */
static void canonical_item(const config_value *v, int key, const char *text, char *out, size_t cap) {
  long long i;
  double d;
  int b;
  switch (config_schema[key].type) {
    case CFG_INT:
    case CFG_INTS:
      if (config_parse_int(v, key, text, &i) == SCAN_OK) {
        snprintf(out, cap, "%lld", i);
        return;
      }
      break;
    case CFG_NUMBER:
    case CFG_NUMBERS:
      if (config_parse_number(v, key, text, &d) == SCAN_OK) {
        /* The shortest spelling that reads back as the same double (0.3, not 0.29999999999999999),
         * with ".0" on whole numbers so they still read as numbers rather than integers. */
        for (int digits = 15; digits <= 17; digits++) {
          snprintf(out, cap, "%.*g", digits, d);
          if (strtod(out, NULL) == d) break;
        }
        if (!strpbrk(out, ".e")) strncat(out, ".0", cap - strlen(out) - 1);
        return;
      }
      break;
    case CFG_BOOL:
      if (config_parse_bool(v, key, text, &b) == SCAN_OK) {
        snprintf(out, cap, "%s", b ? "true" : "false");
        return;
      }
      break;
    case CFG_STRING: break;
  }
  snprintf(out, cap, "%s", text);
}

void config_canonical_value(const config_value *v, int key, char *out, size_t cap) {
  size_t used = 0;
  out[0] = '\0';
  if (v->is_list) used += (size_t)snprintf(out, cap, "[");
  for (int i = 0; i < v->count && used < cap; i++) {
    char item[256];
    canonical_item(v, key, v->items[i], item, sizeof item);
    used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? ", " : "", item);
  }
  if (v->is_list && used < cap) snprintf(out + used, cap - used, "]");
}

/* Strings are written plain when YAML reads them back as the same string, else double-quoted. */
static int plain_string_ok(const char *s) {
  static const char *const special[] = {"true", "True",  "TRUE", "false", "False", "FALSE", "yes", "Yes",
                                        "YES",  "no",    "No",   "NO",    "on",    "On",    "ON",  "off",
                                        "Off",  "OFF",   "null", "Null",  "NULL",  "~",     "y",   "n"};
  if (!s[0] || !(s[0] == '_' || s[0] == '/' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
    return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("_-./", *p)))
      return 0;
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
    if (strcmp(s, special[i]) == 0) return 0;
  return 1;
}

static void write_string(FILE *f, const char *s) {
  if (plain_string_ok(s)) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f)
      fprintf(f, "\\x%02x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

static void write_value(FILE *f, const config_value *v, int key) {
  if (config_schema[key].type == CFG_STRING) {
    write_string(f, v->items[0]);
    return;
  }
  char text[4096];
  config_canonical_value(v, key, text, sizeof text);
  fputs(text, f);
}

/* Writes the chosen keys nested by their dotted components. The schema keeps keys that share a prefix
 * adjacent, so a mapping opened for one key is complete before the next prefix starts. */
static void write_keys(FILE *f, const config_value *const *values, int indent) {
  const char *previous = NULL;
  for (int k = 0; k < config_schema_count; k++) {
    if (!values[k]) continue;
    const char *key = config_schema[k].key;
    /* Components shared with the previous key's mappings are already open. */
    int depth = 0;
    size_t start = 0;
    if (previous) {
      for (size_t i = 0; key[i] && key[i] == previous[i]; i++)
        if (key[i] == '.') {
          depth++;
          start = i + 1;
        }
    }
    int level = depth;
    for (const char *p = key + start;;) {
      const char *dot = strchr(p, '.');
      fprintf(f, "%*s%.*s:", 2 * (indent + level), "", (int)(dot ? (size_t)(dot - p) : strlen(p)), p);
      if (!dot) break;
      fputc('\n', f);
      p = dot + 1;
      level++;
    }
    fputc(' ', f);
    write_value(f, values[k], k);
    fprintf(f, "   # %s\n", config_schema[k].doc);
    previous = key;
  }
}

/* The resolved configuration as YAML text on `f`; `name` is for messages. */
static scan_status write_config(const scan_config *c, FILE *f, const char *name) {
  const config_value **chosen = scan_calloc((size_t)config_schema_count, sizeof *chosen);
  if (!chosen) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", name);
  fputs("# scan configuration, fully resolved: every default filled in.\n"
        "# Sections hold the keys whose value for that stage differs from the top level.\n",
        f);
  /* `setup` stays in the sections: at the top level it would make this a single-stage file. */
  int setup = config_schema_find("setup");
  for (int k = 0; k < config_schema_count; k++) chosen[k] = k == setup ? NULL : config_resolve(c, CONFIG_COMMON, k);
  write_keys(f, chosen, 0);
  for (int s = 1; s < CONFIG_SECTIONS; s++) {
    int any = 0;
    for (int k = 0; k < config_schema_count; k++) {
      const char *only_in = config_schema[k].only_in;
      const config_value *v = config_resolve(c, s, k), *common = k == setup ? NULL : config_resolve(c, CONFIG_COMMON, k);
      chosen[k] = NULL;
      if (!v || v == common || (only_in && strcmp(only_in, config_section_names[s]) != 0)) continue;
      if (common) {
        char a[4096], b[4096];
        config_canonical_value(v, k, a, sizeof a);
        config_canonical_value(common, k, b, sizeof b);
        if (strcmp(a, b) == 0) continue;
      }
      chosen[k] = v;
      any = 1;
    }
    if (!any) continue;
    fprintf(f, "\n%s:\n", config_section_names[s]);
    write_keys(f, chosen, 1);
  }
  free(chosen);
  return SCAN_OK;
}

scan_status scan_config_write(const scan_config *c, const char *path) {
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  if (!f) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path);
  scan_status st = write_config(c, f, path);
  if (fflush(f) == 0) {
    char line[64];
    config_checksum_line(text, size, line, sizeof line);
    fputs(line, f);
  }
  if (fclose(f) != 0 && st == SCAN_OK) st = scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path);
  if (st == SCAN_OK) st = scan_write_file_atomic(path, text, size);
  free(text);
  return st;
}

scan_status scan_config_print(const scan_config *c, FILE *out) {
  SCAN_TRY(write_config(c, out, "configuration"));
  return ferror(out) ? scan_fail(SCAN_ERR_INTERNAL, "cannot print the configuration") : SCAN_OK;
}
