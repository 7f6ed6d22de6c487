#!/usr/bin/env node
// The cost of long in-context horizons (docs/long-context.md): time and memory per in-context
// evaluation step and per training token at contexts of 512, 4k, 16k and 64k steps, for AD's
// transformer with a key/value cache (dense, and with a sliding window) and for the state-space
// backbone (S5-style), measured in one run on the same shapes.
//
// - Evaluation step: `rows` sequences decode one token each through the whole model
//   (model.forward with the cache), the cache or state holding context - 1 positions before the
//   step. The cache is filled with random keys / values (the state with random values): the cost
//   of a step depends on the shapes, not on the values, and filling a dense 64k cache by a real
//   prefill would cost minutes of quadratic attention. Median over --eval-reps steps, the contexts
//   of a variant measured in interleaved rounds (a change of load falls on all of them alike).
// - Training token: one training step (forward, cross-entropy, backward, AdamW) on one sequence of
//   `context` tokens, divided by its tokens; median over --train-reps steps after one warm-up.
//   The transformer is also measured at 2k (the reference of the SSM's goal at 16k).
// - Memory: bytes of the KV cache or recurrent state (evaluation); peak kernel memory held by
//   tensors during the step, above what was live before it (training).
// - Each point has its wall-clock `value` and its CPU time `cpu_value` (process CPU time, all
//   threads, same unit): on a shared, loaded machine the CPU time is what the work costs, the wall
//   time mostly what the scheduler granted. Slopes and goals are computed on both.
//
// A point whose projected time (from the previous point of its curve and the slope between the
// last two) exceeds --budget-s seconds for one measured step is not run; its line says so.
// Lines: one `point` per (variant, phase, context), then the fitted `slope` of each curve, then the
// `goal` lines (SSM per-step inference at 64k within 1.2x of 512; SSM training throughput at 16k >=
// the transformer's at 2k), each with `holds` computed from the points, and a `machine` line (load).
// --html FILE writes the charts (log-log curves) as a self-contained report page.
// Options: --contexts 512,4096,16384,65536 --layers 4 --dmodel 64 --heads 8 --rows 4 --window 512
//          --state-size 128 (2 x dmodel: the parameter count of an attention layer)
//          --eval-reps 30 --train-reps 3 --budget-s 150 --phases eval_step,train_token --html FILE
import { existsSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { cliArgs } from './args.js';

const root = new URL('..', import.meta.url);
if (!existsSync(new URL('dist/models/index.js', root))) {
  process.stderr.write('bench:context: the project is not built; run `npm run build` first\n');
  process.exit(1);
}
const { Rng } = await import(new URL('dist/core/rng.js', root).href);
const { makeBatchedEnv } = await import(new URL('dist/envs/index.js', root).href);
const { ADModel, envDims, ModelConfigSchema } = await import(new URL('dist/models/index.js', root).href);
const nn = await import(new URL('dist/nn/index.js', root).href);
const report = await import(new URL('dist/report/index.js', root).href);
const { writeFileAtomic } = await import(new URL('dist/core/atomic.js', root).href);

const args = cliArgs();
const contexts = args.opt('contexts', '512,4096,16384,65536').split(',').map(Number);
const layers = Number(args.opt('layers', '4'));
const dModel = Number(args.opt('dmodel', '64'));
const heads = Number(args.opt('heads', '8'));
const rows = Number(args.opt('rows', '4'));
const window = Number(args.opt('window', '512'));
const stateSize = Number(args.opt('state-size', String(2 * dModel)));
const evalReps = Number(args.opt('eval-reps', '30'));
const trainReps = Number(args.opt('train-reps', '3'));
const budget = Number(args.opt('budget-s', '150'));
const html = args.opt('html', null);
const phases = args.opt('phases', 'eval_step,train_token').split(',');
if (phases.some((p) => p !== 'eval_step' && p !== 'train_token')) throw new Error(`bench:context: --phases is a list of eval_step and train_token, got ${phases.join(',')}`);
for (const [k, v] of Object.entries({ layers, dModel, heads, rows, window, stateSize, evalReps, trainReps, budget }))
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`bench:context: --${k} must be a positive number, got ${v}`);
if (contexts.some((c) => !Number.isInteger(c) || c < 2)) throw new Error(`bench:context: --contexts must be integers >= 2, got ${contexts.join(',')}`);

const envOptions = { size: 10, horizon: 100 };
const dims = envDims(makeBatchedEnv('darkroom', 1, envOptions, new Rng(0)), envOptions);
const base = { kind: 'ad', layers, dModel, heads };
const VARIANTS = [
  { name: 'transformer-dense', model: { ...base } },
  { name: `transformer-window${window}`, model: { ...base, positions: 'none', attention: { window } } },
  { name: 'ssm', model: { ...base, backbone: 'ssm', ssm: { stateSize } } },
];
const TRAIN_EXTRA = { 'transformer-dense': [2048] };

const lines = [];
const emit = (o) => {
  lines.push(o);
  process.stdout.write(JSON.stringify(o) + '\n');
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function build(variant, contextLength) {
  const cfg = ModelConfigSchema.parse(variant.model);
  const model = new ADModel(cfg, dims, contextLength, new Rng(1));
  return model;
}

function randomTokens(rng, n, ts) {
  const x = new Float32Array(n * ts);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform() < 0.2 ? 1 : 0;
  return x;
}

/** a model and its cache or state holding L - 1 positions (random keys / values or state) */
function evalSetup(variant, L) {
  const model = build(variant, L);
  model.eval();
  const cache = model.backbone.createCache(rows, L);
  const rng = new Rng(2);
  const fill = (a) => rng.fillNormal(a, 0, 1);
  if (cache instanceof nn.KVCache) for (const l of cache.layers) { fill(l.k); fill(l.v); }
  else for (const l of cache.layers) fill(l);
  return { model, cache, L, tok: randomTokens(rng, rows, model.tokenSize), times: [], cpu: [] };
}

function evalOnce(s, record) {
  s.cache.length = s.L - 1;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  nn.noGrad(() => nn.tidy(() => s.model.forward(s.tok, rows, 1, s.cache).toArray()));
  const dt = performance.now() - t0;
  const dc = process.cpuUsage(c0);
  if (record) {
    s.times.push(dt);
    s.cpu.push((dc.user + dc.system) / 1000);
  }
}

/**
 * Evaluation steps of one variant at every context, interleaved (round r steps each context once),
 * so that a change of the machine's load during the measurement falls on every context alike.
 */
function evalCurve(variant, ctxs) {
  const setups = [];
  for (const L of ctxs) {
    try {
      setups.push(evalSetup(variant, L));
    } catch (e) {
      setups.push({ L, error: e.message });
    }
  }
  const live = setups.filter((s) => !s.error);
  for (let r = 0; r < evalReps + 3; r++) for (const s of live) evalOnce(s, r >= 3);
  return setups.map((s) => (s.error ? { L: s.L, error: s.error } : { L: s.L, value: median(s.times), cpu: median(s.cpu), bytes: s.cache.bytes }));
}

function trainStep(variant, L) {
  const model = build(variant, L);
  const opt = new nn.AdamW(nn.paramGroups(model, 1e-4), { lr: 1e-4 });
  const rng = new Rng(3);
  const tokens = randomTokens(rng, L, model.tokenSize);
  const targets = new Int32Array(L);
  for (let i = 0; i < L; i++) targets[i] = rng.int(model.outSize);
  const times = [];
  const cpu = [];
  let peak = 0;
  for (let r = 0; r < trainReps + 1; r++) {
    const live = nn.memoryStats().liveBytes;
    nn.resetMemoryPeak();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    nn.tidy(() => {
      opt.zeroGrad();
      const loss = nn.crossEntropy(model.forward(tokens, 1, L), targets);
      loss.backward();
      opt.update();
    });
    const dt = performance.now() - t0;
    const dc = process.cpuUsage(c0);
    peak = Math.max(peak, nn.memoryStats().peakBytes - live);
    if (r >= 1) {
      times.push(dt);
      cpu.push((dc.user + dc.system) / 1000);
    }
  }
  return { value: (1000 * median(times)) / L, cpu: (1000 * median(cpu)) / L, bytes: peak, stepSeconds: median(times) / 1000 };
}

/** projected seconds of one measured step at L from the curve so far (null: no projection yet) */
function projected(curve, L, toSeconds) {
  if (curve.length === 0) return null;
  const last = curve[curve.length - 1];
  const k = curve.length >= 2 ? Math.max(0, report.fitExponent(curve.slice(-2))) : 1;
  return toSeconds(last.value * (L / last.context) ** k, L);
}

const started = new Date().toISOString();
const load0 = loadavg();
for (const phase of phases) {
  for (const variant of VARIANTS) {
    if (phase === 'eval_step') {
      for (const r of evalCurve(variant, contexts)) {
        const line = { kind: 'point', variant: variant.name, phase, context: r.L, unit: 'ms per step', rows };
        if (r.error) emit({ ...line, skipped: `failed: ${r.error}` });
        else emit({ ...line, value: Number(r.value.toPrecision(5)), cpu_value: Number(r.cpu.toPrecision(5)), bytes: r.bytes, load: loadavg()[0] });
      }
      continue;
    }
    const ctxs = phase === 'train_token' ? [...new Set([...contexts, ...(TRAIN_EXTRA[variant.name] ?? [])])].sort((a, b) => a - b) : contexts;
    const curve = [];
    // warm-up (compilation of every code path), not reported
    trainStep(variant, Math.min(...ctxs));
    // seconds of one measured step from a point's value
    const toSeconds = phase === 'eval_step' ? (v) => v / 1000 : (v, L) => (v * L) / 1e6;
    for (const L of ctxs) {
      const unit = phase === 'eval_step' ? 'ms per step' : 'µs per token';
      const proj = projected(curve, L, toSeconds);
      const line = { kind: 'point', variant: variant.name, phase, context: L, unit, rows: phase === 'eval_step' ? rows : 1 };
      if (proj !== null && proj > budget) {
        emit({ ...line, skipped: `projected ${proj.toFixed(0)} s per measured step (from the ${curve[curve.length - 1].context} point and the slope of the curve) exceeds --budget-s ${budget}` });
        continue;
      }
      try {
        const r = trainStep(variant, L);
        curve.push({ context: L, value: r.value });
        emit({ ...line, value: Number(r.value.toPrecision(5)), cpu_value: Number(r.cpu.toPrecision(5)), bytes: r.bytes, ...(r.stepSeconds !== undefined ? { seconds_per_step: Number(r.stepSeconds.toPrecision(4)), tokens_per_second: Math.round(L / r.stepSeconds) } : {}), load: loadavg()[0] });
      } catch (e) {
        emit({ ...line, skipped: `failed: ${e.message}` });
      }
    }
  }
}

const points = lines.filter((l) => l.kind === 'point' && l.value !== undefined);
for (const phase of ['eval_step', 'train_token'])
  for (const v of VARIANTS) {
    const ps = points.filter((p) => p.variant === v.name && p.phase === phase && contexts.includes(p.context));
    const k = report.fitExponent(ps);
    const kc = report.fitExponent(ps.map((p) => ({ context: p.context, value: p.cpu_value })));
    const r3 = (x) => (x === null ? null : Number(x.toFixed(3)));
    emit({ kind: 'slope', variant: v.name, phase, exponent: r3(k), cpu_exponent: r3(kc), points: ps.length, contexts: ps.map((p) => p.context) });
  }
const at = (variant, phase, L) => points.find((p) => p.variant === variant && p.phase === phase && p.context === L);
const lo = Math.min(...contexts);
const hi = Math.max(...contexts);
{
  const a = at('ssm', 'eval_step', lo);
  const b = at('ssm', 'eval_step', hi);
  const ratio = a && b ? b.value / a.value : null;
  const cpuRatio = a && b ? b.cpu_value / a.cpu_value : null;
  const r3 = (x) => (x === null ? null : Number(x.toFixed(3)));
  emit({ kind: 'goal', goal: `SSM per-step inference at ${hi} within 1.2x of its cost at ${lo}`, ms_at_lo: a?.value ?? null, ms_at_hi: b?.value ?? null, ratio: r3(ratio), holds: ratio === null ? null : ratio <= 1.2, cpu_ms_at_lo: a?.cpu_value ?? null, cpu_ms_at_hi: b?.cpu_value ?? null, cpu_ratio: r3(cpuRatio), holds_cpu: cpuRatio === null ? null : cpuRatio <= 1.2 });
}
{
  const s = at('ssm', 'train_token', 16384);
  const t = at('transformer-dense', 'train_token', 2048);
  const sT = s ? s.tokens_per_second : null;
  const tT = t ? t.tokens_per_second : null;
  // CPU-time throughput: tokens per CPU-second
  const sC = s ? 1e6 / s.cpu_value : null;
  const tC = t ? 1e6 / t.cpu_value : null;
  emit({
    kind: 'goal',
    goal: 'SSM training throughput at 16k context >= the transformer at 2k',
    ssm_tokens_per_second_16k: sT,
    transformer_tokens_per_second_2k: tT,
    ratio: sT && tT ? Number((sT / tT).toFixed(3)) : null,
    holds: sT && tT ? sT >= tT : null,
    ssm_tokens_per_cpu_second_16k: sC && Math.round(sC),
    transformer_tokens_per_cpu_second_2k: tC && Math.round(tC),
    cpu_ratio: sC && tC ? Number((sC / tC).toFixed(3)) : null,
    holds_cpu: sC && tC ? sC >= tC : null,
  });
}
emit({ kind: 'machine', started, finished: new Date().toISOString(), load_before: load0.map((x) => Number(x.toFixed(2))), load_after: loadavg().map((x) => Number(x.toFixed(2))), cpus: cpus().length, threads: Number(process.env.ICRL_NN_THREADS ?? Math.min(2, cpus().length)), kernels: nn.kernels().name, shape: { layers, dModel, heads, rows, window, stateSize } });

if (html) {
  const doc = { title: 'icrl bench:context', subtitle: [`${started}, load ${load0.map((x) => x.toFixed(1)).join(' / ')}, ${layers} layers, d ${dModel}, ${heads} heads, ${rows} rows decoding`], sections: [report.contextBenchSection(lines)] };
  writeFileAtomic(html, report.renderDocument(doc));
  process.stderr.write(`bench:context: chart written to ${html}\n`);
}
