/* Loading configurations: YAML documents (libyaml document API) and --set assignments into the value store. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_internal.h"
#include "scan/atomic_file.h"

const char *const config_section_names[CONFIG_SECTIONS] = {NULL, "pretext", "cluster", "selflabel", "eval", "explain"};

int config_section_index(const char *name) {
  if (!name) return CONFIG_COMMON;
  /* The clustering stage's section was called `scan` (the reference's name for the step) before it took the
     command's name; files and --set lines written that way keep working. */
  if (strcmp(name, "scan") == 0) name = "cluster";
  for (int s = 1; s < CONFIG_SECTIONS; s++)
    if (strcmp(name, config_section_names[s]) == 0) return s;
  return -1;
}

config_value *config_slot(const scan_config *c, int layer, int section, int key) {
  return &c->values[((size_t)layer * CONFIG_SECTIONS + (size_t)section) * (size_t)config_schema_count + (size_t)key];
}

static void clear_value(config_value *v) {
  for (int i = 0; i < v->count; i++) free(v->items[i]);
  free(v->items);
  memset(v, 0, sizeof *v);
}

void scan_config_free(scan_config *c) {
  if (!c) return;
  for (int i = 0; i < 2 * CONFIG_SECTIONS * config_schema_count; i++) clear_value(&c->values[i]);
  free(c->values);
  for (int i = 0; i < c->source_count; i++) free(c->sources[i]);
  free(c);
}

/* Source names are kept once per config so values can point at them. */
static const char *intern_source(scan_config *c, const char *name) {
  for (int i = 0; i < c->source_count; i++)
    if (strcmp(c->sources[i], name) == 0) return c->sources[i];
  if (c->source_count == (int)(sizeof c->sources / sizeof c->sources[0])) return c->sources[c->source_count - 1];
  char *copy = strdup(name);
  if (!copy) return "?";
  c->sources[c->source_count++] = copy;
  return copy;
}

/* ---- walking a YAML document ---- */

typedef struct {
  scan_config *cfg;
  yaml_document_t *doc;
  int layer;
  const char *source;
  int reject_duplicates; /* files may not repeat a key; repeated --set simply overrides */
  int skip_section;      /* a section this text must not fill (0 = none) */
} loader;

static int line_of(const yaml_node_t *node) { return node ? (int)node->start_mark.line + 1 : 0; }

/* "file:line: message", or "file: message" where the line is unknown (--set). */
__attribute__((format(printf, 3, 4))) static scan_status fail_at(const char *source, int line, const char *fmt, ...) {
  char what[1024];
  va_list args;
  va_start(args, fmt);
  vsnprintf(what, sizeof what, fmt, args);
  va_end(args);
  if (line > 0) return scan_fail(SCAN_ERR_INPUT, "%s:%d: %s", source, line, what);
  return scan_fail(SCAN_ERR_INPUT, "%s: %s", source, what);
}

static int is_null_scalar(const yaml_node_t *node) {
  if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
  const char *t = (const char *)node->data.scalar.value;
  return t[0] == '\0' || strcmp(t, "~") == 0 || strcmp(t, "null") == 0 || strcmp(t, "Null") == 0 ||
         strcmp(t, "NULL") == 0;
}

/* `criterion` and `setup` name what a stage does, and each stage does one thing: any other value would be
 * stored and then ignored, so it is refused. */
static scan_status check_stage_task(const loader *L, int section, int key, const config_value *v) {
  static const char *const criteria[CONFIG_SECTIONS] = {NULL, "simclr", "scan", "confidence-cross-entropy", NULL, NULL};
  static const char *const setups[CONFIG_SECTIONS] = {NULL, "simclr|moco", "scan", "selflabel", NULL, NULL};
  const char *name = config_schema[key].key;
  const char *const *expected = strcmp(name, "criterion") == 0 ? criteria : strcmp(name, "setup") == 0 ? setups : NULL;
  if (!expected || v->is_list) return SCAN_OK;
  if (!expected[section])
    return fail_at(L->source, v->line,
                   "key '%s' belongs to one stage: give it in that stage's section (pretext: %s, scan: %s, selflabel: %s)",
                   name, expected[1], expected[2], expected[3]);
  if (!config_choice_has(expected[section], v->items[0]))
    return fail_at(L->source, v->line, "key '%s' is '%s', but the %s stage's %s can only be %s", name, v->items[0],
                   config_section_names[section], name, expected[section]);
  return SCAN_OK;
}

static scan_status store_leaf(loader *L, int section, int key, const yaml_node_t *node, int line) {
  const char *name = config_schema[key].key;
  config_value v = {.source = L->source, .line = line};
  if (node && node->type == YAML_MAPPING_NODE)
    return fail_at(L->source, line, "key '%s' takes a value, not a mapping", name);
  if (node && node->type == YAML_SEQUENCE_NODE) {
    v.is_list = 1;
    int n = (int)(node->data.sequence.items.top - node->data.sequence.items.start);
    v.items = scan_calloc((size_t)n + 1, sizeof(char *));
    if (!v.items) return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
    for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
      yaml_node_t *item = yaml_document_get_node(L->doc, *it);
      if (!item || item->type != YAML_SCALAR_NODE) {
        clear_value(&v);
        return fail_at(L->source, line, "key '%s' takes a list of plain values", name);
      }
      v.items[v.count++] = strdup((const char *)item->data.scalar.value);
    }
  } else {
    v.items = scan_calloc(1, sizeof(char *));
    if (!v.items) return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
    v.items[v.count++] = strdup(node ? (const char *)node->data.scalar.value : "");
  }
  for (int i = 0; i < v.count; i++)
    if (!v.items[i]) {
      clear_value(&v);
      return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
    }
  scan_status st = config_check(&v, key);
  if (st == SCAN_OK) st = check_stage_task(L, section, key, &v);
  if (st != SCAN_OK) {
    clear_value(&v);
    return st;
  }
  config_value *slot = config_slot(L->cfg, L->layer, section, key);
  if (slot->items && L->reject_duplicates && slot->source == L->source) {
    clear_value(&v);
    return fail_at(L->source, line, "key '%s' is given twice (first at line %d)", name, slot->line);
  }
  clear_value(slot);
  *slot = v;
  return SCAN_OK;
}

/* Stores `node` under the dotted key `path` of `section`, descending into mappings such as optimizer_kwargs. */
static scan_status store_node(loader *L, int section, const char *path, const yaml_node_t *node, int line) {
  int key = config_schema_find(path);
  if (key >= 0) {
    const char *only_in = config_schema[key].only_in;
    if (only_in && section != CONFIG_COMMON && strcmp(only_in, config_section_names[section]) != 0)
      return fail_at(L->source, line, "key '%s' belongs in the '%s:' section", path, only_in);
    return store_leaf(L, section, key, node, line);
  }
  if (!config_schema_is_prefix(path)) {
    const char *suggestion = config_schema_suggest(path);
    char hint[160] = "";
    if (suggestion) snprintf(hint, sizeof hint, " (did you mean '%s'?)", suggestion);
    return fail_at(L->source, line, "unknown key '%s'%s", path, hint);
  }
  if (!node || is_null_scalar(node)) return SCAN_OK; /* `criterion_kwargs:` with nothing under it */
  if (node->type != YAML_MAPPING_NODE)
    return fail_at(L->source, line, "key '%s' holds a mapping of keys, not a value", path);
  for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(L->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(L->doc, p->value);
    if (!k || k->type != YAML_SCALAR_NODE) return fail_at(L->source, line_of(k), "a key under '%s' is not a name", path);
    char child[512];
    if (snprintf(child, sizeof child, "%s.%s", path, (const char *)k->data.scalar.value) >= (int)sizeof child)
      return fail_at(L->source, line_of(k), "key under '%s' is too long", path);
    SCAN_TRY(store_node(L, section, child, v, line_of(k)));
  }
  return SCAN_OK;
}

/* A reference-style file names its stage with `setup:`; returns the section it fills, 0 for a pipeline file. */
static scan_status single_stage_section(loader *L, const yaml_node_t *root, int *section) {
  *section = CONFIG_COMMON;
  for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(L->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(L->doc, p->value);
    if (!k || k->type != YAML_SCALAR_NODE || strcmp((const char *)k->data.scalar.value, "setup") != 0) continue;
    const char *setup = (v && v->type == YAML_SCALAR_NODE) ? (const char *)v->data.scalar.value : "";
    if (strcmp(setup, "simclr") == 0 || strcmp(setup, "moco") == 0)
      *section = config_section_index("pretext");
    else if (strcmp(setup, "scan") == 0 || strcmp(setup, "selflabel") == 0)
      *section = config_section_index(setup);
    else
      return fail_at(L->source, line_of(k), "key '%s' expects one of simclr|moco|scan|selflabel, got '%s'", "setup",
                     setup);
  }
  return SCAN_OK;
}

/* In a reference-style single-stage file, the keys describing the data and the model (and how to run) are the
 * same for every stage: a scan_cifar10.yml names the dataset the whole pipeline works on, not only SCAN's.
 * They go to the top level; training keys (epochs, optimizer, augmentation, criterion, ...) stay with the stage.
 * `name` is a top-level key of the file, possibly dotted ("model_kwargs.head"). */
static int describes_data_or_model(const char *name) {
  static const char *const keys[] = {
      "train_db_name", "val_db_name", "train_split", "val_split",   "data_root",     "val_data_root", "image_size",
      "num_classes",   "backbone",    "model_kwargs", "transformation_kwargs", "seed", "threads",
      "num_workers",   "fast_convolution",    "conv_algorithm", "num_neighbors", "num_neighbors_val", "data_streaming", "data_cache_mb",
  };
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    size_t n = strlen(keys[i]);
    if (strncmp(name, keys[i], n) == 0 && (name[n] == '\0' || name[n] == '.')) return 1;
  }
  return 0;
}

static scan_status load_document(loader *L) {
  yaml_node_t *root = yaml_document_get_root_node(L->doc);
  if (!root || is_null_scalar(root)) return SCAN_OK; /* an empty file changes nothing */
  if (root->type != YAML_MAPPING_NODE)
    return fail_at(L->source, line_of(root), "a configuration is a mapping of keys");
  int file_section;
  SCAN_TRY(single_stage_section(L, root, &file_section));
  if (file_section != CONFIG_COMMON) L->cfg->reference_section = file_section;
  for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(L->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(L->doc, p->value);
    if (!k || k->type != YAML_SCALAR_NODE) return fail_at(L->source, line_of(k), "a top-level key is not a name");
    const char *name = (const char *)k->data.scalar.value;
    int section = config_section_index(name);
    if (section <= 0) {
      int target = describes_data_or_model(name) ? CONFIG_COMMON : file_section;
      SCAN_TRY(store_node(L, target, name, v, line_of(k)));
      continue;
    }
    if (file_section != CONFIG_COMMON)
      return fail_at(L->source, line_of(k),
                     "a file with a top-level 'setup:' configures one stage and cannot hold a '%s:' section",
                     name);
    if (!v || is_null_scalar(v) || section == L->skip_section) continue;
    if (v->type != YAML_MAPPING_NODE)
      return fail_at(L->source, line_of(k), "section '%s:' must hold a mapping of keys", name);
    for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
      yaml_node_t *sk = yaml_document_get_node(L->doc, q->key);
      yaml_node_t *sv = yaml_document_get_node(L->doc, q->value);
      if (!sk || sk->type != YAML_SCALAR_NODE)
        return fail_at(L->source, line_of(sk), "a key in section '%s:' is not a name", name);
      SCAN_TRY(store_node(L, section, (const char *)sk->data.scalar.value, sv, line_of(sk)));
    }
  }
  return SCAN_OK;
}

/* Parses YAML text into the given layer. `source` names the text in messages. */
static scan_status load_text(scan_config *c, int layer, const char *text, size_t size, const char *source,
                             int reject_duplicates, const char *set_key, int set_section, int skip_section) {
  yaml_parser_t parser;
  yaml_document_t doc;
  if (!yaml_parser_initialize(&parser)) return scan_fail(SCAN_ERR_INTERNAL, "out of memory starting the YAML parser");
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
  if (!yaml_parser_load(&parser, &doc)) {
    scan_status st = scan_fail(SCAN_ERR_INPUT, "%s:%d: invalid YAML: %s%s%s", source, (int)parser.problem_mark.line + 1,
                               parser.problem ? parser.problem : "parse error", parser.context ? " " : "",
                               parser.context ? parser.context : "");
    yaml_parser_delete(&parser);
    return st;
  }
  loader L = {c, &doc, layer, intern_source(c, source), reject_duplicates, skip_section};
  scan_status st;
  if (set_key) {
    /* A --set value: one YAML scalar or flow collection for one key. */
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    st = store_node(&L, set_section, set_key, root, 0);
  } else {
    st = load_document(&L);
  }
  yaml_document_delete(&doc);
  if (st == SCAN_OK && !set_key) {
    /* Only one document per file: a second one would be silently ignored otherwise. */
    yaml_document_t next;
    if (!yaml_parser_load(&parser, &next)) {
      st = scan_fail(SCAN_ERR_INPUT, "%s:%d: invalid YAML: %s", source, (int)parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "parse error");
    } else {
      if (yaml_document_get_root_node(&next))
        st = scan_fail(SCAN_ERR_INPUT, "%s:%d: a configuration file holds one YAML document", source,
                       (int)next.start_mark.line + 1);
      yaml_document_delete(&next);
    }
  }
  yaml_parser_delete(&parser);
  return st;
}

static scan_status config_with_defaults(scan_config **out) {
  *out = NULL;
  scan_config *c = scan_calloc(1, sizeof *c);
  if (!c) return SCAN_ERR_INTERNAL;
  c->values = scan_calloc((unsigned long)2 * CONFIG_SECTIONS * (unsigned long)config_schema_count, sizeof(config_value));
  if (!c->values) {
    free(c);
    return SCAN_ERR_INTERNAL;
  }
  scan_status st = load_text(c, CONFIG_DEFAULTS, config_default_yaml, strlen(config_default_yaml), "<defaults>", 1,
                             NULL, 0, 0);
  if (st != SCAN_OK) {
    scan_config_free(c);
    return scan_fail_context(SCAN_ERR_INTERNAL, "built-in defaults");
  }
  *out = c;
  return SCAN_OK;
}

scan_status scan_config_parse(scan_config **out, const char *text, size_t size, const char *name) {
  SCAN_TRY(config_with_defaults(out));
  scan_status st = load_text(*out, CONFIG_USER, text, size, name, 1, NULL, 0, 0);
  if (st != SCAN_OK) {
    scan_config_free(*out);
    *out = NULL;
  }
  return st;
}

static scan_status load_file(scan_config **out, const char *path, int checksum_required) {
  if (!path) return config_with_defaults(out);
  *out = NULL;
  unsigned char *text;
  size_t size;
  SCAN_TRY(scan_read_file(path, &text, &size));
  scan_status st = config_checksum_verify((const char *)text, size, path, checksum_required);
  if (st == SCAN_OK) st = scan_config_parse(out, (const char *)text, size, path);
  free(text);
  return st;
}

scan_status scan_config_load(scan_config **out, const char *path) { return load_file(out, path, 0); }

scan_status scan_config_load_run(scan_config **out, const char *path) { return load_file(out, path, 1); }

/* "key=value" or "stage.key=value" into `layer`; `source` names the assignment in messages. */
static scan_status assign(scan_config *cfg, int layer, const char *assignment, const char *source) {
  const char *eq = strchr(assignment, '=');
  if (!eq || eq == assignment)
    return scan_fail(SCAN_ERR_INPUT, "%s: expected key=value or stage.key=value, got '%s'", source, assignment);
  char key[512];
  size_t key_len = (size_t)(eq - assignment);
  if (key_len >= sizeof key) return scan_fail(SCAN_ERR_INPUT, "%s: key too long", source);
  memcpy(key, assignment, key_len);
  key[key_len] = '\0';
  /* A leading section name picks the stage: "scan.epochs=5". No schema key starts with a section name. */
  int section = CONFIG_COMMON;
  const char *leaf = key;
  char *dot = strchr(key, '.');
  if (dot) {
    *dot = '\0';
    int s = config_section_index(key);
    if (s > 0) {
      section = s;
      leaf = dot + 1;
    } else {
      *dot = '.';
    }
  }
  if (section == CONFIG_COMMON && strcmp(leaf, "setup") == 0)
    return scan_fail(SCAN_ERR_INPUT, "%s: 'setup' names a stage's task; set it per stage, e.g. pretext.setup=simclr",
                     source);
  const char *value = eq + 1;
  return load_text(cfg, layer, value, strlen(value), source, 0, leaf, section, 0);
}

scan_status scan_config_set_from(scan_config *cfg, const char *assignment, const char *source) {
  return assign(cfg, CONFIG_USER, assignment, source);
}

scan_status scan_config_set(scan_config *cfg, const char *assignment) { return scan_config_set_from(cfg, assignment, "--set"); }

scan_status scan_config_set_default(scan_config *cfg, const char *assignment, const char *source) {
  return assign(cfg, CONFIG_DEFAULTS, assignment, source);
}

scan_status scan_config_apply_recipe(scan_config *cfg) {
  const char *db = NULL;
  SCAN_TRY(scan_config_get_string(cfg, NULL, "train_db_name", &db));
  if (strcmp(db, "fashion-mnist") != 0) return SCAN_OK;
  return load_text(cfg, CONFIG_DEFAULTS, config_recipe_yaml, strlen(config_recipe_yaml), "<fashion-mnist recipe>", 0,
                   NULL, 0, cfg->reference_section);
}

scan_status scan_config_copy(const scan_config *c, scan_config **out) {
  *out = NULL;
  scan_config *copy = scan_calloc(1, sizeof *copy);
  size_t slots = (size_t)2 * CONFIG_SECTIONS * (size_t)config_schema_count;
  if (copy) copy->values = scan_calloc((unsigned long)slots, sizeof(config_value));
  if (!copy || !copy->values) {
    free(copy);
    return scan_fail(SCAN_ERR_INTERNAL, "out of memory copying the configuration");
  }
  copy->reference_section = c->reference_section;
  scan_status status = SCAN_OK;
  for (int i = 0; i < c->source_count && status == SCAN_OK; i++) {
    copy->sources[i] = strdup(c->sources[i]);
    if (copy->sources[i]) copy->source_count++;
    else status = scan_fail(SCAN_ERR_INTERNAL, "out of memory copying the configuration");
  }
  for (size_t s = 0; s < slots && status == SCAN_OK; s++) {
    const config_value *from = &c->values[s];
    config_value *to = &copy->values[s];
    if (!from->items) continue;
    /* Values point at their source's name inside the config that holds them. */
    to->source = from->source;
    for (int i = 0; i < c->source_count; i++)
      if (from->source == c->sources[i]) to->source = copy->sources[i];
    to->line = from->line;
    to->is_list = from->is_list;
    to->items = scan_calloc((unsigned long)from->count + 1, sizeof(char *));
    if (!to->items) status = scan_fail(SCAN_ERR_INTERNAL, "out of memory copying the configuration");
    for (int i = 0; i < from->count && status == SCAN_OK; i++) {
      to->items[i] = strdup(from->items[i]);
      if (to->items[i]) to->count++;
      else status = scan_fail(SCAN_ERR_INTERNAL, "out of memory copying the configuration");
    }
  }
  if (status != SCAN_OK) {
    scan_config_free(copy);
    return status;
  }
  *out = copy;
  return SCAN_OK;
}
