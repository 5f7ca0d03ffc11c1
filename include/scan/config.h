/* The YAML configuration: built-in defaults (the quick Fashion-MNIST pipeline), the user's file on top,
 * then --set assignments. Keys are the reference experiment keys (dotted for nesting:
 * "optimizer_kwargs.lr") plus ours; every key is typed and documented in src/base/config_schema.c.
 *
 * Stages are "pretext", "scan", "selflabel", "eval", "explain"; NULL means the common (top-level) keys.
 * A lookup for a stage takes, in order: the user's value in that stage's section, the user's top-level
 * value, the built-in default for that stage, the built-in top-level default. */
#ifndef SCAN_CONFIG_H
#define SCAN_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scan/error.h"

typedef struct scan_config scan_config;

/* Built-in defaults, then (if path != NULL) the user's file on top. The file is either a reference-style
 * single-stage experiment file (it has `setup: simclr|moco|scan|selflabel`; its training keys apply to that
 * stage, simclr and moco meaning "pretext", while the keys describing data and model (train_db_name, val_db_name,
 * *_split, data_root, val_data_root, image_size, num_classes, backbone, model_kwargs.*, transformation_kwargs.*, seed, threads,
 * num_workers, fast_convolution, num_neighbors, num_neighbors_val) apply to every stage) or a pipeline file: common keys at top level plus sections
 * `pretext:`, `scan:`, `selflabel:`, `eval:`, `explain:` holding stage keys.
 * Unknown keys, wrong types and values outside a key's choices are errors naming file, line and key. */
scan_status scan_config_load(scan_config **out, const char *path);
/* Same, from text in memory; `name` stands for the file name in messages. */
scan_status scan_config_parse(scan_config **out, const char *text, size_t size, const char *name);

/* "key=value" or "stage.key=value"; key is dotted (optimizer_kwargs.lr); value is a YAML scalar
 * or a flow list [a, b]. Overrides the file. */
scan_status scan_config_set(scan_config *cfg, const char *assignment);

/* Typed lookups. A wrong type gives SCAN_ERR_INPUT naming file, line and key, e.g.
 * "my.yml:12: key 'optimizer_kwargs.lr' expects a number, got 'fast'" ("--set: ..." for --set values);
 * a key with no value anywhere gives SCAN_ERR_INPUT; a key missing from the schema is SCAN_ERR_INTERNAL. */
scan_status scan_config_get_int(const scan_config *c, const char *stage, const char *key, int *out);
scan_status scan_config_get_double(const scan_config *c, const char *stage, const char *key, double *out);
scan_status scan_config_get_bool(const scan_config *c, const char *stage, const char *key, int *out);
/* The string stays valid until the configuration is changed or freed. */
scan_status scan_config_get_string(const scan_config *c, const char *stage, const char *key, const char **out);
/* Lists; a single scalar counts as a list of one. More than `max` items is an error. */
scan_status scan_config_get_doubles(const scan_config *c, const char *stage, const char *key, double *out, int max,
                                    int *count);
scan_status scan_config_get_ints(const scan_config *c, const char *stage, const char *key, int *out, int max,
                                 int *count);
/* 1 when the user set the key (file or --set) for this stage or at top level, 0 when only a default applies. */
int scan_config_is_set(const scan_config *c, const char *stage, const char *key);

/* The fully resolved configuration (every default filled in) as YAML: common keys at top level and, in each
 * section, the keys whose value for that stage differs from the top-level one. Written atomically;
 * loading it back resolves every stage to the same values. */
scan_status scan_config_write(const scan_config *c, const char *path);
/* The same text, printed to `out` (for `scan config show`). */
scan_status scan_config_print(const scan_config *c, FILE *out);
/* A stable 64-bit hash of everything the stage resolves to (common + stage keys), to decide whether a
 * stage's outputs are stale. It does not include other stages (combine hashes where a stage depends on another). */
uint64_t scan_config_stage_hash(const scan_config *c, const char *stage);

const char *scan_config_default_text(void); /* the built-in default YAML, for `scan config show` */
void scan_config_free(scan_config *c);

#endif
