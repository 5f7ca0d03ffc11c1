/* Learning-rate schedules (spec §10), evaluated once per epoch (cosine, step) or per step (warm-up cosine). */
#include <math.h>

#include "scan/optim.h"

double scan_lr_cosine(double base_lr, double decay_rate, int epoch, int epochs) {
  const double eta_min = base_lr * decay_rate * decay_rate * decay_rate;
  if (epochs <= 0) return base_lr;
  return eta_min + (base_lr - eta_min) * (1 + cos(M_PI * epoch / epochs)) / 2;
}

double scan_lr_step(double base_lr, double decay_rate, const int *decay_epochs, int count, int epoch) {
  int passed = 0;
  for (int i = 0; i < count; i++) passed += epoch > decay_epochs[i];
  return base_lr * pow(decay_rate, passed);
}

/* Linear from lr/warmup up to lr over the first warmup_steps, then a cosine from lr down to 0 at total_steps. */
double scan_lr_warmup_cosine(double base_lr, long step, long warmup_steps, long total_steps) {
  if (step < warmup_steps) return base_lr * (double)(step + 1) / (double)warmup_steps;
  long span = total_steps - warmup_steps;
  if (span <= 0) return base_lr;
  double progress = (double)(step - warmup_steps) / (double)span;
  if (progress > 1) progress = 1;
  return base_lr * (1 + cos(M_PI * progress)) / 2;
}

double scan_lr_at(const scan_lr_schedule *s, double base_lr, int epoch, int epochs, long step, long steps_per_epoch) {
  if (s->kind == SCAN_LR_CONSTANT) return base_lr;
  if (s->kind == SCAN_LR_STEP) return scan_lr_step(base_lr, s->decay_rate, s->decay_epochs, s->decay_count, epoch);
  if (s->per_step) /* linear warm-up, then a cosine per step (the Fashion-MNIST probe's schedule) */
    return scan_lr_warmup_cosine(base_lr, (long)epoch * steps_per_epoch + step, s->warmup_steps, (long)epochs * steps_per_epoch);
  return scan_lr_cosine(base_lr, s->decay_rate, epoch, epochs); /* the reference: once per epoch */
}
