/* conv_algorithm: measure on the tiny synthetic run of tiny_run.h (one pretext epoch per run):
 *   - the first run times each layer's algorithms, says so one line per layer, and writes pretext/conv_plan.json,
 *     whose every layer names an algorithm that ran there and was the fastest of those it timed;
 *   - a run that finds the plan uses it instead of measuring, and trains the same model bytes (same seed, threads),
 *     also when it is killed after an epoch and resumed;
 *   - fast_convolution: false leaves oneDNN direct (with or without the stem kernel) as the only choices;
 *   - a plan that is not JSON, names another layer, has an algorithm that cannot run the layer, or was measured at
 *     another batch: exit status 2 and a message naming the file, before any training;
 *   - `scan bench conv_tuning_vgg_b256` prints the default VGG's six choices (not in the light sanitizer run: it
 *     times 512-image layers); a --conv-algorithm it does not know is exit status 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli_scan.h"
#include "testlib.h"
#include "tiny_run.h"

static const char args[] = "--threads 2 --set pretext.epochs=1 --set conv_algorithm=measure";

static void path_in(char *out, size_t size, const char *run, const char *relative) {
  snprintf(out, size, "%s/%s", run, relative);
}

static cJSON *read_plan(const char *run) {
  char path[1024];
  path_in(path, sizeof path, run, "pretext/conv_plan.json");
  char *text = test_read_text(path, NULL);
  cJSON *plan = text ? cJSON_Parse(text) : NULL;
  free(text);
  return plan;
}

/* <run>/pretext/conv_plan.json holding `text` (the run's folder made). */
static void plant_plan(const char *run, const char *text) {
  char path[1024];
  mkdir(run, 0777);
  path_in(path, sizeof path, run, "pretext");
  mkdir(path, 0777);
  path_in(path, sizeof path, run, "pretext/conv_plan.json");
  test_write_file(path, text, (long)strlen(text));
}

static void plant_json(const char *run, const cJSON *plan) {
  char *text = cJSON_Print(plan);
  plant_plan(run, text);
  free(text);
}

static int same_bytes(const char *a, const char *b) {
  long na = 0, nb = 0;
  char *x = test_read_text(a, &na), *y = test_read_text(b, &nb);
  const int same = x && y && na == nb && memcmp(x, y, (size_t)na) == 0;
  free(x), free(y);
  return same;
}

/* Every layer's algorithm is one it timed, and the fastest of them; returns the layer count (0 when malformed). */
static int check_choices(const cJSON *plan, const char *const *allowed) {
  const cJSON *layers = cJSON_GetObjectItem(plan, "layers");
  int count = 0;
  const cJSON *layer;
  cJSON_ArrayForEach(layer, layers) {
    const char *algorithm = cJSON_GetStringValue(cJSON_GetObjectItem(layer, "algorithm"));
    const cJSON *ms = cJSON_GetObjectItem(layer, "ms"), *chosen = algorithm ? cJSON_GetObjectItem(ms, algorithm) : NULL;
    CHECK_MSG(chosen && cJSON_IsNumber(chosen), "layer %d: algorithm %s was not timed", count, algorithm ? algorithm : "?");
    const cJSON *other;
    cJSON_ArrayForEach(other, ms) CHECK_MSG(!chosen || chosen->valuedouble <= other->valuedouble, "layer %d: %s is not the fastest",
                                            count, algorithm);
    int known = 0;
    for (int i = 0; allowed[i] && algorithm; i++) known |= strcmp(allowed[i], algorithm) == 0;
    CHECK_MSG(known, "layer %d: algorithm %s", count, algorithm ? algorithm : "?");
    cJSON_ArrayForEach(other, ms) {
      known = 0;
      for (int i = 0; allowed[i]; i++) known |= strcmp(allowed[i], other->string) == 0;
      CHECK_MSG(known, "layer %d: %s timed, which should not run here", count, other->string);
    }
    count++;
  }
  return count;
}

int main(void) {
  const char *tmp = test_tmpdir();
  char data[512], config[512], first[512], second[512], direct[512], bad[512], model_a[1024], model_b[1024];
  tiny_setup(120, 60, data, sizeof data, config, sizeof config);
  snprintf(cli_extra_args, sizeof cli_extra_args, " --config %s", config);
  snprintf(first, sizeof first, "%s/first", tmp);
  snprintf(second, sizeof second, "%s/second", tmp);
  snprintf(direct, sizeof direct, "%s/direct", tmp);
  snprintf(bad, sizeof bad, "%s/bad", tmp);

  /* 1. measured: one line per layer (vgg_widths [8, 16]: four convolutions), and the plan */
  CHECK_RUNS("pretext --out %s %s", first, args);
  CHECK_MSG(strstr(output, "conv algorithm [1/4] backbone.features.0 (n64 1->8 28x28") &&
                strstr(output, "conv algorithm [4/4] backbone.features.10"),
            "no per-layer lines:\n%s", output);
  cJSON *plan = read_plan(first);
  CHECK_MSG(plan != NULL, "no readable pretext/conv_plan.json");
  static const char *const any[] = {"own-winograd", "own-winograd-s2", "own-gemm", "onednn-direct", "onednn-winograd",
                                    "onednn-direct+stem", "onednn-winograd+stem", NULL};
  CHECK(check_choices(plan, any) == 4);
  CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(plan, "batch")) == 64);

  /* 2. reused: no measuring, the same model */
  plant_json(second, plan);
  CHECK_RUNS("pretext --out %s %s", second, args);
  CHECK_MSG(strstr(output, "convolution algorithms from") && !strstr(output, "conv algorithm ["), "the plan was not reused:\n%s",
            output);
  path_in(model_a, sizeof model_a, first, "pretext/model.safetensors");
  path_in(model_b, sizeof model_b, second, "pretext/model.safetensors");
  CHECK_MSG(same_bytes(model_a, model_b), "the run with the first run's plan trained a different model");

  /* killed after its first epoch's checkpoint and resumed: the resumed run reads the plan too */
  char two[512], resumed[512];
  snprintf(two, sizeof two, "%s/two", tmp);
  snprintf(resumed, sizeof resumed, "%s/resumed", tmp);
  CHECK_RUNS("pretext --out %s %s --set pretext.epochs=2", two, args);
  cJSON *two_plan = read_plan(two);
  plant_json(resumed, two_plan);
  cJSON_Delete(two_plan);
  setenv("SCAN_TEST_STOP_AT", "checkpoint-written:pretext", 1);
  const int rc = scan("pretext --out %s %s --set pretext.epochs=2", resumed, args);
  unsetenv("SCAN_TEST_STOP_AT");
  CHECK_MSG(rc == -1 || rc == 128 + SIGKILL, "not killed (status %d):\n%s", rc, output);
  CHECK_RUNS("pretext --out %s %s --set pretext.epochs=2", resumed, args);
  CHECK_MSG(strstr(output, "resuming after epoch 1") && strstr(output, "convolution algorithms from"), "%s", output);
  path_in(model_a, sizeof model_a, two, "pretext/model.safetensors");
  path_in(model_b, sizeof model_b, resumed, "pretext/model.safetensors");
  CHECK_MSG(same_bytes(model_a, model_b), "the killed and resumed run trained a different model");

  /* 3. fast_convolution: false: oneDNN direct only */
  CHECK_RUNS("pretext --out %s %s --set fast_convolution=false", direct, args);
  cJSON *direct_plan = read_plan(direct);
  static const char *const direct_only[] = {"onednn-direct", "onednn-direct+stem", NULL};
  CHECK(direct_plan && check_choices(direct_plan, direct_only) == 4);
  cJSON_Delete(direct_plan);

  /* 4. plans that do not fit: refused, naming the file */
  plant_plan(bad, "{\"format\": 1, \"layers\": [");
  CHECK_REJECTS("conv_plan.json: not valid JSON", "pretext --out %s %s", bad, args);
  cJSON *layer0 = cJSON_GetArrayItem(cJSON_GetObjectItem(plan, "layers"), 0);
  cJSON_ReplaceItemInObject(layer0, "name", cJSON_CreateString("backbone.features.99"));
  plant_json(bad, plan);
  CHECK_REJECTS("a plan of another model", "pretext --out %s %s", bad, args);
  cJSON_ReplaceItemInObject(layer0, "name", cJSON_CreateString("backbone.features.0"));
  cJSON_ReplaceItemInObject(layer0, "algorithm", cJSON_CreateString("own-winograd")); /* plain grey images in */
  plant_json(bad, plan);
  CHECK_REJECTS("does not apply", "pretext --out %s %s", bad, args);
  CHECK(strstr(output, "conv_plan.json") != NULL);
  cJSON_ReplaceItemInObject(layer0, "algorithm", cJSON_CreateString("fastest"));
  plant_json(bad, plan);
  CHECK_REJECTS("unknown convolution algorithm 'fastest'", "pretext --out %s %s", bad, args);
  plant_plan(bad, "[1, 2]");
  CHECK_REJECTS("not a convolution plan", "pretext --out %s %s", bad, args);
  cJSON_Delete(plan);
  plan = read_plan(first);
  snprintf(bad, sizeof bad, "%s/bad-batch", tmp); /* a fresh run: the other folder's configuration has batch 32 */
  plant_json(bad, plan);
  CHECK_REJECTS("was measured as n64", "pretext --out %s %s --set pretext.batch_size=16", bad, args);
  cJSON_Delete(plan);

  /* scan bench takes no --quiet, which scan() adds */
  char command[1024];
  snprintf(command, sizeof command, "%s bench simclr_step_vgg_b256 --conv-algorithm fastest", test_scan_bin());
  CHECK(test_run(command, output, sizeof output) == 2 && strstr(output, "--conv-algorithm must be rule or measure"));
  if (!test_light()) {
    snprintf(command, sizeof command, "%s bench conv_tuning_vgg_b256", test_scan_bin());
    CHECK_MSG(test_run(command, output, sizeof output) == 0, "%s", output);
    CHECK_MSG(strstr(output, "conv algorithm [1/6] backbone.features.0 (n512 1->16 28x28") &&
                  strstr(output, "conv algorithm [6/6] backbone.features.17 (n512 64->64 7x7") &&
                  strstr(output, "conv_tuning_vgg_b256"),
              "%s", output);
  }
  return test_main_end();
}
