/**
 * Token features shared by training and the model agents, so that what a model sees at evaluation is
 * built exactly as in training.
 *
 * - Observations: grid observations with integer coordinates (Dark Room, key-to-door: a Box space with
 *   integer bounds and at most 64 values per coordinate; or a family that declares its coordinates
 *   categorical with `discreteObservation`, such as xland's tile and colour per view cell) become one
 *   one-hot block per coordinate; anything else is fed raw.
 * - Actions: a one-hot of numActions for discrete actions, the actDim floats for continuous ones.
 * - AD token (one per step):  [obs_t, action_{t-1}, reward_{t-1}, 1 if there is a previous step,
 *                             1 if step t starts an episode]. The previous action and reward carry
 *                             across episode ends (the history is one stream), as in src/data's AD windows.
 * - DPT context token:        [s, a, r, r x onehot(a) (discrete actions), s']. The reward placed in
 *                             its action's slot makes per-action sums linear in the token, so one
 *                             uniform attention read gives per-action counts and mean rewards.
 * - DPT query:                [s_query]
 */
import type { BatchedEnv } from '../envs/types.js';
import type { BoxSpaceSpec } from '../core/spaces.js';
import { IcrlError } from '../core/errors.js';

export interface EnvDims {
  family: string;
  envOptions: Record<string, unknown>;
  obsDim: number;
  numActions: number;
  actDim: number;
  /** Episode length of the environment (AD slides its context by whole episodes). */
  horizon: number;
  /** One-hot sizes per observation coordinate (and their lower bounds), or null for raw observations. */
  obsSizes: number[] | null;
  obsLow: number[] | null;
  /** Continuous actions: bounds used to clip predicted actions. */
  actLow?: number;
  actHigh?: number;
  /**
   * Input standardisation (data.normalize; raw observations only): each coordinate c is fed as
   * (obs[c] - obsShift[c]) x obsScale[c], and every reward as reward x rewardScale. Absent: fed as
   * they are. Saved with the model, so that its agents scale what they see as training did.
   */
  obsShift?: number[];
  obsScale?: number[];
  rewardScale?: number;
}

const MAX_ONEHOT = 64;

/** Reads the dimensions a model needs from a batched environment. */
export function envDims(env: BatchedEnv, envOptions: Record<string, unknown> = {}): EnvDims {
  let obsSizes: number[] | null = null;
  let obsLow: number[] | null = null;
  const spec = env.observationSpace.spec;
  if (spec.kind === 'box' && (env.numStates > 1 || env.discreteObservation === true)) {
    const box = spec as BoxSpaceSpec;
    const integral = box.low.every((l, i) => Number.isInteger(l) && Number.isInteger(box.high[i]) && box.high[i] - l + 1 <= MAX_ONEHOT && box.high[i] > l);
    if (integral && box.low.length === env.obsDim) {
      obsSizes = box.low.map((l, i) => box.high[i] - l + 1);
      obsLow = [...box.low];
    }
  }
  const dims: EnvDims = {
    family: env.family,
    envOptions,
    obsDim: env.obsDim,
    numActions: env.numActions,
    actDim: env.actDim,
    horizon: env.horizon,
    obsSizes,
    obsLow,
  };
  if (env.numActions === 0) {
    const a = env.actionSpace.spec as BoxSpaceSpec;
    dims.actLow = Math.min(...a.low);
    dims.actHigh = Math.max(...a.high);
  }
  return dims;
}

export function obsFeatureSize(d: EnvDims): number {
  return d.obsSizes ? d.obsSizes.reduce((a, b) => a + b, 0) : d.obsDim;
}

export function actFeatureSize(d: EnvDims): number {
  return d.numActions > 0 ? d.numActions : d.actDim;
}

/** Writes the features of one observation (obsDim floats at obs[o..]) into out[w..]; returns the new w. */
export function writeObs(d: EnvDims, obs: ArrayLike<number>, o: number, out: Float32Array, w: number): number {
  if (d.obsSizes) {
    const low = d.obsLow!;
    for (let c = 0; c < d.obsSizes.length; c++) {
      const n = d.obsSizes[c];
      const v = Math.round(obs[o + c] - low[c]);
      out.fill(0, w, w + n);
      if (v >= 0 && v < n) out[w + v] = 1;
      w += n;
    }
    return w;
  }
  if (d.obsScale && d.obsShift) {
    for (let c = 0; c < d.obsDim; c++) out[w++] = (obs[o + c] - d.obsShift[c]) * d.obsScale[c];
    return w;
  }
  for (let c = 0; c < d.obsDim; c++) out[w++] = obs[o + c];
  return w;
}

/**
 * Dims with the standardisation of raw observations and rewards measured on `data` (mean and
 * standard deviation per observation coordinate, standard deviation of the rewards; a coordinate
 * or reward of spread below 1e-6 is only shifted). Grid (one-hot) observations keep their features
 * and only the rewards are scaled.
 */
export function standardizedDims(d: EnvDims, data: { observations: ArrayLike<number>; rewards: ArrayLike<number> }[]): EnvDims {
  const od = d.obsDim;
  const sum = new Float64Array(od);
  const sq = new Float64Array(od);
  let n = 0;
  let rs = 0;
  let rq = 0;
  let m = 0;
  for (const x of data) {
    const steps = x.observations.length / od;
    for (let t = 0; t < steps; t++) for (let c = 0; c < od; c++) {
      const v = x.observations[t * od + c];
      sum[c] += v;
      sq[c] += v * v;
    }
    n += steps;
    for (let t = 0; t < x.rewards.length; t++) {
      rs += x.rewards[t];
      rq += x.rewards[t] * x.rewards[t];
    }
    m += x.rewards.length;
  }
  if (n === 0 || m === 0) throw new IcrlError(`${d.family}: no steps to standardise the inputs on`);
  const std = (s: number, q: number, k: number) => Math.sqrt(Math.max(0, q / k - (s / k) ** 2));
  const rStd = std(rs, rq, m);
  const out: EnvDims = { ...d, rewardScale: rStd > 1e-6 ? 1 / rStd : 1 };
  if (!d.obsSizes) {
    out.obsShift = Array.from(sum, (s) => s / n);
    out.obsScale = Array.from(sum, (s, c) => {
      const sd = std(s, sq[c], n);
      return sd > 1e-6 ? 1 / sd : 1;
    });
  }
  return out;
}

/** Writes action features: one-hot (discrete; a < 0 gives zeros) or actDim floats from act[o..]. */
export function writeAction(d: EnvDims, act: ArrayLike<number>, o: number, out: Float32Array, w: number, present = true): number {
  if (d.numActions > 0) {
    out.fill(0, w, w + d.numActions);
    const a = act[o];
    if (present && a >= 0 && a < d.numActions) out[w + a] = 1;
    return w + d.numActions;
  }
  for (let c = 0; c < d.actDim; c++) out[w++] = present ? act[o + c] : 0;
  return w;
}

/** Width of an AD token. */
export function adTokenSize(d: EnvDims): number {
  return obsFeatureSize(d) + actFeatureSize(d) + 3;
}

/** One AD token: [obs, previous action (zeros when none), previous reward, has-previous flag, episode-start flag]. */
export function writeAdToken(
  d: EnvDims,
  obs: ArrayLike<number>,
  oo: number,
  prevAction: ArrayLike<number>,
  ao: number,
  prevReward: number,
  hasPrev: boolean,
  episodeStart: boolean,
  out: Float32Array,
  w: number,
): number {
  w = writeObs(d, obs, oo, out, w);
  w = writeAction(d, prevAction, ao, out, w, hasPrev);
  out[w++] = hasPrev ? prevReward * (d.rewardScale ?? 1) : 0;
  out[w++] = hasPrev ? 1 : 0;
  out[w++] = episodeStart ? 1 : 0;
  return w;
}

/** One DPT context token [s, a, r, r x onehot(a), s']. */
export function writeDptToken(d: EnvDims, s: ArrayLike<number>, so: number, a: ArrayLike<number>, ao: number, r: number, s2: ArrayLike<number>, s2o: number, out: Float32Array, w: number): number {
  w = writeObs(d, s, so, out, w);
  w = writeAction(d, a, ao, out, w);
  r *= d.rewardScale ?? 1;
  out[w++] = r;
  if (d.numActions > 0) {
    out.fill(0, w, w + d.numActions);
    const k = a[ao];
    if (k >= 0 && k < d.numActions) out[w + k] = r;
    w += d.numActions;
  }
  return writeObs(d, s2, s2o, out, w);
}

/**
 * Reads back the discrete action and the reward of the DPT context token that starts at
 * tokens[o] (the inverse of {@link writeDptToken} for those two fields); action -1 if none is set.
 */
export function readDptTokenActionReward(d: EnvDims, tokens: ArrayLike<number>, o: number): { action: number; reward: number } {
  if (d.numActions === 0) throw new IcrlError('readDptTokenActionReward: discrete actions only');
  const w = o + obsFeatureSize(d);
  let action = -1;
  for (let a = 0; a < d.numActions; a++) if (tokens[w + a] === 1) action = a;
  return { action, reward: tokens[w + d.numActions] };
}

/** Width of a DPT context token. */
export function dptTokenSize(d: EnvDims): number {
  return 2 * obsFeatureSize(d) + actFeatureSize(d) + 1 + (d.numActions > 0 ? d.numActions : 0);
}
