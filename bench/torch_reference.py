#!/usr/bin/env python3
"""PyTorch yardstick for `npm run bench:nn` (docs/protocols.md, "Benchmarks: how figures are taken").

The GPT model of bench/nn.js written in plain PyTorch, with the same two shapes, so that the
project's training step and PyTorch's can be timed on the same machine in the same run and compared
as a ratio. It is not part of the library and is only run by bench/nn.js (or by hand).

Needs PyTorch with a BLAS; on Debian:  apt-get install -y python3-torch libopenblas0-pthread
Usage:  /usr/bin/python3 bench/torch_reference.py [dpt-bandit|ad-darkroom|all] [threads (2)]
Output: one JSON line per shape:
        {"config", "tokens_per_s", "ms_per_step", "threads", "torch"}
Timing: 2 untimed warm-up steps, then the median of 6 timed steps (bench/nn.js counts on these
8 steps when it turns the process's CPU time into a per-step figure).
"""
import json
import math
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

# Same shapes as CONFIGS in bench/nn.js. Inputs are 8 features per token and the head predicts
# one of 5 actions, as in the dpt-bandit and ad-darkroom training configs.
SHAPES = {
    # DPT, 5-armed bandits: 4 layers, width 32, 1 head; 500 context pulls + the start token.
    "dpt-bandit": {"layers": 4, "width": 32, "heads": 1, "tokens": 501, "batch": 64},
    # AD on Dark Room (dense T2MIR-AD backbone): 4 layers, width 64, 8 heads; 4 episodes x 100 steps.
    "ad-darkroom": {"layers": 4, "width": 64, "heads": 8, "tokens": 400, "batch": 128},
}
IN_FEATURES = 8
N_ACTIONS = 5
WARMUP_STEPS = 2
TIMED_STEPS = 6


class CausalSelfAttention(nn.Module):
    """Multi-head causal attention that materialises the scores (batch x heads x T x T)."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x, future):
        b, t, w = x.shape
        hd = w // self.heads
        q, k, v = self.qkv(x).split(w, dim=-1)
        # [b, t, w] -> [b, heads, t, hd]
        q, k, v = (z.reshape(b, t, self.heads, hd).transpose(1, 2) for z in (q, k, v))
        scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        scores = scores.masked_fill(future[:t, :t], float("-inf"))
        y = torch.matmul(torch.softmax(scores, dim=-1), v)
        return self.out(y.transpose(1, 2).reshape(b, t, w))


class Block(nn.Module):
    """Pre-norm transformer block: attention and a 4x GELU MLP, each on a residual path."""

    def __init__(self, width, heads):
        super().__init__()
        self.norm_attn = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads)
        self.norm_mlp = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x, future):
        x = x + self.attn(self.norm_attn(x), future)
        return x + self.mlp(self.norm_mlp(x))


class GPT(nn.Module):
    """Linear token embedding + learned positions -> blocks -> final layer norm -> linear head."""

    def __init__(self, shape):
        super().__init__()
        width, tokens = shape["width"], shape["tokens"]
        self.embed = nn.Linear(IN_FEATURES, width)
        self.positions = nn.Parameter(torch.zeros(tokens, width))
        self.blocks = nn.ModuleList([Block(width, shape["heads"]) for _ in range(shape["layers"])])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, N_ACTIONS)
        # True above the diagonal: the positions a token may not attend to.
        self.register_buffer("future", torch.ones(tokens, tokens, dtype=torch.bool).triu(1))

    def forward(self, x):
        h = self.embed(x) + self.positions[: x.shape[1]]
        for block in self.blocks:
            h = block(h, self.future)
        return self.head(self.norm(h))


def measure(name, threads):
    """Times full training steps (forward, backward, AdamW) of one shape; returns its JSON figure."""
    shape = SHAPES[name]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GPT(shape)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
    inputs = torch.randn(shape["batch"], shape["tokens"], IN_FEATURES)
    targets = torch.randint(0, N_ACTIONS, (shape["batch"] * shape["tokens"],))

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        logits = model(inputs).reshape(-1, N_ACTIONS)
        F.cross_entropy(logits, targets).backward()
        optimizer.step()

    for _ in range(WARMUP_STEPS):
        train_step()
    seconds = []
    for _ in range(TIMED_STEPS):
        start = time.perf_counter()
        train_step()
        seconds.append(time.perf_counter() - start)
    step_s = sorted(seconds)[len(seconds) // 2]  # the upper median, as bench/nn.js takes its own
    tokens = shape["batch"] * shape["tokens"]
    return {
        "config": name,
        "tokens_per_s": round(tokens / step_s),
        "ms_per_step": round(step_s * 1000, 1),
        "threads": threads,
        "torch": torch.__version__,
    }


def main(argv):
    which = argv[1] if len(argv) > 1 else "all"
    threads = int(argv[2]) if len(argv) > 2 else 2
    names = list(SHAPES) if which == "all" else [which]
    for name in names:
        if name not in SHAPES:
            sys.exit(f"torch_reference.py: unknown config {name!r}; known: {', '.join(SHAPES)}, all")
        print(json.dumps(measure(name, threads)), flush=True)


if __name__ == "__main__":
    main(sys.argv)
