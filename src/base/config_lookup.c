/* Resolving and converting configuration values: the typed getters and the checks done at load time. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

const config_value *config_resolve(const scan_config *c, int section, int key) {
  const int order[4][2] = {{CONFIG_USER, section}, {CONFIG_USER, CONFIG_COMMON}, {CONFIG_DEFAULTS, section},
                           {CONFIG_DEFAULTS, CONFIG_COMMON}};
  for (int i = 0; i < 4; i++) {
    const config_value *v = config_slot(c, order[i][0], order[i][1], key);
    if (v->items) return v;
  }
  return NULL;
}

static scan_status type_error(const config_value *v, int key, const char *expects, const char *got) {
  if (v->line > 0)
    return scan_fail(SCAN_ERR_INPUT, "%s:%d: key '%s' expects %s, got '%s'", v->source, v->line,
                     config_schema[key].key, expects, got);
  return scan_fail(SCAN_ERR_INPUT, "%s: key '%s' expects %s, got '%s'", v->source, config_schema[key].key, expects,
                   got);
}

scan_status config_parse_int(const config_value *v, int key, const char *text, long long *out) {
  char *end;
  errno = 0;
  long long x = strtoll(text, &end, 10);
  if (end == text || *end || errno || isspace((unsigned char)text[0]) || x < -2147483647LL || x > 2147483647LL)
    return type_error(v, key, "an integer", text);
  *out = x;
  return SCAN_OK;
}

scan_status config_parse_number(const config_value *v, int key, const char *text, double *out) {
  /* Decimal only: strtod would also take "nan", "inf" and hex floats, which no configuration means. */
  for (const char *p = text; *p; p++)
    if (!isdigit((unsigned char)*p) && !strchr("+-.eE", *p)) return type_error(v, key, "a number", text);
  char *end;
  double x = strtod(text, &end);
  if (end == text || *end || !isfinite(x)) return type_error(v, key, "a number", text);
  *out = x;
  return SCAN_OK;
}

scan_status config_parse_bool(const config_value *v, int key, const char *text, int *out) {
  /* YAML 1.1 booleans, as PyYAML reads the reference configs (nesterov: False). */
  static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
  static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
    if (strcmp(text, yes[i]) == 0) {
      *out = 1;
      return SCAN_OK;
    }
    if (strcmp(text, no[i]) == 0) {
      *out = 0;
      return SCAN_OK;
    }
  }
  return type_error(v, key, "true or false", text);
}

int config_choice_has(const char *choices, const char *text) {
  size_t n = strlen(text);
  for (const char *p = choices; *p;) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && strncmp(p, text, n) == 0) return 1;
    p += len + (bar ? 1 : 0);
  }
  return 0;
}

static scan_status check_choice(const config_value *v, int key, const char *text) {
  const char *choices = config_schema[key].choices;
  if (!choices || config_choice_has(choices, text)) return SCAN_OK;
  char expects[256];
  snprintf(expects, sizeof expects, "one of %s", choices);
  return type_error(v, key, expects, text);
}

scan_status config_check(const config_value *v, int key) {
  config_type type = config_schema[key].type;
  int list_type = type == CFG_NUMBERS || type == CFG_INTS;
  if (v->is_list && !list_type) {
    static const char *const names[] = {"an integer", "a number", "true or false", "a single value"};
    return type_error(v, key, names[type], "a list");
  }
  for (int i = 0; i < v->count; i++) {
    long long ival;
    double dval;
    int bval;
    switch (type) {
      case CFG_INT:
      case CFG_INTS: SCAN_TRY(config_parse_int(v, key, v->items[i], &ival)); break;
      case CFG_NUMBER:
      case CFG_NUMBERS: SCAN_TRY(config_parse_number(v, key, v->items[i], &dval)); break;
      case CFG_BOOL: SCAN_TRY(config_parse_bool(v, key, v->items[i], &bval)); break;
      case CFG_STRING: SCAN_TRY(check_choice(v, key, v->items[i])); break;
    }
  }
  return SCAN_OK;
}

/* Finds the value of `key` for `stage`; a failure here is the caller's bug or a missing value. */
static scan_status lookup(const scan_config *c, const char *stage, const char *key, const config_value **v, int *index) {
  int section = config_section_index(stage);
  if (section < 0) return scan_fail(SCAN_ERR_INTERNAL, "config: unknown stage '%s'", stage);
  *index = config_schema_find(key);
  if (*index < 0) return scan_fail(SCAN_ERR_INTERNAL, "config: '%s' is not a known key", key);
  *v = config_resolve(c, section, *index);
  if (!*v)
    return scan_fail(SCAN_ERR_INPUT, "configuration has no value for '%s'%s%s (set it in the file or with --set)", key,
                     stage ? " in stage " : "", stage ? stage : "");
  return SCAN_OK;
}

static scan_status single(const config_value *v, int key, const char *expects) {
  return v->is_list ? type_error(v, key, expects, "a list") : SCAN_OK;
}

scan_status scan_config_get_int(const scan_config *c, const char *stage, const char *key, int *out) {
  const config_value *v;
  int k;
  long long x;
  SCAN_TRY(lookup(c, stage, key, &v, &k));
  SCAN_TRY(single(v, k, "an integer"));
  SCAN_TRY(config_parse_int(v, k, v->items[0], &x));
  *out = (int)x;
  return SCAN_OK;
}

scan_status scan_config_get_double(const scan_config *c, const char *stage, const char *key, double *out) {
  const config_value *v;
  int k;
  SCAN_TRY(lookup(c, stage, key, &v, &k));
  SCAN_TRY(single(v, k, "a number"));
  return config_parse_number(v, k, v->items[0], out);
}

scan_status scan_config_get_bool(const scan_config *c, const char *stage, const char *key, int *out) {
  const config_value *v;
  int k;
  SCAN_TRY(lookup(c, stage, key, &v, &k));
  SCAN_TRY(single(v, k, "true or false"));
  return config_parse_bool(v, k, v->items[0], out);
}

scan_status scan_config_get_string(const scan_config *c, const char *stage, const char *key, const char **out) {
  const config_value *v;
  int k;
  SCAN_TRY(lookup(c, stage, key, &v, &k));
  SCAN_TRY(single(v, k, "a single value"));
  *out = v->items[0];
  return SCAN_OK;
}

scan_status scan_config_get_doubles(const scan_config *c, const char *stage, const char *key, double *out, int max,
                                    int *count) {
  const config_value *v;
  int k;
  SCAN_TRY(lookup(c, stage, key, &v, &k));
  if (v->count > max) {
    char expects[64];
    snprintf(expects, sizeof expects, "at most %d numbers", max);
    return type_error(v, k, expects, v->items[max]);
  }
  for (int i = 0; i < v->count; i++) SCAN_TRY(config_parse_number(v, k, v->items[i], &out[i]));
  *count = v->count;
  return SCAN_OK;
}

scan_status scan_config_get_ints(const scan_config *c, const char *stage, const char *key, int *out, int max,
                                 int *count) {
  const config_value *v;
  int k;
  SCAN_TRY(lookup(c, stage, key, &v, &k));
  if (v->count > max) {
    char expects[64];
    snprintf(expects, sizeof expects, "at most %d integers", max);
    return type_error(v, k, expects, v->items[max]);
  }
  for (int i = 0; i < v->count; i++) {
    long long x;
    SCAN_TRY(config_parse_int(v, k, v->items[i], &x));
    out[i] = (int)x;
  }
  *count = v->count;
  return SCAN_OK;
}

int scan_config_is_set(const scan_config *c, const char *stage, const char *key) {
  int section = config_section_index(stage), k = config_schema_find(key);
  if (section < 0 || k < 0) return 0;
  return config_slot(c, CONFIG_USER, section, k)->items || config_slot(c, CONFIG_USER, CONFIG_COMMON, k)->items;
}

int scan_config_has_value(const scan_config *c, const char *stage, const char *key) {
  int section = config_section_index(stage), k = config_schema_find(key);
  return section >= 0 && k >= 0 && config_resolve(c, section, k) != NULL;
}

scan_status scan_config_refuse(const scan_config *c, const char *stage, const char *key, const char *fmt, ...) {
  char why[1024];
  va_list args;
  va_start(args, fmt);
  vsnprintf(why, sizeof why, fmt, args);
  va_end(args);
  int section = config_section_index(stage), k = config_schema_find(key);
  const config_value *v = section >= 0 && k >= 0 ? config_resolve(c, section, k) : NULL;
  if (!v) return scan_fail(SCAN_ERR_INPUT, "config: key '%s': %s", key, why);
  if (v->line > 0) return scan_fail(SCAN_ERR_INPUT, "%s:%d: key '%s': %s", v->source, v->line, key, why);
  return scan_fail(SCAN_ERR_INPUT, "%s: key '%s': %s", v->source, key, why);
}
