/* ResNets of spec §5: ResNet-18 CIFAR (3x3 stem, no max-pool), ResNet-18 STL (3x3 stem, max-pool 2/2 pad 1) with
 * BasicBlocks and "shortcut" projections, and torchvision's ResNet-50 (7x7/2 stem, max-pool 3/2, Bottlenecks with
 * the stride on the 3x3 conv, "downsample" projections). All end in global average pooling (equal to STL's
 * AvgPool(7) at 96x96). */
#include <stdio.h>

#include "net_internal.h"

/* conv -> BN (names prefix.convK / prefix.bnK) */
static int conv_bn(scan_net *net, const char *prefix, int k, int x, int out_c, int kernel, int stride, int pad) {
  char conv[96], bn[96];
  snprintf(conv, sizeof conv, "%s.conv%d", prefix, k);
  snprintf(bn, sizeof bn, "%s.bn%d", prefix, k);
  return net_bn(net, bn, net_conv(net, conv, x, out_c, kernel, stride, pad));
}

/* Projection when the block changes stride or width: conv1x1 + BN named prefix.<group>.0 / .1 */
static int projection(scan_net *net, const char *prefix, const char *group, int x, int out_c, int stride) {
  if (x < 0) return -1;
  if (stride == 1 && net->tensors[x].c == out_c) return x;
  char conv[96], bn[96];
  snprintf(conv, sizeof conv, "%s.%s.0", prefix, group);
  snprintf(bn, sizeof bn, "%s.%s.1", prefix, group);
  return net_bn(net, bn, net_conv(net, conv, x, out_c, 1, stride, 0));
}

static int basic_block(scan_net *net, const char *prefix, int x, int width, int stride) {
  /* main path first, then the projection: the order of PyTorch's state dict */
  int y = net_relu(net, conv_bn(net, prefix, 1, x, width, 3, stride, 1));
  y = conv_bn(net, prefix, 2, y, width, 3, 1, 1);
  int shortcut = projection(net, prefix, "shortcut", x, width, stride);
  return net_relu(net, net_add(net, y, shortcut));
}

static int bottleneck(scan_net *net, const char *prefix, int x, int width, int stride) {
  int y = net_relu(net, conv_bn(net, prefix, 1, x, width, 1, 1, 0));
  y = net_relu(net, conv_bn(net, prefix, 2, y, width, 3, stride, 1));
  y = conv_bn(net, prefix, 3, y, width * 4, 1, 1, 0);
  int shortcut = projection(net, prefix, "downsample", x, width * 4, stride);
  return net_relu(net, net_add(net, y, shortcut));
}

int net_build_resnet(scan_net *net, int input) {
  const int is50 = net->backbone.kind == SCAN_BACKBONE_RESNET50;
  static const int blocks18[4] = {2, 2, 2, 2}, blocks50[4] = {3, 4, 6, 3};
  const int *blocks = is50 ? blocks50 : blocks18;
  int stem = net_scale_width(net, 64);
  int x = is50 ? net_conv(net, "backbone.conv1", input, stem, 7, 2, 3) : net_conv(net, "backbone.conv1", input, stem, 3, 1, 1);
  x = net_relu(net, net_bn(net, "backbone.bn1", x));
  if (is50) x = net_maxpool(net, x, 3, 2, 1);
  if (net->backbone.kind == SCAN_BACKBONE_RESNET18_STL) x = net_maxpool(net, x, 2, 2, 1);
  for (int layer = 0; layer < 4; layer++) {
    int width = net_scale_width(net, 64 << layer);
    for (int b = 0; b < blocks[layer]; b++) {
      char prefix[64];
      snprintf(prefix, sizeof prefix, "backbone.layer%d.%d", layer + 1, b);
      int stride = (layer > 0 && b == 0) ? 2 : 1;
      x = is50 ? bottleneck(net, prefix, x, width, stride) : basic_block(net, prefix, x, width, stride);
    }
    char stage[16];
    snprintf(stage, sizeof stage, "layer%d", layer + 1);
    net_mark_stage(net, stage, x);
  }
  return x;
}
