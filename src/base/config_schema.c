/* Every configuration key scan knows: the reference experiment keys (spec §2.3, §11) and ours.
 * Keys sharing a dotted prefix stay adjacent: the YAML writer nests them in this order. */
#include <string.h>

#include "config_internal.h"

#define NUM CFG_NUMBER
#define INT CFG_INT
#define BOOL CFG_BOOL
#define STR CFG_STRING
#define NUMS CFG_NUMBERS
#define INTS CFG_INTS

const config_key config_schema[] = {
    {"setup", STR, "simclr|moco|scan|selflabel", NULL, "which stage a reference-style file configures"},
    {"seed", INT, NULL, NULL, "random seed; with the thread count it fixes every random choice"},
    {"threads", INT, NULL, NULL, "worker threads for compute (0 = all cores)"},
    {"fast_convolution", BOOL, NULL, NULL, "hand-written AVX2 convolutions: Winograd F(4x4,3x3) for 3x3 stride 1, patch matrix products for the rest (2-3x faster; ~1e-5 relative rounding difference); false: oneDNN direct convolution everywhere, which rounds like PyTorch"},
    {"conv_algorithm", STR, "rule|measure", NULL,
     "how each convolution's algorithm is chosen: rule (fixed by its shape, as always) or measure (each training stage "
     "times the algorithms that run each layer at its batch, keeps the fastest, and records the choice in "
     "<stage>/conv_plan.json, which a rerun or resume reuses)"},

    {"backbone", STR, "vgg|resnet18|resnet18-stl|resnet50", NULL, "feature extractor"},
    {"model_kwargs.head", STR, "mlp|linear", NULL, "pretext projection head"},
    {"model_kwargs.features_dim", INT, NULL, NULL, "output size of the pretext head"},
    {"model_kwargs.width_multiplier", NUM, NULL, NULL, "scales the channel counts of the backbone"},
    {"model_kwargs.vgg_widths", INTS, NULL, NULL, "channels of each vgg block"},

    {"train_db_name", STR, NULL, NULL, "training dataset (cifar-10, cifar-20, stl-10, fashion-mnist, a folder, ...)"},
    {"val_db_name", STR, NULL, NULL, "validation dataset"},
    {"train_split", STR, NULL, NULL, "split of the training dataset"},
    {"val_split", STR, NULL, NULL, "split of the validation dataset"},
    {"data_root", STR, NULL, NULL, "where datasets live (empty = the standard locations)"},
    {"val_data_root", STR, NULL, NULL, "where the validation dataset lives (empty = data_root)"},
    {"image_size", INT, NULL, NULL, "resize images to this side (0 = keep the dataset's size)"},
    {"data_streaming", STR, "auto|on|off", NULL,
     "images of a folder, list or packed file (training and validation splits): decoded on the fly (on), in memory "
     "(off), or on the fly only when they exceed data_cache_mb (auto)"},
    {"data_cache_mb", INT, NULL, NULL, "streamed images: each split's decoded-image cache budget in MiB"},
    {"num_classes", INT, NULL, NULL, "number of clusters"},
    {"num_heads", INT, NULL, NULL, "cluster heads trained side by side; the lowest-loss one is kept"},
    {"num_neighbors", INT, NULL, NULL, "nearest neighbours mined per training image"},
    {"num_neighbors_val", INT, NULL, NULL, "nearest neighbours mined per validation image"},
    {"neighbor_features", STR, "head|backbone|backbone+pixels", "cluster",
     "what neighbours are mined on: the contrastive head's output (the reference), the backbone's features, or the "
     "backbone's features beside the raw pixels (each L2-normalised, equal weight)"},
    {"selection_entropy_weight", NUM, NULL, "cluster",
     "SCAN: weight of the entropy term in the validation loss that chooses the epoch and head to keep (and that "
     "self-labelling must beat); 1 is the reference's"},
    {"neighbor_refresh_epochs", INT, NULL, "cluster",
     "SCAN: every this many whole-network epochs, mine the training neighbours again on the backbone being trained "
     "(its L2-normalised features; 0 = never: the pretext neighbours throughout)"},

    {"criterion", STR, "simclr|scan|confidence-cross-entropy", NULL, "loss"},
    {"criterion_kwargs.temperature", NUM, NULL, NULL, "SimCLR softmax temperature"},
    {"criterion_kwargs.entropy_weight", NUM, NULL, NULL, "SCAN weight of the cluster-entropy term"},
    {"criterion_kwargs.apply_class_balancing", BOOL, NULL, NULL, "self-label: weight classes by inverse frequency"},
    {"criterion_kwargs.symmetric", BOOL, NULL, NULL, "SimCLR: average the loss over both view directions"},
    {"confidence_threshold", NUM, NULL, NULL, "self-label: minimum softmax probability of a pseudo-label"},
    {"adaptive_threshold", STR, "none|quantile", NULL, "self-label: per-class threshold instead of a fixed one"},
    {"adaptive_quantile", NUM, NULL, NULL, "self-label: quantile of each class's confidences used as threshold"},
    {"use_ema", BOOL, NULL, NULL, "self-label: keep an exponential moving average of the weights"},
    {"ema_alpha", NUM, NULL, NULL, "decay of the moving average"},
    {"temperature", NUM, NULL, NULL, "MoCo: temperature of the weighted kNN"},

    {"epochs", INT, NULL, NULL, "training epochs"},
    {"head_warmup_epochs", INT, NULL, NULL, "SCAN: epochs that train the heads only before the whole network"},
    {"optimizer", STR, "sgd|adam", NULL, "optimiser"},
    {"optimizer_kwargs.lr", NUM, NULL, NULL, "learning rate"},
    {"optimizer_kwargs.backbone_lr", NUM, NULL, NULL, "learning rate of the backbone when it differs"},
    {"optimizer_kwargs.momentum", NUM, NULL, NULL, "SGD momentum"},
    {"optimizer_kwargs.weight_decay", NUM, NULL, NULL, "L2 penalty added to the gradient"},
    {"optimizer_kwargs.nesterov", BOOL, NULL, NULL, "SGD Nesterov momentum"},
    {"optimizer_kwargs.betas", NUMS, NULL, NULL, "Adam betas [beta1, beta2]"},
    {"scheduler", STR, "cosine|step|constant", NULL, "learning-rate schedule"},
    {"scheduler_kwargs.lr_decay_rate", NUM, NULL, NULL, "cosine: final lr = lr * rate^3; step: factor per step"},
    {"scheduler_kwargs.lr_decay_epochs", INTS, NULL, NULL, "step: epochs after which the lr is multiplied"},
    {"scheduler_kwargs.warmup_steps", INT, NULL, NULL, "linear warm-up steps (0 = none, as the reference)"},
    {"scheduler_kwargs.per_step", BOOL, NULL, NULL, "update the lr every step instead of every epoch"},
    {"batch_size", INT, NULL, NULL, "images per step (SimCLR: pairs)"},
    {"num_workers", INT, NULL, NULL, "data-loading threads"},
    {"update_cluster_head_only", BOOL, NULL, NULL, "SCAN: freeze the backbone"},
    {"sync_batchnorm", BOOL, NULL, NULL,
     "under mpirun: batch-norm statistics of the whole global batch, not of each rank's shard (two small all-reduces "
     "per batch-norm layer and step)"},
    {"allreduce_bucket_mb", NUM, NULL, NULL,
     "under mpirun: 0 sums the gradients over the ranks in one all-reduce after backward; a size in MB sums them in "
     "buckets of that size, each started as soon as backward has finished its gradients, overlapping the sums with "
     "the rest of backward (pays where the all-reduce is bandwidth-bound: large models, slow networks)"},

    {"augmentation_strategy", STR, "simclr|ours|standard|val", NULL, "training augmentation"},
    {"augmentation_kwargs.random_resized_crop.size", INT, NULL, NULL, "crop output side"},
    {"augmentation_kwargs.random_resized_crop.scale", NUMS, NULL, NULL, "crop area range [min, max]"},
    {"augmentation_kwargs.color_jitter_random_apply.p", NUM, NULL, NULL, "probability of colour jitter"},
    {"augmentation_kwargs.color_jitter.brightness", NUM, NULL, NULL, "colour jitter strength"},
    {"augmentation_kwargs.color_jitter.contrast", NUM, NULL, NULL, "colour jitter strength"},
    {"augmentation_kwargs.color_jitter.saturation", NUM, NULL, NULL, "colour jitter strength"},
    {"augmentation_kwargs.color_jitter.hue", NUM, NULL, NULL, "colour jitter strength"},
    {"augmentation_kwargs.random_grayscale.p", NUM, NULL, NULL, "probability of grey-scale"},
    {"augmentation_kwargs.crop_size", INT, NULL, NULL, "ours: crop side"},
    {"augmentation_kwargs.num_strong_augs", INT, NULL, NULL, "ours: RandAugment operations per image"},
    {"augmentation_kwargs.cutout_kwargs.n_holes", INT, NULL, NULL, "ours: cutout holes"},
    {"augmentation_kwargs.cutout_kwargs.length", INT, NULL, NULL, "ours: cutout side"},
    {"augmentation_kwargs.cutout_kwargs.random", BOOL, NULL, NULL, "ours: each image's hole side drawn in [1, length] (false: exactly length)"},
    {"augmentation_kwargs.random_erasing.p", NUM, NULL, NULL, "probability of random erasing"},
    {"augmentation_kwargs.random_erasing.min", NUM, NULL, NULL, "smallest erased area fraction"},
    {"augmentation_kwargs.random_erasing.max", NUM, NULL, NULL, "largest erased area fraction"},
    {"augmentation_kwargs.normalize.mean", NUMS, NULL, NULL, "per-channel mean"},
    {"augmentation_kwargs.normalize.std", NUMS, NULL, NULL, "per-channel standard deviation"},
    {"transformation_kwargs.crop_size", INT, NULL, NULL, "validation centre crop side"},
    {"transformation_kwargs.normalize.mean", NUMS, NULL, NULL, "per-channel mean"},
    {"transformation_kwargs.normalize.std", NUMS, NULL, NULL, "per-channel standard deviation"},

    {"baseline", STR, "none|kmeans", "eval", "also report k-means on the pretext features"},
    {"prototypes_topk", INT, NULL, "eval", "most confident images shown per cluster"},

    {"lime_samples", INT, NULL, "explain", "LIME perturbed samples per image"},
    {"lime_kernel_width", NUM, NULL, "explain", "LIME kernel width"},
    {"lime_segmenter", STR, "quickshift|slic|auto", "explain", "superpixel algorithm (auto: quickshift, SLIC when it finds < 4 superpixels)"},
    {"lime_hide", STR, "zero|mean", "explain", "what hidden superpixels are filled with"},
    {"lime_top_features", INT, NULL, "explain", "superpixels shown"},
    {"gradcam_layer", STR, NULL, "explain", "Grad-CAM layer (empty = the last convolution)"},
};

const int config_schema_count = (int)(sizeof config_schema / sizeof config_schema[0]);

/* Keys added since run directories were first written, with the value that keeps the behaviour from before them
   (config_schema_neutral). Only keys added after the last release belong here: adding an older key would change the
   hashes that release wrote. */
static const struct {
  const char *key, *neutral;
} neutral_values[] = {
    {"conv_algorithm", "rule"},
    {"sync_batchnorm", "false"},
    {"allreduce_bucket_mb", "0.0"},
    {"neighbor_refresh_epochs", "0"},
};

const char *config_schema_neutral(int key) {
  for (size_t i = 0; i < sizeof neutral_values / sizeof neutral_values[0]; i++)
    if (strcmp(neutral_values[i].key, config_schema[key].key) == 0) return neutral_values[i].neutral;
  return NULL;
}

int config_schema_find(const char *key) {
  for (int i = 0; i < config_schema_count; i++)
    if (strcmp(config_schema[i].key, key) == 0) return i;
  return -1;
}

int config_schema_is_prefix(const char *prefix) {
  size_t n = strlen(prefix);
  for (int i = 0; i < config_schema_count; i++)
    if (strncmp(config_schema[i].key, prefix, n) == 0 && config_schema[i].key[n] == '.') return 1;
  return 0;
}

static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return 1 << 20;
  int row[64];
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diagonal = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int above = row[j];
      int best = diagonal + (a[i - 1] != b[j - 1]);
      if (above + 1 < best) best = above + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diagonal = above;
    }
  }
  return row[lb];
}

const char *config_schema_suggest(const char *key) {
  const char *best = NULL;
  int best_distance = 1 << 20;
  for (int i = 0; i < config_schema_count; i++) {
    int d = edit_distance(key, config_schema[i].key);
    if (d < best_distance) {
      best_distance = d;
      best = config_schema[i].key;
    }
  }
  /* "Obvious" means a few edits relative to the length: n_neighbors → num_neighbors, but not lr → seed. */
  int limit = (int)strlen(key) / 3;
  if (limit > 3) limit = 3;
  return best_distance <= limit ? best : NULL;
}
