/**
 * How close a bandit DPT's predictions are to Bayes-optimal: on the validation contexts of a training
 * config (the same contexts the trainer's validation loss reads), the model's predicted distribution
 * of the best arm after each context prefix is compared with the exact posterior
 * (`bestArmPosterior`, uniform prior on the arm means, the family's known Gaussian noise). Reported per
 * range of context lengths:
 *  - the cross-entropy of the model on the labels (what the validation loss measures),
 *  - the cross-entropy of the exact posterior on the same labels (the floor no model can beat in
 *    expectation),
 *  - KL(posterior || model), averaged over contexts: the model's distance from Bayes-optimal, free of
 *    the label sampling noise that makes validation losses hard to compare (a label is one draw of
 *    the best arm, so differences of a few hundredths need thousands of contexts to show).
 */
import { IcrlError } from '../core/errors.js';
import { makeBatchedEnv } from '../envs/index.js';
import { Rng } from '../core/rng.js';
import { noGrad, tidy } from '../nn/index.js';
import { DPTModel } from '../models/dpt.js';
import type { InContextModel } from '../models/io.js';
import { readDptTokenActionReward } from '../models/features.js';
import { bestArmPosterior } from '../algorithms/posterior.js';
import type { TrainingData } from '../models/batches.js';

export interface PosteriorOptions {
  /** Validation batches to read (default 8). */
  batches?: number;
  /** Contexts per batch (default 32). */
  batchSize?: number;
  /** Compare after every `every`-th context prefix (default 5; 1 compares all). */
  every?: number;
  /** Upper ends (exclusive) of the context-length ranges reported (default: T/10, 2T/5, 7T/10, T+1). */
  binEdges?: number[];
  /** Seed of the batch stream (default 0). */
  seed?: number;
  /** Grid points of the posterior integral (default 400). */
  grid?: number;
}

export interface PosteriorBin {
  /** Context lengths from (inclusive) .. to (exclusive). */
  from: number;
  to: number;
  /** Predictions compared. */
  count: number;
  /** Cross-entropy of the exact posterior on the labels. */
  bayesNll: number;
  /** Per model (in the order given): its cross-entropy on the labels and KL(posterior || model). */
  models: { nll: number; kl: number }[];
}

export interface PosteriorReport {
  contexts: number;
  contextLength: number;
  noiseSd: number;
  bins: PosteriorBin[];
  /** All compared predictions together. */
  overall: PosteriorBin;
}

/** Compares each model with the exact best-arm posterior on `data`'s validation contexts. */
export function comparePosterior(models: InContextModel[], data: TrainingData, opts: PosteriorOptions = {}): PosteriorReport {
  if (data.kind !== 'dpt') throw new IcrlError(`posterior: needs DPT data (the config trains ${data.kind})`);
  const d = data.dims;
  const prior = makeBatchedEnv(d.family, 1, d.envOptions).armPrior;
  if (!prior) throw new IcrlError(`posterior: the exact posterior needs a family with independent uniform arm means, as bandit has (the config's family is ${d.family})`);
  const { reward, noiseSd } = prior;
  if (reward !== 'gaussian' || !(noiseSd > 0)) throw new IcrlError(`posterior: needs Gaussian rewards with noiseSd > 0 (the config has reward ${String(reward)}, noiseSd ${noiseSd})`);
  if (data.numValTasks === 0) throw new IcrlError('posterior: the config keeps no validation tasks (data.validationFraction is 0)');
  if (models.length === 0) throw new IcrlError('posterior: no model to compare');
  const T = data.contextLength;
  const K = d.numActions;
  for (const [i, m] of models.entries()) {
    if (!(m instanceof DPTModel)) throw new IcrlError(`posterior: model ${i + 1} is not a DPT model`);
    if (m.outSize !== K) throw new IcrlError(`posterior: model ${i + 1} predicts ${m.outSize} actions, the data has ${K} arms`);
    if (m.contextLength < T) throw new IcrlError(`posterior: model ${i + 1} was built for contexts of ${m.contextLength}, the config's are ${T}`);
  }
  const batches = opts.batches ?? 8;
  const B = opts.batchSize ?? 32;
  const every = opts.every ?? 5;
  for (const [k, v] of [['batches', batches], ['batchSize', B], ['every', every]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new IcrlError(`posterior: ${k} must be a positive integer, got ${v}`);
  }
  const edges = opts.binEdges ?? [Math.round(T / 10), Math.round((2 * T) / 5), Math.round((7 * T) / 10), T + 1];
  if (edges.some((e, i) => !(e > (i === 0 ? 0 : edges[i - 1])))) throw new IcrlError(`posterior: binEdges must increase from above 0, got ${edges.join(', ')}`);
  const bins: PosteriorBin[] = edges.map((to, i) => ({ from: i === 0 ? 0 : edges[i - 1], to, count: 0, bayesNll: 0, models: models.map(() => ({ nll: 0, kl: 0 })) }));
  const overall: PosteriorBin = { from: 0, to: edges[edges.length - 1], count: 0, bayesNll: 0, models: models.map(() => ({ nll: 0, kl: 0 })) };
  const rng = new Rng(opts.seed ?? 0).split('posterior');
  const post = new Float64Array(K);
  const q = new Float64Array(K);
  const counts = new Float64Array(K);
  const sums = new Float64Array(K);
  const scratch = new Float64Array(2 * K * (opts.grid ?? 400));
  const wasTraining = models.map((m) => m.training);
  for (const m of models) m.eval();
  try {
    for (let it = 0; it < batches; it++) {
      const batch = data.sample(rng, B, 'val', false);
      if (batch.kind !== 'dpt' || !(batch.labels instanceof Int32Array)) throw new IcrlError('posterior: expected DPT batches with discrete labels');
      const { tokens, queries, labels } = batch;
      const ts = tokens.length / (batch.B * batch.T);
      const outs = models.map((m) => noGrad(() => tidy(() => (m as DPTModel).forwardAll(tokens, batch.B, batch.T, queries).toArray().slice())));
      for (let b = 0; b < batch.B; b++) {
        counts.fill(0);
        sums.fill(0);
        const y = labels[b];
        for (let j = 0; j <= batch.T; j++) {
          if (j > 0) {
            const { action, reward: r } = readDptTokenActionReward(d, tokens, (b * batch.T + j - 1) * ts);
            if (action < 0) throw new IcrlError(`posterior: context token ${j} of a validation sample has no action`);
            counts[action] += 1;
            sums[action] += r;
          }
          if (j % every !== 0) continue;
          const bin = bins.find((x) => j >= x.from && j < x.to);
          if (!bin) continue;
          bestArmPosterior(counts, sums, { noiseSd, lo: prior.low, hi: prior.high, grid: opts.grid }, post, scratch);
          const bayes = -Math.log(Math.max(post[y], 1e-300));
          for (const target of [bin, overall]) {
            target.count++;
            target.bayesNll += bayes;
          }
          outs.forEach((out, mi) => {
            const o = (b * (batch.T + 1) + j) * K;
            let mx = -Infinity;
            for (let a = 0; a < K; a++) mx = Math.max(mx, out[o + a]);
            let z = 0;
            for (let a = 0; a < K; a++) z += Math.exp(out[o + a] - mx);
            const logZ = mx + Math.log(z);
            let kl = 0;
            for (let a = 0; a < K; a++) {
              q[a] = out[o + a] - logZ;
              if (post[a] > 0) kl += post[a] * (Math.log(post[a]) - q[a]);
            }
            for (const target of [bin, overall]) {
              target.models[mi].nll += -q[y];
              target.models[mi].kl += kl;
            }
          });
        }
      }
    }
  } finally {
    models.forEach((m, i) => m.train(wasTraining[i]));
  }
  for (const x of [...bins, overall]) {
    if (x.count === 0) continue;
    x.bayesNll /= x.count;
    for (const m of x.models) {
      m.nll /= x.count;
      m.kl /= x.count;
    }
  }
  return { contexts: batches * B, contextLength: T, noiseSd, bins, overall };
}
