/* Our VGG for small grey images (the default Fashion-MNIST backbone): per stage [conv3x3-BN-ReLU] x 2,
 * 2x2 max-pool between stages, global average pooling. Convs have no bias (batch-norm follows).
 * Parameter names follow torch.nn.Sequential numbering of [conv, bn, relu, conv, bn, relu, maxpool, ...]
 * under backbone.features, so a PyTorch twin loads the same file. */
#include <stdio.h>

#include "net_internal.h"

int net_build_vgg(scan_net *net, int input) {
  int x = input, index = 0;
  for (int s = 0; s < net->backbone.vgg_stages; s++) {
    int width = net_scale_width(net, net->backbone.vgg_widths[s]);
    for (int rep = 0; rep < 2; rep++) {
      char name[64];
      snprintf(name, sizeof name, "backbone.features.%d", index);
      x = net_conv(net, name, x, width, 3, 1, 1);
      snprintf(name, sizeof name, "backbone.features.%d", index + 1);
      x = net_relu(net, net_bn(net, name, x));
      index += 3;
    }
    char stage[16];
    snprintf(stage, sizeof stage, "stage%d", s + 1);
    net_mark_stage(net, stage, x);
    if (s + 1 < net->backbone.vgg_stages) {
      x = net_maxpool(net, x, 2, 2, 0);
      index += 1;
    }
  }
  return x;
}
