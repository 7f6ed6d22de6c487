#!/usr/bin/env node
// Training throughput of the neural engine on the two benchmark configs of docs/protocols.md
// ("Benchmarks: how figures are taken"), GFLOP/s of its main kernels, and the PyTorch reference
// (bench/torch_reference.py, the same model and shapes) measured in the same run for a ratio.
// One JSON line per figure on stdout; progress on stderr.
//
//   npm run bench:nn [-- --configs dpt-bandit,ad-darkroom] [--steps N] [--torch-ref PATH]
//                       [--python PATH] [--no-torch] [--no-train] [--no-kernels] [--profile]
//                       [--kernels wasm|reference]
//
// The reference script is found with --torch-ref, else $ICRL_TORCH_REF, else this project's
// bench/torch_reference.py. It runs with 2 threads under --python / $ICRL_PYTHON / /usr/bin/python3
// (Debian's python3-torch). The project's own figures
// come from dist/ (run `npm run build` first).
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cliArgs } from './args.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { opt, flag } = cliArgs();
if (flag('help')) {
  process.stdout.write(`usage: node bench/nn.js [--configs dpt-bandit,ad-darkroom] [--steps N] [--torch-ref PATH] [--python PATH] [--no-torch] [--no-train] [--no-kernels] [--profile] [--kernels wasm|reference]\n`);
  process.exit(0);
}

if (!existsSync(resolve(root, 'dist/nn/index.js'))) {
  process.stderr.write('bench:nn: dist/nn/index.js missing; run `npm run build` first\n');
  process.exit(2);
}
if (opt('kernels')) process.env.ICRL_NN_KERNELS = opt('kernels');
const nn = await import(resolve(root, 'dist/nn/index.js'));
const { Rng } = await import(resolve(root, 'dist/core/rng.js'));
const { wasmThreads } = await import(resolve(root, 'dist/nn/kernels/wasm.js'));

// --profile: wall time per kernel (main thread, including its wait for the worker)
const profile = new Map();
if (flag('profile')) {
  const k = nn.kernels();
  for (const [name, fn] of Object.entries(k)) {
    if (typeof fn !== 'function') continue;
    k[name] = (...a) => {
      const t = performance.now();
      const r = fn(...a);
      profile.set(name, (profile.get(name) ?? 0) + performance.now() - t);
      return r;
    };
  }
  process.on('exit', () => {
    for (const [name, ms] of [...profile.entries()].sort((a, b) => b[1] - a[1])) log(`profile ${name}: ${ms.toFixed(0)} ms`);
  });
}

const CONFIGS = {
  'dpt-bandit': { nLayers: 4, dModel: 32, nHeads: 1, maxLen: 501, batch: 64, inDim: 8, nOut: 5 },
  'ad-darkroom': { nLayers: 4, dModel: 64, nHeads: 8, maxLen: 400, batch: 128, inDim: 8, nOut: 5 },
};
const configs = opt('configs', Object.keys(CONFIGS).join(',')).split(',');
const kernelsName = nn.kernels().name;
const threads = kernelsName === 'wasm' ? wasmThreads() : 1;
const emit = (o) => process.stdout.write(JSON.stringify({ bench: 'nn', ...o }) + '\n');
const log = (s) => process.stderr.write(`# ${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const torchRef = opt('torch-ref', process.env.ICRL_TORCH_REF ?? resolve(root, 'bench/torch_reference.py'));
const python = opt('python', process.env.ICRL_PYTHON ?? '/usr/bin/python3');

/** Runs the PyTorch reference for one config; returns its JSON line or { error }. */
function torchFigure(name) {
  if (flag('no-torch')) return { error: 'skipped (--no-torch)' };
  if (!existsSync(torchRef)) return { error: `reference script not found at ${torchRef} (set --torch-ref or ICRL_TORCH_REF)` };
  if (!existsSync(python)) return { error: `python not found at ${python} (set --python or ICRL_PYTHON)` };
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { error: `torch is not importable by ${python}: ${(probe.stderr || '').trim().split('\n').pop()}` };
  log(`torch reference ${name} (2 threads)`);
  // bash's `times` reports the CPU time of the reference process (user, system) after it exits
  const r = spawnSync('bash', ['-c', '"$0" "$@"; rc=$?; times; exit $rc', python, torchRef, name, '2'], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '2' } });
  if (r.status !== 0) return { error: `reference failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').pop()}` };
  const lines = r.stdout.trim().split('\n');
  const line = lines.find((l) => l.startsWith('{'));
  let fig;
  try {
    fig = JSON.parse(line);
  } catch {
    return { error: `unparsable reference output: ${r.stdout.slice(0, 200)}` };
  }
  const secs = (t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  };
  const child = lines[lines.length - 1].trim().split(/\s+/).map(secs);
  if (child.length === 2 && child.every(Number.isFinite)) fig.cpu_s_total = +(child[0] + child[1]).toFixed(1);
  return fig;
}

/** Median time of a full training step (forward, backward, AdamW) of the GPT model of a config. */
function trainFigure(name) {
  const c = CONFIGS[name];
  const model = new nn.GPT(c, new Rng(0));
  const opt2 = new nn.AdamW(nn.paramGroups(model, 1e-4), { lr: 1e-4 });
  const rng = new Rng(1);
  const T = c.maxLen;
  const x = nn.keep(nn.zeros([c.batch, T, c.inDim]));
  rng.fillNormal(x.data);
  const y = new Int32Array(c.batch * T);
  rng.fillInt(y, c.nOut);
  const step = () =>
    nn.tidy(() => {
      opt2.zeroGrad();
      const loss = nn.crossEntropy(model.forward(x), y);
      loss.backward();
      opt2.update();
      return loss.item();
    });
  const steps = Number(opt('steps', name === 'ad-darkroom' ? 5 : 7));
  log(`${name}: ${model.parameterCount()} parameters, ${c.batch} x ${T} tokens per step, ${steps} timed steps after 1 warm-up`);
  step();
  const times = [];
  const cpu = [];
  let loss = 0;
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    loss = step();
    times.push(performance.now() - t0);
    const c1 = process.cpuUsage(c0);
    cpu.push((c1.user + c1.system) / 1000);
    log(`${name} step ${i + 1}/${steps}: ${times[i].toFixed(0)} ms wall, ${cpu[i].toFixed(0)} ms CPU (all threads)`);
  }
  const ms = median(times);
  const mem = nn.memoryStats();
  return { ms, tokensPerS: (c.batch * T) / (ms / 1000), loss, peakMiB: mem.peakBytes / 2 ** 20, times, cpuMs: median(cpu) };
}

/** median wall ms of fn, and its mean CPU ms (all threads of this process) */
function timeIt(fn, minMs = 300) {
  fn();
  const times = [];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < minMs || times.length < 3) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  const c = process.cpuUsage(c0);
  return { ms: median(times), cpuMs: (c.user + c.system) / 1000 / times.length };
}

function kernelFigures() {
  const k = nn.kernels();
  const rng = new Rng(2);
  const buf = (n) => {
    const t = nn.keep(nn.zeros([n]));
    rng.fillNormal(t.data);
    return t.data;
  };
  const gemms = [
    ['matmul 512x512x512', false, false, 512, 512, 512],
    ['linear fwd ad-darkroom qkv (51200x64 · 64x192)', false, false, 51200, 192, 64],
    ['linear grad-input ad-darkroom mlp out (51200x64 · (256x64)ᵀ)', false, true, 51200, 256, 64],
    ['linear grad-weight ad-darkroom fc (51200x64)ᵀ · 51200x256', true, false, 64, 256, 51200],
    ['linear fwd dpt-bandit qkv (32064x32 · 32x96)', false, false, 32064, 96, 32],
  ];
  for (const [label, transA, transB, M, N, K] of gemms) {
    const a = buf(M * K);
    const b = buf(K * N);
    const c = buf(M * N);
    const { ms, cpuMs } = timeIt(() => k.gemm({ transA, transB, M, N, K, a, b, c, accumulate: false, batch: 1, strideA: 0, strideB: 0, strideC: 0 }));
    const flops = 2 * M * N * K;
    emit({ figure: 'kernel_gflops', kernel: 'matmul', shape: label, M, N, K, transA, transB, ms: +ms.toFixed(3), gflops: +(flops / ms / 1e6).toFixed(2), gflops_per_cpu_s: +(flops / cpuMs / 1e6).toFixed(2), kernels: k.name, threads });
  }
  for (const [name, B, H, hd, T] of [
    ['ad-darkroom', 128, 8, 8, 400],
    ['dpt-bandit', 64, 1, 32, 501],
  ]) {
    const d = H * hd;
    const op = (arr, col, rs) => ({ arr: arr.subarray(col), rowStride: rs, batchStride: T * rs });
    const qkv = buf(B * T * 3 * d);
    const out = buf(B * T * d);
    const lse = buf(B * H * T);
    const args = { B, H, hd, Tq: T, Tk: T, qOffset: 0, scale: 1 / Math.sqrt(hd), q: op(qkv, 0, 3 * d), k: op(qkv, d, 3 * d), v: op(qkv, 2 * d, 3 * d), out: op(out, 0, d), lse };
    // useful flops of causal attention: QKᵀ and PV over the lower triangle (T(T+1)/2 pairs)
    const pairs = (B * H * T * (T + 1)) / 2;
    const fwdFlops = 4 * pairs * hd;
    const f = timeIt(() => k.attentionForward(args));
    emit({ figure: 'kernel_gflops', kernel: 'attention_forward', shape: `${name} B=${B} H=${H} hd=${hd} T=${T}`, ms: +f.ms.toFixed(2), gflops: +(fwdFlops / f.ms / 1e6).toFixed(2), gflops_per_cpu_s: +(fwdFlops / f.cpuMs / 1e6).toFixed(2), kernels: k.name, threads });
    const g = { dout: op(buf(B * T * d), 0, d), dq: op(buf(B * T * 3 * d), 0, 3 * d), dk: op(buf(B * T * 3 * d), d, 3 * d), dv: op(buf(B * T * 3 * d), 2 * d, 3 * d) };
    // backward: recompute QKᵀ, then dV, dP, dQ, dK (5 products over the triangle)
    const bw = timeIt(() => k.attentionBackward({ ...args, ...g }));
    const bwdFlops = 10 * pairs * hd;
    emit({ figure: 'kernel_gflops', kernel: 'attention_backward', shape: `${name} B=${B} H=${H} hd=${hd} T=${T}`, ms: +bw.ms.toFixed(2), gflops: +(bwdFlops / bw.ms / 1e6).toFixed(2), gflops_per_cpu_s: +(bwdFlops / bw.cpuMs / 1e6).toFixed(2), kernels: k.name, threads });
  }
}

for (const name of flag('no-train') ? [] : configs) {
  if (!CONFIGS[name]) {
    process.stderr.write(`bench:nn: unknown config "${name}"; known: ${Object.keys(CONFIGS).join(', ')}\n`);
    process.exit(2);
  }
  const ours = trainFigure(name);
  const torch = torchFigure(name);
  const line = {
    figure: 'train_step',
    config: name,
    tokens_per_s: Math.round(ours.tokensPerS),
    ms_per_step: +ours.ms.toFixed(1),
    step_ms: ours.times.map((t) => Math.round(t)),
    cpu_ms_per_step: Math.round(ours.cpuMs),
    kernels: kernelsName,
    threads,
    peak_mib: Math.round(ours.peakMiB),
    loss: +ours.loss.toFixed(4),
  };
  if (torch.error) Object.assign(line, { torch_tokens_per_s: null, torch_error: torch.error, ratio_vs_torch: null });
  else
    Object.assign(line, {
      torch_tokens_per_s: torch.tokens_per_s,
      torch_ms_per_step: torch.ms_per_step,
      torch_version: torch.torch,
      ratio_vs_torch: +(ours.tokensPerS / torch.tokens_per_s).toFixed(2),
      // CPU time is less sensitive than wall time to other load on a shared machine. The reference's
      // is its whole process (import, set-up, 2 warm-up + 6 timed steps) over 8 steps: an upper bound.
      torch_cpu_ms_per_step_upper: torch.cpu_s_total !== undefined ? Math.round((torch.cpu_s_total * 1000) / 8) : null,
      cpu_ratio_vs_torch_lower: torch.cpu_s_total !== undefined ? +((torch.cpu_s_total * 1000) / 8 / ours.cpuMs).toFixed(2) : null,
    });
  emit(line);
}
if (!flag('no-kernels')) kernelFigures();
