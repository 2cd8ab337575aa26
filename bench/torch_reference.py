#!/usr/bin/env python3
"""PyTorch yardstick for `cxr-align bench` (not part of the product).

The same network as the engine's AlignmentModel — torchvision's ResNet18
topology (written out here: torchvision is not needed), FC 512->256 -> ReLU ->
FC 256->5, bounded head, grayscale input tiled to RGB and ImageNet-normalised —
plus the same training step: affine_grid + grid_sample (bilinear, zeros,
align_corners=False) of a 2x source into the loss frame, 1 - windowed NCC
(9x9 box sums), backward, AdamW. Timed on the CPU with torch.set_num_threads.

Inference = the network on a batch of L x L inputs + affine_grid/grid_sample of
each film (given at twice the output frame) into the output frame, as
`cxr-align align` does per batch. Training = one optimisation step on a batch,
the loss computed in the training frame from sources at twice that frame.

Prints one JSON object per --case on stdout:
  {"loc": L, "out": [W, H], "train_frame": [W, H], "batch": B, "threads": T,
   "infer_ms_per_image": ..., "train_ms_per_step": ..., "train_ms_per_image": ...,
   "peak_rss_mb": ..., "torch": "1.13.0"}

Usage: /usr/bin/python3 bench/torch_reference.py --case 128:256x320:128x160 --case 320:256x320:256x320
       [--batch 8] [--runs 5] [--warmup 2] [--threads 2] [--skip-train]
"""
import argparse
import json
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + identity)


class ResNet18Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers = []
        cin = 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = layers

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return x.mean((2, 3))


class Stn(nn.Module):
    MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def __init__(self):
        super().__init__()
        self.encoder = ResNet18Encoder()
        self.fc1 = nn.Linear(512, 256)
        self.fc2 = nn.Linear(256, 5)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def params(self, gray):
        x = (gray.expand(-1, 3, -1, -1) - self.MEAN) / self.STD
        z = self.fc2(F.relu(self.fc1(self.encoder(x))))
        lo, hi, t, r = 0.5, 1.5, 0.5, math.pi / 6
        z0 = math.log((1 - lo) / (hi - 1))
        s = lambda k: torch.sigmoid(z[:, k:k + 1] + z0) * (hi - lo) + lo
        return torch.cat([torch.tanh(z[:, 0:1]) * t, torch.tanh(z[:, 1:2]) * t, s(2), s(3), torch.tanh(z[:, 4:5]) * r], 1)


def theta_of(p):
    tx, ty, sx, sy, th = p.unbind(1)
    c, s = torch.cos(th), torch.sin(th)
    return torch.stack([sx * c, -sy * s, tx, sx * s, sy * c, ty], 1).view(-1, 2, 3)


def box_sum(x, k):
    return F.conv2d(F.conv2d(x, torch.ones(1, 1, 1, k)), torch.ones(1, 1, k, 1))


def local_ncc(w, t, k=9, eps=1e-4):
    n = k * k
    t = t.expand_as(w)
    si, sj = box_sum(w, k), box_sum(t, k)
    sii, sjj, sij = box_sum(w * w, k), box_sum(t * t, k), box_sum(w * t, k)
    cross = sij - si * sj / n
    vi = F.relu(sii - si * si / n)
    vj = F.relu(sjj - sj * sj / n)
    return 1 - (cross / torch.sqrt(vi * vj + eps * n * n)).mean()


def median_ms(f, runs, warmup):
    for _ in range(warmup):
        f()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ts)


def bench(loc, out_frame, frame, batch, runs, warmup, skip_train):
    torch.manual_seed(0)
    model = Stn()
    fw, fh = frame
    ow, oh = out_frame
    out = {"loc": loc, "out": [ow, oh], "train_frame": [fw, fh], "batch": batch,
           "threads": torch.get_num_threads(), "torch": torch.__version__}

    model.eval()
    x = torch.rand(batch, 1, loc, loc)
    films = torch.rand(batch, 1, 2 * oh, 2 * ow)

    def infer():
        grid = F.affine_grid(theta_of(model.params(x)), [batch, 1, oh, ow], align_corners=False)
        return F.grid_sample(films, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    with torch.no_grad():
        out["infer_ms_per_image"] = median_ms(infer, runs, warmup) / batch

    if not skip_train:
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
        src = torch.rand(batch, 1, 2 * fh, 2 * fw)
        template = torch.rand(1, 1, fh, fw)

        def step():
            opt.zero_grad(set_to_none=True)
            grid = F.affine_grid(theta_of(model.params(x)), [batch, 1, fh, fw], align_corners=False)
            warped = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
            loss = local_ncc(warped, template)
            loss.backward()
            opt.step()
            return loss.item()

        ms = median_ms(step, runs, warmup)
        out["train_ms_per_step"] = ms
        out["train_ms_per_image"] = ms / batch
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", action="append", default=[], help="LOC:OUTWxOUTH:TRAINWxTRAINH")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-train", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    size = lambda t: tuple(int(v) for v in t.lower().split("x"))
    for spec in a.case or ["128:256x320:128x160"]:
        loc, out_frame, frame = spec.split(":")
        print(json.dumps(bench(int(loc), size(out_frame), size(frame), a.batch, a.runs, a.warmup, a.skip_train)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
