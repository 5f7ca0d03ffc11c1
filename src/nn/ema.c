/* Exponential moving average of the trainable parameters (spec §8.3): shadow = a * shadow + (1 - a) * param.
 * Buffers (batch-norm running statistics) are not averaged; copy_to leaves them as they are in the net. */
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "scan/optim.h"

struct scan_ema {
  double alpha;
  int64_t floats;
  float *shadow; /* indexed like the parameter block */
};

scan_status scan_ema_create(scan_ema **out, const scan_net *net, double alpha) {
  *out = NULL;
  if (!(alpha >= 0 && alpha <= 1)) return scan_fail(SCAN_ERR_INPUT, "EMA: alpha %g is not in [0, 1]", alpha);
  scan_ema *ema = scan_calloc(1, sizeof *ema);
  float *shadow = scan_malloc((unsigned long)(net->param_floats ? net->param_floats : 1) * sizeof(float));
  if (!ema || !shadow) {
    free(ema);
    free(shadow);
    return scan_fail(SCAN_ERR_INTERNAL, "out of memory for the EMA");
  }
  memcpy(shadow, net->param_block, (size_t)net->param_floats * sizeof(float));
  ema->alpha = alpha;
  ema->floats = net->param_floats;
  ema->shadow = shadow;
  *out = ema;
  return SCAN_OK;
}

void scan_ema_update(scan_ema *ema, const scan_net *net) {
  const float a = (float)ema->alpha;
  for (int i = 0; i < net->param_count; i++) {
    const net_param *p = &net->params[i];
    if (p->p.is_buffer) continue;
    float *s = ema->shadow + p->offset;
    const float *w = p->p.data;
    for (int64_t k = 0; k < p->numel; k++) s[k] = a * s[k] + (1 - a) * w[k];
  }
}

void scan_ema_copy_to(const scan_ema *ema, scan_net *net) {
  for (int i = 0; i < net->param_count; i++) {
    const net_param *p = &net->params[i];
    if (!p->p.is_buffer) memcpy(p->p.data, ema->shadow + p->offset, (size_t)p->numel * sizeof(float));
  }
}

void scan_ema_free(scan_ema *ema) {
  if (!ema) return;
  free(ema->shadow);
  free(ema);
}
