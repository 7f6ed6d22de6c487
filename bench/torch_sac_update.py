#!/usr/bin/env python3
"""PyTorch baseline for `npm run bench:rl`: learner-updates per second of N independent SAC learners
trained at once, in the fastest plain-PyTorch form for many small networks: weights stacked along a
leading learner axis ([N, in, out]) and every layer one torch.baddbmm. Shapes and update follow
CleanRL's sac_continuous_action.py: MLPs 256 x 256 with ReLU, batch 256, twin Q networks with target
copies, tanh-squashed Gaussian actor (log-std squashed into [-5, 2]), learned entropy coefficient,
tau 0.005, Adam (actor 3e-4, critics and entropy 1e-3). The replay data are random: the throughput
does not depend on them. One learner-update = critic step + actor step + entropy step + Polyak update.

Install (Debian): apt-get install python3-torch libopenblas0-pthread
Run:  /usr/bin/python3 bench/torch_sac_update.py [--threads 2] [--obs 17] [--act 6] [--learners 1,16] [--seconds 20]
Prints one JSON line per learner count."""
import argparse
import json
import math
import resource
import statistics
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--obs", type=int, default=17)
p.add_argument("--act", type=int, default=6)
p.add_argument("--hidden", type=int, default=256)
p.add_argument("--batch", type=int, default=256)
p.add_argument("--learners", default="1,16")
p.add_argument("--seconds", type=float, default=20.0)
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
H, B, OBS, ACT = args.hidden, args.batch, args.obs, args.act


class StackedLinear(torch.nn.Module):
    """n independent linear layers: [n, B, fan_in] -> [n, B, fan_out], nn.Linear's default init."""

    def __init__(self, n, fan_in, fan_out):
        super().__init__()
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = torch.nn.Parameter(torch.empty(n, fan_in, fan_out).uniform_(-bound, bound))
        self.bias = torch.nn.Parameter(torch.empty(n, 1, fan_out).uniform_(-bound, bound))

    def forward(self, x):
        return torch.baddbmm(self.bias, x, self.weight)


def mlp(n, fan_in, fan_out):
    return torch.nn.Sequential(StackedLinear(n, fan_in, H), torch.nn.ReLU(), StackedLinear(n, H, H), torch.nn.ReLU(), StackedLinear(n, H, fan_out))


def run(n):
    q1, q2 = mlp(n, OBS + ACT, 1), mlp(n, OBS + ACT, 1)
    q1_t, q2_t = mlp(n, OBS + ACT, 1), mlp(n, OBS + ACT, 1)
    q1_t.load_state_dict(q1.state_dict())
    q2_t.load_state_dict(q2.state_dict())
    actor = mlp(n, OBS, 2 * ACT)
    log_alpha = torch.zeros(n, 1, 1, requires_grad=True)
    q_opt = torch.optim.Adam(list(q1.parameters()) + list(q2.parameters()), lr=1e-3)
    actor_opt = torch.optim.Adam(actor.parameters(), lr=3e-4)
    alpha_opt = torch.optim.Adam([log_alpha], lr=1e-3)
    target_entropy = -float(ACT)
    log_std_min, log_std_max = -5.0, 2.0

    def policy(obs):
        mean, raw = actor(obs).chunk(2, -1)
        log_std = log_std_min + 0.5 * (log_std_max - log_std_min) * (torch.tanh(raw) + 1)
        eps = torch.randn_like(mean)
        a = torch.tanh(mean + log_std.exp() * eps)
        logp = (-0.5 * eps.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1, keepdim=True)
        logp = logp - torch.log(1 - a.pow(2) + 1e-6).sum(-1, keepdim=True)
        return a, logp

    obs, nxt = torch.randn(n, B, OBS), torch.randn(n, B, OBS)
    act = torch.rand(n, B, ACT) * 2 - 1
    rew, done = torch.randn(n, B, 1), torch.zeros(n, B, 1)

    def update():
        with torch.no_grad():
            a2, lp2 = policy(nxt)
            x2 = torch.cat([nxt, a2], -1)
            target = rew + 0.99 * (1 - done) * (torch.min(q1_t(x2), q2_t(x2)) - log_alpha.exp() * lp2)
        x = torch.cat([obs, act], -1)
        q_loss = ((q1(x) - target) ** 2).mean() + ((q2(x) - target) ** 2).mean()
        q_opt.zero_grad()
        q_loss.backward()
        q_opt.step()
        a, lp = policy(obs)
        xa = torch.cat([obs, a], -1)
        actor_loss = (log_alpha.exp().detach() * lp - torch.min(q1(xa), q2(xa))).mean()
        actor_opt.zero_grad()
        actor_loss.backward()
        actor_opt.step()
        alpha_loss = (-log_alpha.exp() * (lp.detach() + target_entropy)).mean()
        alpha_opt.zero_grad()
        alpha_loss.backward()
        alpha_opt.step()
        with torch.no_grad():
            for net, tgt in ((q1, q1_t), (q2, q2_t)):
                for w, wt in zip(net.parameters(), tgt.parameters()):
                    wt.mul_(0.995).add_(w, alpha=0.005)

    for _ in range(3):
        update()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    count = 0
    times = []
    while time.perf_counter() - t0 < args.seconds:
        u0 = time.perf_counter()
        update()
        times.append(time.perf_counter() - u0)
        count += 1
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {
        "bench": "torch_sac_update",
        "torch": torch.__version__,
        "threads": args.threads,
        "learners": n,
        "obs": OBS,
        "act": ACT,
        "hidden": H,
        "batch": B,
        "updates": count,
        "seconds": round(dt, 3),
        "learner_updates_per_s": round(n * count / dt, 2),
        "median_learner_updates_per_s": round(n / statistics.median(times), 2),
        "cpu_ms_per_learner_update": round(1000 * cpu / (n * count), 2),
    }


for n in [int(v) for v in args.learners.split(",")]:
    print(json.dumps(run(n)), flush=True)
