/* Private to the configuration files of module base: the key schema and the value store. */
#ifndef SCAN_CONFIG_INTERNAL_H
#define SCAN_CONFIG_INTERNAL_H

#include "scan/config.h"

typedef enum { CFG_INT, CFG_NUMBER, CFG_BOOL, CFG_STRING, CFG_NUMBERS, CFG_INTS } config_type;

typedef struct {
  const char *key;     /* dotted path, e.g. "optimizer_kwargs.lr"; keys sharing a prefix are adjacent */
  config_type type;
  const char *choices; /* "a|b|c" for enumerated strings, else NULL */
  const char *only_in; /* a section name when the key belongs to that section alone (eval/explain), else NULL */
  const char *doc;
} config_key;

extern const config_key config_schema[];
extern const int config_schema_count;

/* For a key added after run directories existed: the canonical value that means "as before the key was added", else
   NULL. A stage's hash and text leave the key out while it has that value, so upgrading scan does not make every
   finished stage of an old run directory stale and train it again; any other value is hashed as usual. */
const char *config_schema_neutral(int key);
/* Index of a dotted key in the schema, or -1. */
int config_schema_find(const char *key);
/* 1 when some schema key starts with "prefix." (so `prefix:` may hold a mapping). */
int config_schema_is_prefix(const char *prefix);
/* The schema key closest to `key` by edit distance when it is an obvious misspelling, else NULL. */
const char *config_schema_suggest(const char *key);

extern const char config_default_yaml[];
/* The Fashion-MNIST recipe's additions to the reference's training (a pipeline file with stage sections). */
extern const char config_recipe_yaml[];

/* Sections; index 0 is the top level (common keys). */
enum { CONFIG_COMMON = 0, CONFIG_SECTIONS = 6 };
extern const char *const config_section_names[CONFIG_SECTIONS]; /* [0] = NULL */
int config_section_index(const char *name);                     /* NULL → 0, unknown → -1 */

/* Two layers: the built-in defaults and what the user set. */
enum { CONFIG_DEFAULTS = 0, CONFIG_USER = 1 };

typedef struct {
  char **items;       /* scalar text; a scalar has one item */
  int count;
  int is_list;
  const char *source; /* file name, "--set" or "<defaults>" (owned by the config) */
  int line;           /* 1-based; 0 when unknown (--set) */
} config_value;

struct scan_config {
  config_value *values; /* [layer][section][schema index], NULL items when unset */
  char *sources[64];    /* names that config_value.source points into */
  int source_count;
  int reference_section; /* the section a reference-style file (top-level `setup:`) configures, else 0 */
};

config_value *config_slot(const scan_config *c, int layer, int section, int key);
/* The value a stage resolves to (user section, user top level, default section, default top level), or NULL. */
const config_value *config_resolve(const scan_config *c, int section, int key);
/* Validation's range rules name their sections as a list "pretext,cluster": 1 when `name` is one of the list;
   how many names of the list are not sections; SCAN_ERR_INTERNAL when some rule names a section that does not exist
   (such a rule would check nothing). */
int config_section_listed(const char *list, const char *name);
int config_section_list_unknown(const char *list);
scan_status config_check_rule_sections(void);
/* 1 when `text` is one of `choices` ("a|b|c"). */
int config_choice_has(const char *choices, const char *text);
/* Checks a value against the key's type and choices; the message names source, line and key. */
scan_status config_check(const config_value *v, int key);
/* Converters used by lookups and by the hash, with the same messages as config_check. */
scan_status config_parse_int(const config_value *v, int key, const char *text, long long *out);
scan_status config_parse_number(const config_value *v, int key, const char *text, double *out);
scan_status config_parse_bool(const config_value *v, int key, const char *text, int *out);

/* The canonical text of a whole value: "x" or "[a, b]", so "0.30", "3e-1" and "0.3" compare alike. Values were
   validated at load, so nothing fails here. */
void config_canonical_value(const config_value *v, int key, char *out, size_t cap);

/* config.yml's last line: "# checksum: <16 hex digits>\n" over the `size` bytes before it. */
void config_checksum_line(const char *text, size_t size, char *line, size_t line_size);
/* Checks that last line when present; with `required`, a file without it is refused too. */
scan_status config_checksum_verify(const char *text, size_t size, const char *path, int required);

#endif
