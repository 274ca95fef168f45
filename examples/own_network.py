"""Your own network, your own training loop, to a clip.

A 2-D, three-class data set, an ``nn.Sequential`` with hidden layers wider than the input (100 and 50), trained
by a plain PyTorch loop; geomdl records a snapshot every few steps and renders the ``training`` clip.

Run:  python examples/own_network.py [--out media] [--steps 300] [--quality m] [--renderer auto]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch import nn

from geomdl.io.recorder import Recorder
from scenes.render import render


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="media")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--n", type=int, default=100, help="points per class")
    ap.add_argument("--quality", default="m")
    ap.add_argument("--renderer", default="auto")
    ap.add_argument("--duration", type=float, default=8.0)
    args = ap.parse_args()

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 1.7]])
    X = np.concatenate([c + 0.35 * rng.standard_normal((args.n, 2)) for c in centres]).astype(np.float32)
    y = np.repeat(np.arange(3), args.n)

    model = nn.Sequential(nn.Linear(2, 100), nn.ReLU(), nn.Linear(100, 50), nn.ReLU(), nn.Linear(50, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = Recorder.from_module(model, X, y)               # checks the layers and the data

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for step in range(args.steps + 1):
        loss = nn.functional.cross_entropy(model(Xt), yt)
        if step % 10 == 0:
            rec.snapshot(step, loss.item())                # the geometry of every layer, now
        opt.zero_grad()
        loss.backward()
        opt.step()

    trace = rec.save(f"{args.out}/traces/own_network.npz", title="2-D blobs, widths 100-50",
                     notes="cross-entropy, SGD lr 0.1")
    for f in render(trace, scene="training", out=args.out, quality=args.quality, renderer=args.renderer,
                    duration=args.duration):
        print(f)


if __name__ == "__main__":
    main()
