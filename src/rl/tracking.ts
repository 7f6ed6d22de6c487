/**
 * Velocity tracking of greedy policies on a target-velocity family (cheetah-vel): the mean absolute
 * difference between the forward velocity and the task's target over the second half of each
 * episode (the first half is the acceleration phase), the criterion of issue 15 ("within 0.3 m/s on
 * at least 8 of 10 training velocities"). Each instance's velocity and goal are the family's
 * per-instance arrays `velocity` and `goal` (BatchedCheetah).
 */
import { IcrlError } from '../core/errors.js';
import type { BatchedEnv } from '../envs/types.js';

/** anything that maps [n, obsDim] observations to [n, actDim] greedy actions (SacAgent, a loaded SacPolicy) */
export interface GreedyPolicy {
  actGreedy(obs: Float32Array, out: Float32Array): void;
}

export interface TrackingResult {
  /** per instance: mean |v - goal| over the second half of every episode (m/s) */
  meanAbsError: number[];
  /** per instance: mean forward velocity over the same steps */
  meanVelocity: number[];
  /** per instance: the target */
  goal: number[];
  /** per instance: mean episode return */
  meanReturn: number[];
}

function perInstance(env: BatchedEnv, name: string): Float64Array {
  const arrays = (env as unknown as { perInstanceArrays?: () => Record<string, unknown> }).perInstanceArrays?.();
  const a = arrays?.[name];
  if (!(a instanceof Float64Array) || a.length !== env.numEnvs) throw new IcrlError(`velocity tracking: ${env.family} has no per-instance "${name}" (a target-velocity family such as cheetah-vel)`, 'CONFIG');
  return a;
}

/**
 * Plays `policy` greedily on every instance of `env` (tasks set) for `episodes` whole episodes,
 * resetting with `seed` first, and measures how well each instance tracks its target velocity.
 */
export function velocityTracking(policy: GreedyPolicy, env: BatchedEnv, episodes: number, seed: number): TrackingResult {
  if (!Number.isInteger(episodes) || episodes < 1) throw new IcrlError(`velocity tracking: episodes must be a positive integer, got ${episodes}`, 'CONFIG');
  const n = env.numEnvs;
  const H = env.horizon;
  const velocity = perInstance(env, 'velocity');
  const goal = perInstance(env, 'goal');
  env.reset(seed);
  const err = new Float64Array(n);
  const vel = new Float64Array(n);
  const ret = new Float64Array(n);
  let counted = 0;
  const out = new Float32Array(n * env.actDim);
  for (let t = 0; t < episodes * H; t++) {
    policy.actGreedy(env.obs, out);
    const second = t % H >= Math.floor(H / 2);
    env.step(out);
    for (let i = 0; i < n; i++) {
      ret[i] += env.rewards[i];
      if (second) {
        err[i] += Math.abs(velocity[i] - goal[i]);
        vel[i] += velocity[i];
      }
    }
    if (second) counted++;
  }
  return {
    meanAbsError: Array.from(err, (e) => e / counted),
    meanVelocity: Array.from(vel, (v) => v / counted),
    goal: Array.from(goal),
    meanReturn: Array.from(ret, (r) => r / episodes),
  };
}
