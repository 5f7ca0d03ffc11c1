/* Optimisers (PyTorch SGD / Adam semantics), learning-rate schedules (spec §10) and parameter EMA. */
#ifndef SCAN_OPTIM_H
#define SCAN_OPTIM_H

#include "scan/error.h"
#include "scan/nn.h"

typedef enum { SCAN_OPT_SGD, SCAN_OPT_ADAM } scan_optim_kind;
typedef struct { scan_optim_kind kind; double lr, momentum, weight_decay, beta1, beta2, eps; int nesterov; } scan_optim_config;
typedef struct scan_optimizer scan_optimizer;
/* Two parameter groups: backbone (+ contrastive head) and cluster heads, each with its own lr (heads_cfg may be NULL = same).
   frozen_backbone=1 updates only the cluster heads. Weight decay as PyTorch applies it: SGD and Adam add wd*param to the gradient (not AdamW). */
scan_status scan_optim_create(scan_optimizer **out, scan_net *net, const scan_optim_config *backbone_cfg, const scan_optim_config *heads_cfg, int frozen_backbone);
void scan_optim_set_lr(scan_optimizer *opt, double backbone_lr, double heads_lr);
scan_status scan_optim_step(scan_optimizer *opt);   /* uses the grads in the net; PyTorch semantics for momentum buffers and Adam bias correction */
scan_status scan_optim_save(const scan_optimizer *opt, const char *path, const char *const *metadata); /* state as safetensors (step count, moments) */
scan_status scan_optim_load(scan_optimizer *opt, const char *path);
/* The state from a file already read, its tensor names starting with `prefix` (a training checkpoint keeps the
   model and, under SCAN_CHECKPOINT_OPTIMIZER, the optimiser in one file). Validates all before changing anything. */
struct scan_safetensors;
scan_status scan_optim_load_from(scan_optimizer *opt, const struct scan_safetensors *f, const char *path, const char *prefix);
#define SCAN_CHECKPOINT_OPTIMIZER "optimizer."
/* A training checkpoint: the model's tensors (reference names) and the optimiser's state under "optimizer." in one
   file written atomically, so that no kill leaves a model of one epoch beside the optimiser state of another. */
scan_status scan_checkpoint_save(const scan_net *net, const scan_optimizer *opt, const char *path,
                                 const char *const *metadata);
void scan_optim_free(scan_optimizer *opt);
double scan_lr_cosine(double base_lr, double decay_rate, int epoch, int epochs);  /* spec §10: eta_min = lr*decay^3 */
double scan_lr_step(double base_lr, double decay_rate, const int *decay_epochs, int count, int epoch);
double scan_lr_warmup_cosine(double base_lr, long step, long warmup_steps, long total_steps); /* linear warm-up then per-step cosine to 0 */

/* A stage's learning-rate schedule (its scheduler and scheduler_kwargs). */
typedef enum { SCAN_LR_CONSTANT, SCAN_LR_COSINE, SCAN_LR_STEP } scan_lr_kind;
typedef struct {
  scan_lr_kind kind;
  double decay_rate;
  int decay_epochs[32], decay_count;
  long warmup_steps;
  int per_step; /* cosine: per step with a linear warm-up (the Fashion-MNIST probe's), else once per epoch */
} scan_lr_schedule;
/* The learning rate at (epoch, step within the epoch) for a group whose base rate is base_lr. */
double scan_lr_at(const scan_lr_schedule *s, double base_lr, int epoch, int epochs, long step, long steps_per_epoch);
typedef struct scan_ema scan_ema;   /* exponential moving average of parameters (not buffers): shadow = a*shadow + (1-a)*param */
scan_status scan_ema_create(scan_ema **out, const scan_net *net, double alpha);
void scan_ema_update(scan_ema *ema, const scan_net *net);
void scan_ema_copy_to(const scan_ema *ema, scan_net *net);
void scan_ema_free(scan_ema *ema);

#endif
