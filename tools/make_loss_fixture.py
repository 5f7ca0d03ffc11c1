#!/usr/bin/env python3
"""Writes tests/data/losses.safetensors: inputs, values and gradients of the three training losses
computed the way the reference (wvangansbeke/Unsupervised-Classification, losses/losses.py and
utils/evaluate_utils.py) computes them, for tests/test_train_losses.c.

The loss classes below restate the reference's formulas (SimCLRLoss with its SupCon-style masks,
SCANLoss with BCE + entropy, ConfidenceBasedCE with class balancing, scan_evaluate) with the .cuda()
calls left out. Inputs are stored as float32; the losses are evaluated in float64 on those exact
float32 values so the C side can be checked tightly. Run: /usr/bin/python3 tools/make_loss_fixture.py
"""
import os

import torch
import torch.nn.functional as F

import fixture_common

EPS = 1e-8


def entropy(x, input_as_probabilities):
    if input_as_probabilities:
        x_ = torch.clamp(x, min=EPS)
        b = x_ * torch.log(x_)
    else:
        b = F.softmax(x, dim=1) * F.log_softmax(x, dim=1)
    if len(b.size()) == 2:
        return -b.sum(dim=1).mean()
    return -b.sum()


def simclr_loss(features, temperature):
    """features [b, 2, d]; the reference's SimCLRLoss.forward."""
    b, n, dim = features.size()
    assert n == 2
    mask = torch.eye(b, dtype=features.dtype)
    contrast_features = torch.cat(torch.unbind(features, dim=1), dim=0)
    anchor = features[:, 0]
    dot_product = torch.matmul(anchor, contrast_features.T) / temperature
    logits_max, _ = torch.max(dot_product, dim=1, keepdim=True)
    logits = dot_product - logits_max.detach()
    mask = mask.repeat(1, 2)
    logits_mask = torch.scatter(torch.ones_like(mask), 1, torch.arange(b).view(-1, 1), 0)
    mask = mask * logits_mask
    exp_logits = torch.exp(logits) * logits_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    return -((mask * log_prob).sum(1) / mask.sum(1)).mean()


def scan_loss(anchors, neighbors, entropy_weight):
    """The reference's SCANLoss.forward: (total, consistency, entropy)."""
    b, n = anchors.size()
    anchors_prob = F.softmax(anchors, dim=1)
    positives_prob = F.softmax(neighbors, dim=1)
    similarity = torch.bmm(anchors_prob.view(b, 1, n), positives_prob.view(b, n, 1)).squeeze()
    consistency_loss = F.binary_cross_entropy(similarity, torch.ones_like(similarity))
    entropy_loss = entropy(torch.mean(anchors_prob, 0), input_as_probabilities=True)
    return consistency_loss - entropy_weight * entropy_loss, consistency_loss, entropy_loss


def confidence_based_ce(anchors_weak, anchors_strong, threshold, apply_class_balancing):
    """The reference's ConfidenceBasedCE.forward; `threshold` may also be a per-class tensor
    (our adaptive mode: the mask compares each sample with its target's threshold)."""
    weak_anchors_prob = F.softmax(anchors_weak, dim=1)
    max_prob, target = torch.max(weak_anchors_prob, dim=1)
    if torch.is_tensor(threshold):
        mask = max_prob > threshold[target]
    else:
        mask = max_prob > threshold
    b, c = weak_anchors_prob.size()
    target_masked = torch.masked_select(target, mask.squeeze())
    n = target_masked.size(0)
    if apply_class_balancing:
        idx, counts = torch.unique(target_masked, return_counts=True)
        freq = 1 / (counts.to(anchors_strong.dtype) / n)
        weight = torch.ones(c, dtype=anchors_strong.dtype)
        weight[idx] = freq
    else:
        weight = None
    # MaskedCrossEntropyLoss
    if not (mask != 0).any():
        raise ValueError("Mask in MaskedCrossEntropyLoss is all zeros.")
    target_sel = torch.masked_select(target, mask)
    input_sel = torch.masked_select(anchors_strong, mask.view(b, 1)).view(n, c)
    loss = F.cross_entropy(input_sel, target_sel, weight=weight, reduction="mean")
    return loss, torch.where(mask, target, torch.full_like(target, -1))


def scan_evaluate(probs, neighbors):
    """The reference's scan_evaluate for one head: (entropy, consistency, total)."""
    anchors = torch.arange(neighbors.size(0)).view(-1, 1).expand_as(neighbors)
    entropy_loss = entropy(torch.mean(probs, dim=0), input_as_probabilities=True).item()
    similarity = torch.matmul(probs, probs.t())
    similarity = similarity[anchors.contiguous().view(-1), neighbors.contiguous().view(-1)]
    consistency_loss = F.binary_cross_entropy(similarity, torch.ones_like(similarity)).item()
    return entropy_loss, consistency_loss, consistency_loss - entropy_loss


def f32(t):
    """Round to float32 (what the C side reads) and continue in float64 with gradients."""
    return t.to(torch.float32).to(torch.float64).requires_grad_(True)


def main():
    torch.manual_seed(20240611)
    out = {}

    # --- SimCLR: b = 8 pairs, d = 16, unit vectors, temperature 0.1 (shipped configs) ---
    b, d = 8, 16
    z = F.normalize(torch.randn(b, 2, d, dtype=torch.float64), dim=2)
    z1, z2 = f32(z[:, 0].clone()), f32(z[:, 1].clone())
    loss = simclr_loss(torch.stack([z1, z2], dim=1), 0.1)
    g1, g2 = torch.autograd.grad(loss, [z1, z2])
    out.update(simclr_z1=z1, simclr_z2=z2, simclr_loss=loss, simclr_dz1=g1, simclr_dz2=g2)
    # symmetric: the same loss with the views swapped is the view-2-anchor direction; average both
    loss_sym = 0.5 * (simclr_loss(torch.stack([z1, z2], dim=1), 0.1) + simclr_loss(torch.stack([z2, z1], dim=1), 0.1))
    g1, g2 = torch.autograd.grad(loss_sym, [z1, z2])
    out.update(simclr_sym_loss=loss_sym, simclr_sym_dz1=g1, simclr_sym_dz2=g2)

    # --- SCAN: b = 16, c = 10, entropy weight 5; and a case whose class 0 is below the 1e-8 clamp ---
    for name, shift in (("scan", 0.0), ("scan_clamp", -40.0)):
        a = torch.randn(16, 10, dtype=torch.float64) * 2.0
        nb = a + torch.randn(16, 10, dtype=torch.float64)
        a[:, 0] += shift
        nb[:, 0] += shift
        a, nb = f32(a), f32(nb)
        total, cons, ent = scan_loss(a, nb, 5.0)
        ga, gn = torch.autograd.grad(total, [a, nb])
        out.update({f"{name}_anchors": a, f"{name}_neighbors": nb, f"{name}_values": torch.stack([total, cons, ent]),
                    f"{name}_danchors": ga, f"{name}_dneighbors": gn})

    # --- self-label: b = 32, c = 6; about half the rows confident (> 0.99), classes imbalanced ---
    bs, cs = 32, 6
    weak = torch.randn(bs, cs, dtype=torch.float64)
    spikes = torch.randint(0, 3, (bs,))  # confident samples fall in classes 0..2 with unequal counts
    confident_rows = torch.rand(bs) < 0.5
    weak[confident_rows, spikes[confident_rows]] += 9.0
    weak[3, 1] += 4.0  # a sample just under the threshold
    strong = weak + torch.randn(bs, cs, dtype=torch.float64) * 1.5
    weak, strong = f32(weak), f32(strong)
    for name, balance in (("selflabel_bal", True), ("selflabel_plain", False)):
        loss, targets = confidence_based_ce(weak.detach(), strong, 0.99, balance)
        (g,) = torch.autograd.grad(loss, [strong])
        out.update({f"{name}_loss": loss, f"{name}_dstrong": g, f"{name}_targets": targets.to(torch.int32)})
    class_thresholds = torch.tensor([0.999, 0.9, 0.5, 0.95, 0.99, 0.99], dtype=torch.float32).to(torch.float64)
    loss, targets = confidence_based_ce(weak.detach(), strong, class_thresholds, True)
    (g,) = torch.autograd.grad(loss, [strong])
    out.update(selflabel_weak=weak, selflabel_strong=strong, selflabel_class_thresholds=class_thresholds,
               selflabel_adaptive_loss=loss, selflabel_adaptive_dstrong=g,
               selflabel_adaptive_targets=targets.to(torch.int32))

    # --- validation SCAN loss: n = 20, c = 5, rows of 4 neighbours with self first ---
    n, c, cols = 20, 5, 4
    probs = F.softmax(torch.randn(n, c, dtype=torch.float64) * 2.0, dim=1).to(torch.float32).to(torch.float64)
    neighbors = torch.randint(0, n, (n, cols))
    neighbors[:, 0] = torch.arange(n)
    ent, cons, total = scan_evaluate(probs, neighbors)
    out.update(eval_probs=probs, eval_neighbors=neighbors, eval_values=torch.tensor([total, cons, ent], dtype=torch.float64))

    # --- adaptive thresholds: per predicted class, the 0.3-quantile of max prob, floored at 0.4 ---
    probs = F.softmax(torch.randn(60, 5, dtype=torch.float64) * 3.0, dim=1).to(torch.float32)
    max_prob, predicted = probs.max(dim=1)
    thresholds = torch.full((5,), 0.4, dtype=torch.float64)
    for k in range(5):
        members = max_prob[predicted == k].to(torch.float64)
        if members.numel():
            thresholds[k] = max(0.4, torch.quantile(members, 0.3).item())
    out.update(adaptive_probs=probs.to(torch.float64), adaptive_thresholds=thresholds)

    inputs = {"simclr_z1", "simclr_z2", "scan_anchors", "scan_neighbors", "scan_clamp_anchors", "scan_clamp_neighbors",
              "selflabel_weak", "selflabel_strong", "selflabel_class_thresholds", "eval_probs", "adaptive_probs"}
    for name, t in out.items():
        if name.endswith("targets"):
            print(f"{name}: {int((t >= 0).sum())} confident of {t.numel()}")
    write_safetensors(os.path.join(os.path.dirname(__file__), "..", "tests", "data", "losses.safetensors"), out, inputs)


def write_safetensors(path, tensors, inputs):
    """The safetensors layout by hand (tools/fixture_common.py). `inputs` go out as F32 (what the C code consumes), values and gradients as F64, indices as I64/I32."""
    entries = []
    for name in sorted(tensors):
        t = tensors[name].detach()
        if t.is_floating_point():
            t = t.to(torch.float32 if name in inputs else torch.float64)
        dtype = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.int32: "I32"}[t.dtype]
        entries.append((name, dtype, t.shape, t.contiguous().numpy().tobytes()))
    offset = fixture_common.write_safetensors(path, entries)
    print(f"wrote {path}: {len(tensors)} tensors, {offset} data bytes")


if __name__ == "__main__":
    main()
