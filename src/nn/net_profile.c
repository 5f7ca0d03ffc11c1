/* Per-op wall time of training passes (include/scan/nn.h: scan_net_set_profiling), to find where a step goes before
 * making any of it faster. Each op is timed as a whole (its kernels run their own parallel loops inside, so wall
 * time is the op's cost on all threads); an op's time includes the memory traffic of reading and writing its
 * tensors, which is what small layers spend much of theirs on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "scan/progress.h"

scan_status scan_net_set_profiling(scan_net *net, int enable) {
  free(net->op_seconds);
  net->op_seconds = NULL;
  if (!enable) return SCAN_OK;
  net->op_seconds = scan_calloc(2 * ((size_t)net->op_count + 1), sizeof(double));
  return net->op_seconds ? SCAN_OK : scan_fail(SCAN_ERR_INTERNAL, "network: out of memory for the profile");
}

double net_profile_clock(const scan_net *net) { return net->op_seconds ? scan_now_seconds() : 0.0; }

void net_profile_add(scan_net *net, int entry, int pass, double since) {
  if (net->op_seconds) net->op_seconds[2 * entry + pass] += scan_now_seconds() - since;
}

int scan_net_profile_count(const scan_net *net) { return net->op_count + 1; }

/* "conv features.0 1->16 28x28 auto", "bn+relu 16 28x28", "maxpool 16 28x28->14x14", ... */
static void op_label(const scan_net *net, const net_op *op, char *out, size_t size) {
  const net_tensor *in = &net->tensors[op->in], *o = &net->tensors[op->out];
  switch (op->kind) {
    case OP_CONV: {
      const char *weight = net->params[op->param].name;
      const size_t length = strlen(weight) > 7 && strcmp(weight + strlen(weight) - 7, ".weight") == 0 ? strlen(weight) - 7
                                                                                                        : strlen(weight);
      snprintf(out, size, "conv %.*s %d->%d %dx%d s%d %s", (int)length, weight, in->c, o->c, in->h, in->w, op->stride,
               scan_conv_algo_name((scan_conv_algo)op->algo));
      return;
    }
    case OP_BN: snprintf(out, size, "%s %d %dx%d", op->relu ? "bn+relu" : "bn", in->c, in->h, in->w); return;
    case OP_RELU: snprintf(out, size, "relu %d %dx%d", in->c, in->h, in->w); return;
    case OP_MAXPOOL: snprintf(out, size, "maxpool %d %dx%d->%dx%d", in->c, in->h, in->w, o->h, o->w); return;
    case OP_GAP: snprintf(out, size, "avgpool %d %dx%d", in->c, in->h, in->w); return;
    case OP_ADD: snprintf(out, size, "%s %d %dx%d", op->relu ? "add+relu" : "add", in->c, in->h, in->w); return;
  }
  snprintf(out, size, "op %d", (int)op->kind);
}

scan_op_time scan_net_profile_entry(const scan_net *net, int i) {
  scan_op_time t;
  memset(&t, 0, sizeof t);
  if (i < 0 || i > net->op_count) return t;
  if (i == net->op_count) snprintf(t.label, sizeof t.label, "heads (%d)", net->head_count);
  else op_label(net, &net->ops[i], t.label, sizeof t.label);
  if (net->op_seconds) {
    t.forward_s = net->op_seconds[2 * i];
    t.backward_s = net->op_seconds[2 * i + 1];
  }
  return t;
}
