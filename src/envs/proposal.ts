/**
 * The staged checks of proposed tasks (`proposeTasks` in src/tasks) for any family (`getFamily(name)`):
 * loads with the family's schema (its `proposal.load`, else the task space's zod schema and check),
 * runs by making a one-instance environment with the task and stepping it with seeded random actions
 * (every observation and reward must be finite), solvable by the family's solver (`proposal.solvable`)
 * or by its oracle value, novel by the family's identity and isomorphism keys (else `taskKey`).
 */
import { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';
import type { ProposalChecks, SolvabilityCheck, StageStats } from '../tasks/proposer.js';
import type { Task } from '../tasks/taskSpace.js';
import type { BatchedEnv, EnvFamily } from './types.js';

export interface ProposalCheckOptions {
  /** Random steps of the runs stage (default 64). */
  runSteps?: number;
  /** Seed of the runs stage's environment and actions. */
  seed?: number;
  /** Solvable when the oracle's expected return exceeds this (default 0). */
  minOracleValue?: number;
}

/** Steps `env` (one instance, its task set) `steps` times with random actions; throws naming what was not finite. */
function runRandom(env: BatchedEnv, steps: number, rng: Rng): StageStats {
  env.reset(rng.int(2 ** 31));
  const discrete = env.numActions > 0;
  const actions = discrete ? new Int32Array(1) : new Float32Array(env.actDim);
  const low = discrete ? [] : (env.actionSpace as unknown as { low: number[] }).low;
  const high = discrete ? [] : (env.actionSpace as unknown as { high: number[] }).high;
  let episodes = 0;
  let reward = 0;
  for (let t = 0; t < steps; t++) {
    if (discrete) actions[0] = rng.int(env.numActions);
    else for (let k = 0; k < env.actDim; k++) actions[k] = rng.uniformRange(low[k] ?? -1, high[k] ?? 1);
    env.step(actions as Int32Array);
    const r = env.rewards[0];
    if (!Number.isFinite(r)) throw new IcrlError(`${env.family}: step ${t} gave the reward ${r}`);
    for (let k = 0; k < env.obsDim; k++) if (!Number.isFinite(env.obs[k])) throw new IcrlError(`${env.family}: step ${t} gave the observation ${env.obs[k]} at coordinate ${k}`);
    reward += r;
    if (env.terminated[0] || env.truncated[0]) episodes++;
  }
  return { steps, episodesEnded: episodes, randomReturn: reward };
}

/** The oracle-value check: solvable when the optimal expected return from the start exceeds `minValue`. */
export function oracleSolvable(family: EnvFamily, options: Record<string, unknown> | undefined, minValue: number): (t: Task) => SolvabilityCheck {
  const env = family.make(1, options);
  return (t: Task) => {
    env.setTasks([t]);
    env.reset(0);
    const v = env.oracleValue(0);
    return { ok: v > minValue, value: v, reason: `oracle value ${v} is not above ${minValue}` };
  };
}

/** The checks and the solvable stage of `family` with `options` (call `prepareFamily` first for MuJoCo families). */
export function proposalChecks(f: EnvFamily, options: Record<string, unknown> = {}, opts: ProposalCheckOptions = {}): { checks: ProposalChecks; solvable: (t: Task) => SolvabilityCheck } {
  const hooks = f.proposal ?? {};
  const env = f.make(1, options, new Rng(opts.seed ?? 0));
  const rng = new Rng(opts.seed ?? 0).split('runs');
  const steps = opts.runSteps ?? 64;
  const checks: ProposalChecks = {
    ...(hooks.load ? { load: (v: unknown) => hooks.load!(v, options) } : {}),
    run: (task) => {
      env.setTasks([task]);
      return runRandom(env, steps, rng);
    },
    ...(hooks.identity ? { identity: hooks.identity } : {}),
    ...(hooks.canonical ? { canonical: hooks.canonical } : {}),
    ...(hooks.format ? { format: hooks.format(options) } : {}),
  };
  const solvable = hooks.solvable ? hooks.solvable(options, opts.minOracleValue ?? 0) : oracleSolvable(f, options, opts.minOracleValue ?? 0);
  return { checks, solvable };
}
