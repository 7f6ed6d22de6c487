/**
 * The environment families and their registry: `getFamily(name)`, `listFamilies()`, and `makeEnv`, a
 * Gymnasium-like single-instance view (`reset(seed)` -> [obs, info], `step(action)` -> [obs, reward,
 * terminated, truncated, info]) that is a thin wrapper over a batched environment of size 1.
 */
import { IcrlError } from '../core/errors.js';
import { Registry } from '../core/registry.js';
import { Rng } from '../core/rng.js';
import type { Task, TaskSpace } from '../tasks/taskSpace.js';
import type { ActionArray, BatchedEnv, EnvFamily } from './types.js';
import { banditFamily } from './bandit.js';
import { darkroomFamily } from './darkroom.js';
import { linearBanditFamily } from './linearBandit.js';
import { darkKeyToDoorFamily } from './darkKeyToDoor.js';
import { pointRobotFamily } from './pointRobot.js';
import { xlandFamily, xlandProposalHooks } from './xland/index.js';
import { makeMixtureFamily } from './mixture.js';
import { antDirFamily, cheetahDirFamily, cheetahVelFamily, isMujocoFamily, loadMujocoRuntime, pushFamily, reachFamily, walkerParamFamily } from './mujoco/index.js';

export * from './types.js';
export * from './episodes.js';
export * from './bandit.js';
export * from './darkroom.js';
export * from './linearBandit.js';
export * from './darkKeyToDoor.js';
export * from './pointRobot.js';
export * from './xland/index.js';
export * from './mujoco/index.js';
export * from './proposal.js';
export * from './mixture.js';
export { ACTION_PERMUTATIONS, checkBoxActions, checkDiscreteActions, checkInstance, parseOptions } from './common.js';

/** The registry of environment families; `registerFamily` adds one (a taken name is an error). */
export const envFamilies = new Registry<EnvFamily>('environment family');
for (const f of [banditFamily, linearBanditFamily, darkroomFamily, darkKeyToDoorFamily, pointRobotFamily, { ...xlandFamily, proposal: xlandProposalHooks }]) envFamilies.register(f);
for (const f of [cheetahVelFamily, cheetahDirFamily, antDirFamily, walkerParamFamily, reachFamily, pushFamily]) envFamilies.register({ ...f, viewer: 'episode', prepare: async () => void (await loadMujocoRuntime()) });
// the mixture's members come from its options, which `prepare` does not see: it prepares every family that needs it
envFamilies.register(
  makeMixtureFamily(
    (name) => envFamilies.get(name),
    async () => {
      for (const f of envFamilies.list()) if (f.name !== 'mixture') await f.prepare?.();
    },
  ),
);

/** True when family `name` runs on MuJoCo (its `make` needs `await prepareFamily(name)` once per thread). */
export function needsMujoco(name: string): boolean {
  return isMujocoFamily(getFamily(name));
}

/**
 * Loads what family `name` needs before its synchronous `make` can run: the MuJoCo WebAssembly module
 * for the MuJoCo families (once per thread, ~0.35 s), nothing for the others.
 */
export async function prepareFamily(name: string): Promise<void> {
  await getFamily(name).prepare?.();
}

/** Registers a family from code (e.g. a user's own); its name must be new. */
export function registerFamily(family: EnvFamily): EnvFamily {
  return envFamilies.register(family);
}

/** The family's options with every default filled in (`options` validated: an unknown key is an error naming it). */
export function familyOptions(name: string, options?: Record<string, unknown>): Record<string, unknown> {
  return envFamilies.parseOptions(name, options, `${name} options`) as Record<string, unknown>;
}

/** Names of the registered families, in registration order. */
export function familyNames(): string[] {
  return envFamilies.names();
}

/** Every registered family. */
export function listFamilies(): readonly EnvFamily[] {
  return envFamilies.list();
}

/** The family called `name`; an unknown name raises an error listing the known ones. */
export function getFamily(name: string): EnvFamily {
  return envFamilies.get(name);
}

/** Creates a batched environment of a registered family. */
export function makeBatchedEnv(name: string, numEnvs: number, options?: Record<string, unknown>, rng?: Rng): BatchedEnv {
  return getFamily(name).make(numEnvs, options, rng);
}

export interface StepInfo {
  /** Discrete state index after the step (before any reset), when the family has discrete states. */
  stateIndex?: number;
  /** Steps taken in the current episode. */
  episodeStep: number;
}

export type SingleAction = number | number[];

/**
 * One environment instance with Gymnasium's calling conventions. After an episode ends (terminated
 * or truncated), `step` returns the final observation of that episode and `reset()` must be called
 * before stepping again, as in Gymnasium.
 */
export class SingleEnv {
  private readonly actions: ActionArray;
  private needsReset = true;

  constructor(readonly env: BatchedEnv) {
    if (env.numEnvs !== 1) throw new IcrlError(`SingleEnv wraps a batched environment of size 1, got ${env.numEnvs}`);
    this.actions = env.numActions > 0 ? new Int32Array(1) : new Float32Array(env.actDim);
  }

  get family(): string {
    return this.env.family;
  }
  get taskSpace(): TaskSpace {
    return this.env.taskSpace;
  }
  get observationSpace() {
    return this.env.observationSpace;
  }
  get actionSpace() {
    return this.env.actionSpace;
  }

  /** Sets the task (validated); takes effect from the next `reset`. */
  setTask(task: Task): void {
    this.env.setTasks([task]);
    this.needsReset = true;
  }

  reset(seed?: number): [number[], StepInfo] {
    this.env.reset(seed);
    this.needsReset = false;
    return [Array.from(this.env.obs.subarray(0, this.env.obsDim)), this.info()];
  }

  step(action: SingleAction): [number[], number, boolean, boolean, StepInfo] {
    if (this.needsReset) throw new IcrlError(`${this.family}: call reset() before step() (at the start, and after an episode ends)`);
    this.env.actionSpace.check(action, `${this.family} action`);
    if (this.actions instanceof Int32Array) this.actions[0] = action as number;
    else this.actions.set(action as number[]);
    const stepBefore = this.env.episodeStep[0];
    this.env.step(this.actions);
    const term = this.env.terminated[0] === 1;
    const trunc = this.env.truncated[0] === 1;
    const d = this.env.obsDim;
    let obs: number[];
    let info: StepInfo;
    if (term || trunc) {
      this.needsReset = true;
      obs = Array.from(this.env.finalObs.subarray(0, d));
      info = { episodeStep: stepBefore + 1 };
    } else {
      obs = Array.from(this.env.obs.subarray(0, d));
      info = this.info();
    }
    return [obs, this.env.rewards[0], term, trunc, info];
  }

  /** The optimal action in the current state. */
  oracleAction(): SingleAction {
    if (this.env.numActions > 0) return this.env.oracleAction(0);
    const out = new Float32Array(this.env.actDim);
    this.env.oracleAction(0, out);
    return Array.from(out);
  }

  /** Expected return of the optimal policy over an episode of the current task. */
  oracleValue(): number {
    return this.env.oracleValue(0);
  }

  private info(): StepInfo {
    const info: StepInfo = { episodeStep: this.env.episodeStep[0] };
    if (this.env.numStates > 0) info.stateIndex = this.env.stateIndex[0];
    return info;
  }
}

export interface MakeEnvOptions {
  /** Family options (size, arms, ...). */
  options?: Record<string, unknown>;
  /** The task; drawn from the family's task space with `seed` when absent. */
  task?: Task;
  seed?: number;
}

/** A single-instance environment of family `name`. */
export function makeEnv(name: string, opts: MakeEnvOptions = {}): SingleEnv {
  const rng = new Rng(opts.seed ?? 0);
  const env = getFamily(name).make(1, opts.options, rng);
  if (opts.task) env.setTasks([opts.task]);
  return new SingleEnv(env);
}
