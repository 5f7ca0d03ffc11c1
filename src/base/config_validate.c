/* Every range and relation a stage relies on, checked once on the whole configuration before any work starts
 * (`scan config show` runs the same checks). A stage never finds out after minutes of training that a value was
 * unusable, and a rejected --set is refused before anything in the run directory changes. Checks that need the
 * data (k < N, batch <= N) are the pipeline's, when the data is loaded (scan_pipeline_check_data). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config_internal.h"

/* Which sections a rule is checked in: a key resolves per stage, so scan.batch_size and pretext.batch_size are
   different values. COMMON is the top level alone (keys no stage overrides in a meaningful way). */
#define COMMON "-"
#define TRAINING "pretext,cluster,selflabel"

typedef struct {
  const char *key;
  const char *sections; /* comma-separated; COMMON for the top level */
  double min, max;
  int min_open, max_open; /* 1: the bound itself is excluded */
} range_rule;

static const range_rule rules[] = {
    {"model_kwargs.features_dim", "pretext", 1, 65536, 0, 0},
    {"model_kwargs.width_multiplier", TRAINING, 0, 8, 1, 0},
    {"model_kwargs.vgg_widths", TRAINING, 1, 4096, 0, 0},
    {"image_size", COMMON, 0, 65536, 0, 0},
    {"data_cache_mb", COMMON, 1, 1 << 24, 0, 0},
    {"num_classes", "cluster,selflabel", 2, 10000, 0, 0},
    {"num_heads", "cluster", 1, 100, 0, 0},
    {"num_neighbors", "cluster", 1, 1e6, 0, 0},
    {"num_neighbors_val", "cluster,selflabel", 1, 1e6, 0, 0},
    {"criterion_kwargs.temperature", "pretext", 0, 1e6, 1, 0},
    {"criterion_kwargs.entropy_weight", "cluster", 0, 1e6, 0, 0},
    {"confidence_threshold", "selflabel", 0, 1, 1, 0},
    {"adaptive_quantile", "selflabel", 0, 1, 0, 0},
    {"ema_alpha", "selflabel", 0, 1, 0, 1},
    {"epochs", TRAINING, 0, 1e6, 0, 0},
    {"head_warmup_epochs", "cluster", 0, 1e6, 0, 0},
    {"neighbor_refresh_epochs", "cluster", 0, 1e6, 0, 0},
    {"selection_entropy_weight", "cluster", 0, 1e6, 0, 0},
    /* SimCLR and SCAN need two images per batch (a pair, a neighbour); self-labelling one. 1 << 20: the batch buffers
       are sized from it, so a typo must not ask for terabytes. */
    {"batch_size", "pretext,cluster", 2, 1 << 20, 0, 0},
    {"batch_size", "selflabel", 1, 1 << 20, 0, 0},
    {"num_workers", TRAINING, 0, 256, 0, 0},
    /* 1024 MB: one bucket stays within one MPI call (SCAN_DIST_MAX_COUNT floats) */
    {"allreduce_bucket_mb", TRAINING, 0, 1024, 0, 0},
    {"optimizer_kwargs.lr", TRAINING, 0, 100, 1, 1},
    {"optimizer_kwargs.backbone_lr", TRAINING, 0, 100, 0, 1},
    {"optimizer_kwargs.momentum", TRAINING, 0, 1, 0, 1},
    {"optimizer_kwargs.weight_decay", TRAINING, 0, 1e6, 0, 0},
    {"optimizer_kwargs.betas", TRAINING, 0, 1, 0, 1},
    {"scheduler_kwargs.lr_decay_rate", TRAINING, 0, 1e6, 0, 0},
    {"scheduler_kwargs.warmup_steps", TRAINING, 0, 1e9, 0, 0},
    {"augmentation_kwargs.random_resized_crop.size", TRAINING, 0, 65536, 0, 0},
    {"augmentation_kwargs.random_resized_crop.scale", TRAINING, 0, 1, 1, 0},
    {"augmentation_kwargs.color_jitter_random_apply.p", TRAINING, 0, 1, 0, 0},
    {"augmentation_kwargs.random_grayscale.p", TRAINING, 0, 1, 0, 0},
    {"augmentation_kwargs.random_erasing.p", TRAINING, 0, 1, 0, 0},
    {"augmentation_kwargs.random_erasing.min", TRAINING, 0, 1, 0, 0},
    {"augmentation_kwargs.random_erasing.max", TRAINING, 0, 1, 0, 0},
    {"augmentation_kwargs.crop_size", TRAINING, 0, 65536, 0, 0},
    {"augmentation_kwargs.num_strong_augs", TRAINING, 0, 14, 0, 0},
    {"augmentation_kwargs.cutout_kwargs.n_holes", TRAINING, 0, 1000, 0, 0},
    {"augmentation_kwargs.cutout_kwargs.length", TRAINING, 0, 65536, 0, 0},
    {"augmentation_kwargs.normalize.std", TRAINING, 0, 1e6, 1, 0},
    {"transformation_kwargs.crop_size", COMMON, 0, 65536, 0, 0},
    {"transformation_kwargs.normalize.std", COMMON, 0, 1e6, 1, 0},
    {"prototypes_topk", "eval", 1, 1e6, 0, 0},
    {"lime_samples", "explain", 1, 1e7, 0, 0},
    {"lime_kernel_width", "explain", 0, 1e6, 1, 0},
    {"lime_top_features", "explain", 1, 1e6, 0, 0},
};

int scan_config_max_threads(void) {
  /* More than 4 threads a core only time-share (every OpenMP barrier then waits for descheduled threads), and
     thousands exhaust libgomp's per-thread stacks (10000 crashed inside oneDNN). 256 as a floor keeps a config
     written on a large machine usable, with the same thread count and so the same bits, on a small one. */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  long bound = cores > 0 ? 4 * cores : 0;
  return bound > 256 ? (int)bound : 256;
}

/* "<file>:<line>: " or "--set: " for the value's origin, so the message points at what to fix. */
static void origin(const config_value *v, char *out, size_t size) {
  if (v->line > 0) snprintf(out, size, "%s:%d: ", v->source, v->line);
  else snprintf(out, size, "%s: ", v->source);
}

static void describe_range(const range_rule *r, char *out, size_t size) {
  if (r->max >= 1e6 && !r->max_open) snprintf(out, size, "%s %.10g", r->min_open ? ">" : ">=", r->min);
  else snprintf(out, size, "in %s%.10g, %.10g%s", r->min_open ? "(" : "[", r->min, r->max, r->max_open ? ")" : "]");
}

static scan_status check_rule(const scan_config *c, const range_rule *r, int section, const char *section_name) {
  int key = config_schema_find(r->key);
  if (key < 0) return scan_fail(SCAN_ERR_INTERNAL, "config_validate: '%s' is not a schema key", r->key);
  const config_value *v = config_resolve(c, section, key);
  if (!v) return SCAN_OK; /* a strategy-specific key with no value for this stage keeps the strategy's default */
  for (int i = 0; i < v->count; i++) {
    double x;
    SCAN_TRY(config_parse_number(v, key, v->items[i], &x));
    int low = r->min_open ? x <= r->min : x < r->min, high = r->max_open ? x >= r->max : x > r->max;
    if (!low && !high) continue;
    char where[600], range[64];
    origin(v, where, sizeof where);
    describe_range(r, range, sizeof range);
    return scan_fail(SCAN_ERR_INPUT, "%s%s%s%s = %s must be %s", where, section_name ? section_name : "",
                     section_name ? "." : "", r->key, v->items[i], range);
  }
  return SCAN_OK;
}

/* The resolved numbers of a list key for a section (count 0 when it has no value). */
static int numbers(const scan_config *c, int section, const char *name, double *out, int max, const config_value **v) {
  int key = config_schema_find(name);
  *v = key >= 0 ? config_resolve(c, section, key) : NULL;
  int n = 0;
  for (int i = 0; *v && i < (*v)->count && n < max; i++)
    if (config_parse_number(*v, key, (*v)->items[i], &out[n]) == SCAN_OK) n++;
  return n;
}

/* Relations between keys of one section. */
static scan_status check_relations(const scan_config *c, int section, const char *name) {
  char where[600];
  double x[8];
  const config_value *v;
  int n = numbers(c, section, "optimizer_kwargs.betas", x, 8, &v);
  if (v && n != 0 && n != 2) {
    origin(v, where, sizeof where);
    return scan_fail(SCAN_ERR_INPUT, "%s%s.optimizer_kwargs.betas needs two values [beta1, beta2], got %d", where, name, n);
  }
  n = numbers(c, section, "augmentation_kwargs.random_resized_crop.scale", x, 8, &v);
  if (v && (n != 2 || x[0] > x[1])) {
    origin(v, where, sizeof where);
    return scan_fail(SCAN_ERR_INPUT, "%s%s.augmentation_kwargs.random_resized_crop.scale must be [min, max] with min <= max",
                     where, name);
  }
  n = numbers(c, section, "augmentation_kwargs.random_erasing.min", x, 1, &v);
  if (n == 1 && numbers(c, section, "augmentation_kwargs.random_erasing.max", x + 1, 1, &v) == 1 && x[0] > x[1]) {
    origin(v, where, sizeof where);
    return scan_fail(SCAN_ERR_INPUT, "%s%s.augmentation_kwargs.random_erasing: min %g is above max %g", where, name, x[0], x[1]);
  }
  return SCAN_OK;
}

static scan_status check_threads(const scan_config *c) {
  int key = config_schema_find("threads");
  const config_value *v = key >= 0 ? config_resolve(c, CONFIG_COMMON, key) : NULL;
  double threads;
  if (!v || v->count != 1) return SCAN_OK;
  SCAN_TRY(config_parse_number(v, key, v->items[0], &threads));
  int bound = scan_config_max_threads();
  if (threads >= 0 && threads <= bound) return SCAN_OK;
  char where[600];
  origin(v, where, sizeof where);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return scan_fail(SCAN_ERR_INPUT,
                   "%sthreads = %s must be 0 (all cores) to %d (4 per core on this machine's %ld cores, at least 256)",
                   where, v->items[0], bound, cores);
}

int config_section_listed(const char *list, const char *name) {
  size_t len = strlen(name);
  for (const char *hit = strstr(list, name); hit; hit = strstr(hit + 1, name))
    if ((hit == list || hit[-1] == ',') && (hit[len] == ',' || hit[len] == '\0')) return 1;
  return 0;
}

int config_section_list_unknown(const char *list) {
  int named = 1, known = 0;
  for (const char *comma = strchr(list, ','); comma; comma = strchr(comma + 1, ',')) named++;
  for (int s = 1; s < CONFIG_SECTIONS; s++) known += config_section_listed(list, config_section_names[s]);
  return named - known;
}

scan_status config_check_rule_sections(void) {
  for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++)
    if (strcmp(rules[r].sections, COMMON) != 0 && config_section_list_unknown(rules[r].sections) != 0)
      return scan_fail(SCAN_ERR_INTERNAL, "config: the range rule of '%s' names a section that does not exist (%s)",
                       rules[r].key, rules[r].sections);
  return SCAN_OK;
}

scan_status scan_config_validate(const scan_config *c) {
  /* A rule naming a section that does not exist would check nothing, silently. */
  SCAN_TRY(config_check_rule_sections());
  SCAN_TRY(check_threads(c));
  for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
    const char *list = rules[r].sections;
    if (strcmp(list, COMMON) == 0) {
      SCAN_TRY(check_rule(c, &rules[r], CONFIG_COMMON, NULL));
      continue;
    }
    for (int s = 1; s < CONFIG_SECTIONS; s++)
      if (config_section_listed(list, config_section_names[s]))
        SCAN_TRY(check_rule(c, &rules[r], s, config_section_names[s]));
  }
  for (int s = 1; s <= 3; s++) SCAN_TRY(check_relations(c, s, config_section_names[s]));
  return SCAN_OK;
}
