#!/usr/bin/env node
// Throughput of the batched deep-RL learners (src/rl): learner-updates per second of SAC (obs 17,
// act 6, MLPs 256 x 256, batch 256: CleanRL's defaults on a MuJoCo-sized task) at N learners trained
// at once, beside the stacked-weights PyTorch version of the same update (bench/torch_sac_update.py)
// run right after each of ours in the same invocation; GFLOP/s of the matrix products and CPU time
// of both sides. Throughput is given over the whole window and from the median update time (both
// sides, and the ratio of each). One JSON line per figure on stdout; progress on stderr.
//
//   npm run bench:rl [-- --learners 1,16] [--seconds 15] [--torch-threads 2] [--python PATH] [--no-torch]
//                    [--no-training] [--train-learners 16] [--kernels wasm|reference]
//
// Then env-steps per second of whole SAC and PPO training (updates included) on point-robot with
// --train-learners learners (one line each).
//
// PyTorch runs with 2 threads (or each count of --torch-threads, e.g. 2,1: one line each) under --python / $ICRL_PYTHON / /usr/bin/python3 (Debian's
// python3-torch with libopenblas0-pthread). The project's side comes from dist/ (`npm run build`).
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cliArgs } from './args.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { opt, flag } = cliArgs();
if (flag('help')) {
  process.stdout.write('usage: node bench/rl.js [--learners 1,16] [--seconds 15] [--torch-threads 2] [--python PATH] [--no-torch] [--no-training] [--train-learners 16] [--kernels wasm|reference]\n');
  process.exit(0);
}
if (!existsSync(resolve(root, 'dist/rl/index.js'))) {
  process.stderr.write('bench:rl: dist/rl/index.js missing; run `npm run build` first\n');
  process.exit(2);
}
if (opt('kernels')) process.env.ICRL_NN_KERNELS = opt('kernels');
const nn = await import(resolve(root, 'dist/nn/index.js'));
const { Rng } = await import(resolve(root, 'dist/core/rng.js'));
const { SacLearners, SacAgent, PpoAgent } = await import(resolve(root, 'dist/rl/index.js'));
const { pointRobotFamily } = await import(resolve(root, 'dist/envs/pointRobot.js'));
const { wasmThreads } = await import(resolve(root, 'dist/nn/kernels/wasm.js'));
const { median } = await import(resolve(root, 'dist/envs/bench.js'));

const OBS = Number(opt('obs', '17'));
const ACT = Number(opt('act', '6'));
const HID = 256;
const BATCH = 256;
const SECONDS = Number(opt('seconds', '15'));
const learnerCounts = opt('learners', '1,16').split(',').map(Number);
const python = opt('python', process.env.ICRL_PYTHON ?? '/usr/bin/python3');
const torchThreads = opt('torch-threads', '2').split(',').map(Number);
const log = (s) => process.stderr.write(`bench:rl: ${s}\n`);
const load = () => loadavg().map((v) => Number(v.toFixed(2)));

// every gemm's floating-point operations are counted while ours is measured
let flops = 0;
const k = nn.kernels();
const gemm = k.gemm.bind(k);
k.gemm = (p) => {
  flops += 2 * p.M * p.N * p.K * p.batch;
  gemm(p);
};

/** PyTorch's update, counted from its shapes (per sample): layer (i, o) costs i*o multiply-adds forward, as much for the weight gradient, as much for the input gradient when it is needed */
function torchFlopsPerLearnerUpdate() {
  const q = [
    [OBS + ACT, HID],
    [HID, HID],
    [HID, 1],
  ];
  const a = [
    [OBS, HID],
    [HID, HID],
    [HID, 2 * ACT],
  ];
  const fwd = (net) => net.reduce((s, [i, o]) => s + i * o, 0);
  const bwd = (net, inputGrad) => net.reduce((s, [i, o], l) => s + i * o + (l > 0 || inputGrad ? i * o : 0), 0);
  const macs = fwd(a) + 2 * fwd(q) + 2 * (fwd(q) + bwd(q, false)) + fwd(a) + 2 * (fwd(q) + bwd(q, true)) + bwd(a, false);
  return 2 * macs * BATCH;
}

function ours(N) {
  const rngs = Array.from({ length: N }, (_, i) => new Rng(1).split(i));
  // policyFrequency 1: one actor and entropy step per critic step, as the PyTorch update
  const L = new SacLearners({ obsDim: OBS, actDim: ACT, low: new Array(ACT).fill(-1), high: new Array(ACT).fill(1) }, rngs, { policyFrequency: 1 });
  const r = new Rng(2);
  const o = new Float32Array(OBS);
  const o2 = new Float32Array(OBS);
  const a = new Float32Array(ACT);
  for (let i = 0; i < N; i++)
    for (let t = 0; t < 2000; t++) {
      r.fillNormal(o);
      r.fillNormal(o2);
      for (let j = 0; j < ACT; j++) a[j] = 2 * r.uniform() - 1;
      L.store(i, o, a, r.normal(), o2, 0);
    }
  for (let t = 0; t < 3; t++) L.update();
  flops = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  const times = [];
  while (performance.now() - t0 < SECONDS * 1000) {
    const u0 = performance.now();
    L.update();
    times.push(performance.now() - u0);
    n++;
  }
  const dt = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  const cpu = (cu.user + cu.system) / 1e6;
  const med = median(times) / 1000;
  return { updates: n, seconds: dt, lups: (N * n) / dt, medianLups: N / med, gflops: flops / dt / 1e9, gflopsPerCpuS: flops / cpu / 1e9, cpuMs: (1000 * cpu) / (N * n) };
}

function torch(N, threads) {
  const script = resolve(root, 'bench/torch_sac_update.py');
  const res = spawnSync(python, [script, '--threads', String(threads), '--obs', String(OBS), '--act', String(ACT), '--learners', String(N), '--seconds', String(SECONDS)], { encoding: 'utf8' });
  if (res.error || res.status !== 0) return { error: (res.error?.message ?? res.stderr.trim().split('\n').pop()) || `exit ${res.status}` };
  const line = res.stdout.trim().split('\n').pop();
  return JSON.parse(line);
}

const noTorch = flag('no-torch');
const tf = torchFlopsPerLearnerUpdate();
for (const N of learnerCounts) {
  const l0 = load();
  log(`SAC N=${N}: ours for ${SECONDS} s (load ${l0.join(' ')})`);
  const a = ours(N);
  const out = {
    bench: 'sac_update',
    learners: N,
    obs: OBS,
    act: ACT,
    hidden: HID,
    batch: BATCH,
    kernels: nn.kernels().name,
    threads: wasmThreads(),
    learner_updates_per_s: Number(a.lups.toFixed(2)),
    median_learner_updates_per_s: Number(a.medianLups.toFixed(2)),
    updates: a.updates,
    gflops: Number(a.gflops.toFixed(1)),
    gflops_per_cpu_s: Number(a.gflopsPerCpuS.toFixed(1)),
    cpu_ms_per_learner_update: Number(a.cpuMs.toFixed(2)),
    load_before: l0,
  };
  const lines = [];
  if (noTorch) lines.push({ ...out, torch_skipped: '--no-torch' });
  for (const th of noTorch ? [] : torchThreads) {
    log(`SAC N=${N}: PyTorch (${th} threads) for ${SECONDS} s`);
    const t = torch(N, th);
    const line = { ...out, torch_threads: th };
    if (t.error) line.torch_error = `${python} bench/torch_sac_update.py failed (${t.error}); install Debian's python3-torch and libopenblas0-pthread`;
    else {
      line.torch = t.torch;
      line.torch_learner_updates_per_s = t.learner_updates_per_s;
      line.torch_median_learner_updates_per_s = t.median_learner_updates_per_s;
      line.median_ratio = Number((a.medianLups / t.median_learner_updates_per_s).toFixed(2));
      line.torch_gflops = Number(((tf * t.learner_updates_per_s) / 1e9).toFixed(1));
      line.torch_cpu_ms_per_learner_update = t.cpu_ms_per_learner_update;
      line.ratio = Number((a.lups / t.learner_updates_per_s).toFixed(2));
      line.cpu_ratio = Number((t.cpu_ms_per_learner_update / a.cpuMs).toFixed(2));
    }
    lines.push(line);
  }
  for (const line of lines) process.stdout.write(`${JSON.stringify({ ...line, load_after: load() })}\n`);
}

// whole training, updates included: environment steps per second (all learners) on point-robot
const trainN = Number(opt('train-learners', '16'));
function training(algo) {
  const tasks = Array.from({ length: trainN }, (_, i) => ({ family: 'point-robot', params: { angle: (Math.PI * (i + 0.5)) / trainN } }));
  const env = pointRobotFamily.make(trainN);
  env.setTasks(tasks);
  // CleanRL's defaults but a short random phase (SAC) so that the window is spent learning
  const agent = algo === 'sac' ? new SacAgent({ learningStarts: 300 }) : new PpoAgent({});
  env.reset();
  agent.reset(env, new Rng(3));
  const out = new Float32Array(trainN * 2);
  const step = () => {
    agent.act(env.obs, out);
    env.step(out);
    agent.observe({ actions: out, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated });
  };
  if (algo === 'sac') for (let t = 0; t <= 301; t++) step();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let steps = 0;
  // PPO: whole rollouts (2,048 steps and their update each); SAC: until the time is up
  const ppoSteps = 2 * 2048;
  while (algo === 'ppo' ? steps < ppoSteps : performance.now() - t0 < SECONDS * 1000) {
    step();
    steps++;
  }
  const dt = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  return { bench: 'rl_training', algo, family: 'point-robot', learners: trainN, options: algo === 'sac' ? 'CleanRL defaults (256 x 256, batch 256), learningStarts 300' : 'CleanRL continuous defaults (64 x 64, 2048-step rollouts, 10 epochs x 32 minibatches)', steps_per_learner: steps, seconds: Number(dt.toFixed(2)), env_steps_per_s: Number(((steps * trainN) / dt).toFixed(1)), cpu_s: Number(((cu.user + cu.system) / 1e6).toFixed(2)), load: load() };
}
if (!flag('no-training'))
  for (const algo of ['sac', 'ppo']) {
    log(`${algo} training on point-robot, ${trainN} learners`);
    process.stdout.write(`${JSON.stringify(training(algo))}\n`);
  }
