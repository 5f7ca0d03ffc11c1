/* The YAML configuration: built-in defaults (the quick Fashion-MNIST pipeline), the user's file on top,
 * then --set assignments. Keys are the reference experiment keys (dotted for nesting:
 * "optimizer_kwargs.lr") plus ours; every key is typed and documented in src/base/config_schema.c.
 *
 * Stages are "pretext", "cluster", "selflabel", "eval", "explain" (`scan`, the clustering section's old name, is
 * read as "cluster"); NULL means the common (top-level) keys.
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
 * num_workers, fast_convolution, conv_algorithm, num_neighbors, num_neighbors_val) apply to every stage) or a pipeline file: common keys at top level plus sections
 * `pretext:`, `scan:`, `selflabel:`, `eval:`, `explain:` holding stage keys.
 * Unknown keys, wrong types and values outside a key's choices are errors naming file, line and key. */
scan_status scan_config_load(scan_config **out, const char *path);
/* A run directory's config.yml, which scan_config_write ends with a checksum line: a file without it or whose
 * content does not match it (truncated, emptied, edited) is refused. scan_config_load checks the line only where
 * it is present, so a copy of a config.yml passed with --config is still checked. */
scan_status scan_config_load_run(scan_config **out, const char *path);
/* Same, from text in memory; `name` stands for the file name in messages. */
scan_status scan_config_parse(scan_config **out, const char *text, size_t size, const char *name);

/* "key=value" or "stage.key=value"; key is dotted (optimizer_kwargs.lr); value is a YAML scalar
 * or a flow list [a, b]. Overrides the file. */
scan_status scan_config_set(scan_config *cfg, const char *assignment);
/* The same with another name for where the value came from in messages (e.g. "--threads"). */
scan_status scan_config_set_from(scan_config *cfg, const char *assignment, const char *source);

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
/* 1 when the key has a value for this stage at all (set by the user or a default). */
int scan_config_has_value(const scan_config *c, const char *stage, const char *key);
/* SCAN_ERR_INPUT for a value that is well-formed but wrong, naming where the value in force came from:
 * "my.yml:12: key 'augmentation_kwargs.crop_size': <printf message>" ("--set: ...", "<defaults>: ..."). */
scan_status scan_config_refuse(const scan_config *c, const char *stage, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Derived defaults, below everything the user set (scan_config_is_set stays 0): "key=value" or
 * "stage.key=value" as for scan_config_set; `source` names them in messages (e.g. "<cifar-10 defaults>"). */
scan_status scan_config_set_default(scan_config *cfg, const char *assignment, const char *source);
/* The built-in defaults are the quick Fashion-MNIST recipe, whose training adds to the reference's a
 * learning-rate warm-up with a per-step cosine (pretext) and a heads-only warm-up with a smaller backbone
 * learning rate (scan). When train_db_name is fashion-mnist, this adds them to the defaults of every stage
 * except the one a reference-style file configures; for other datasets it does nothing, so they train as
 * the reference does. Call it once, after the file and every --set (scan_pipeline_resolve_config does). */
scan_status scan_config_apply_recipe(scan_config *cfg);

/* The fully resolved configuration (every default filled in) as YAML: common keys at top level and, in each
 * section, the keys whose value for that stage differs from the top-level one, then a checksum line. Written atomically;
 * loading it back resolves every stage to the same values. */
scan_status scan_config_write(const scan_config *c, const char *path);
/* The same text, printed to `out` (for `scan config show`). */
scan_status scan_config_print(const scan_config *c, FILE *out);
/* A stable 64-bit hash of everything the stage resolves to (common + stage keys), to decide whether a
 * stage's outputs are stale. It does not include other stages (combine hashes where a stage depends on another). */
uint64_t scan_config_stage_hash(const scan_config *c, const char *stage);
/* The same keys as text, one "key: canonical value" line each (malloc'd; NULL when out of memory). A training
 * checkpoint keeps it, so that a resumed stage can tell which keys differ from those it started with. */
char *scan_config_stage_text(const scan_config *c, const char *stage);
/* Compares two stage texts, leaving out the `ignored` keys (NULL-terminated, may be NULL). Writes
 * "seed 0 -> 5, optimizer_kwargs.lr 0.3 -> 0.01" into out and returns how many keys differ. */
int scan_config_stage_diff(const char *old_text, const char *new_text, const char *const *ignored, char *out,
                           size_t size);

/* Every range and relation of the values (batch >= 1, 2 <= num_classes, 0 < confidence_threshold <= 1, threads
 * within scan_config_max_threads(), ...) for every stage at once; the message names the file and line or --set,
 * the stage and the key. Relations to the data (k < N) are checked when the data is loaded. */
scan_status scan_config_validate(const scan_config *c);
/* The most compute threads a configuration may ask for on this machine: max(4 x cores, 256). */
int scan_config_max_threads(void);

/* A deep copy (values, their files and lines), so that resolving it leaves the original as the user gave it. */
scan_status scan_config_copy(const scan_config *c, scan_config **out);
void scan_config_free(scan_config *c);

#endif
