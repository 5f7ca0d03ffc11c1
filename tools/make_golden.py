#!/usr/bin/env python3
"""Writes tests/data/nn_golden.safetensors: PyTorch's forward outputs, gradients and optimiser steps for two small
networks shaped like ours, read by tests/test_nn_golden.c.

Networks (reference PyTorch parameter names, spec section 5):
  resnet: ResNet-18 (CIFAR variant) at width 1/16 + MLP contrastive head (features_dim 8), input [2, 3, 16, 16]
  vgg:    our VGG (stage widths 4, 8, 16; [conv3x3-BN-ReLU] x 2, max-pool 2 between stages, global average pool)
          + 2 cluster heads of 5 classes, input [3, 1, 12, 12]

Keys, for net in (resnet, vgg):
  <net>.input, <net>.r.<h>      input and the fixed random weights of the loss  sum_h sum(out_h * r_h)
  <net>.init.<param>            initial state dict (BN affine and running statistics randomised)
  <net>.eval.out.<h>, <net>.eval.features         eval-mode forward with the initial weights
  <net>.train.out.<h>, <net>.train.features       training-mode forward (batch statistics)
  <net>.grad.<param>            gradients of that loss (training mode)
  <net>.after_train.<buffer>    running statistics after that one training forward
  <net>.sgd.<param|buffer>      state after 3 SGD steps (lr 0.1, momentum 0.9, nesterov, wd 5e-4) from init
  <net>.adam.<param|buffer>     state after 3 Adam steps (lr 0.01, wd 1e-4) from init
num_batches_tracked is written as float32 here (the test compares numbers, not dtypes).
Run: python3 tools/make_golden.py   (writes the file; the tests never run Python)"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

import fixture_common

torch.manual_seed(0)
torch.set_num_threads(1)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNetCifar(nn.Module):
    def __init__(self, widths, cin=3):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        c = widths[0]
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(c, w, stride), BasicBlock(w, w, 1)))
            c = w
        self.dim = c

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for i in range(4):
            x = getattr(self, f"layer{i + 1}")(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


class Vgg(nn.Module):
    def __init__(self, widths, cin=1):
        super().__init__()
        layers, c = [], cin
        for s, w in enumerate(widths):
            for _ in range(2):
                layers += [nn.Conv2d(c, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
                c = w
            if s + 1 < len(widths):
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.dim = c

    def forward(self, x):
        return torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1)


class Contrastive(nn.Module):
    def __init__(self, backbone, features_dim):
        super().__init__()
        self.backbone = backbone
        d = backbone.dim
        self.contrastive_head = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, features_dim))

    def forward(self, x):
        f = self.backbone(x)
        return f, [F.normalize(self.contrastive_head(f), dim=1)]


class Clustering(nn.Module):
    def __init__(self, backbone, heads, classes):
        super().__init__()
        self.backbone = backbone
        self.cluster_head = nn.ModuleList([nn.Linear(backbone.dim, classes) for _ in range(heads)])

    def forward(self, x):
        f = self.backbone(x)
        return f, [h(f) for h in self.cluster_head]


def randomise_bn(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)


def state(model):
    return {k: v.detach().clone().float() for k, v in model.state_dict().items()}


def loss_of(outs, rs):
    return sum((o * r).sum() for o, r in zip(outs, rs))


def run(name, model, x, out):
    randomise_bn(model)
    init = state(model)
    model.eval()  # a training-mode probe would move the running statistics
    with torch.no_grad():
        _, probe = model(x)
    rs = [torch.randn_like(o) for o in probe]
    out[f"{name}.input"] = x
    for h, r in enumerate(rs):
        out[f"{name}.r.{h}"] = r
    for k, v in init.items():
        out[f"{name}.init.{k}"] = v

    model.eval()
    with torch.no_grad():
        f, outs = model(x)
    out[f"{name}.eval.features"] = f
    for h, o in enumerate(outs):
        out[f"{name}.eval.out.{h}"] = o

    model.train()
    model.zero_grad()
    f, outs = model(x)
    loss_of(outs, rs).backward()
    out[f"{name}.train.features"] = f.detach()
    for h, o in enumerate(outs):
        out[f"{name}.train.out.{h}"] = o.detach()
    for k, p in model.named_parameters():
        out[f"{name}.grad.{k}"] = p.grad.detach().clone()
    for k, v in model.state_dict().items():
        if "running" in k or "num_batches" in k:
            out[f"{name}.after_train.{k}"] = v.detach().clone().float()

    for tag, make in (("sgd", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)),
                      ("adam", lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=1e-4))):
        model.load_state_dict(init)
        opt = make(model.parameters())
        for _ in range(3):
            opt.zero_grad()
            _, outs = model(x)
            loss_of(outs, rs).backward()
            opt.step()
        for k, v in state(model).items():
            out[f"{name}.{tag}.{k}"] = v


def write_safetensors(path, tensors):
    entries = [(k, "F32", v.shape, v.detach().contiguous().float().numpy().tobytes()) for k, v in tensors.items()]
    fixture_common.write_safetensors(path, entries, {"generator": "tools/make_golden.py", "torch": torch.__version__})


def main():
    out = {}
    run("resnet", Contrastive(ResNetCifar([4, 8, 16, 32]), 8), torch.randn(32, 3, 16, 16), out)
    run("vgg", Clustering(Vgg([4, 8, 16]), 2, 5), torch.randn(32, 1, 12, 12), out)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "nn_golden.safetensors")
    write_safetensors(path, out)
    print(f"wrote {os.path.normpath(path)}: {len(out)} tensors, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
