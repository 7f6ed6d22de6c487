/**
 * `walker-param` (Walker-Rand-Params of PEARL and T2MIR, from the rand_param_envs package): a planar
 * walker whose physics is the task. Each task holds exponents e in [-3, 3]: body masses and
 * inertias are multiplied by 1.5^e (one exponent per body, and per inertia component), joint damping
 * by 1.3^e (per actuated joint; the root joints have none) and geom friction by 1.5^e (per geom and
 * friction component, the floor included). Every task gets its own MuJoCo model, built once and
 * cached. Reward: forward velocity of the root + 1 (alive bonus) - 0.001 |a|^2; terminated when the
 * walker falls (height outside (0.8, 2) m or pitch outside (-1, 1) rad); 200-step episodes, frame
 * skip 4. Observation (17): qpos[1..8], qvel clipped to [-10, 10]. Reset noise: qpos and qvel +
 * U(-0.005, 0.005).
 */
import { z } from 'zod';
import { BoxSpace } from '../../core/spaces.js';
import { Rng } from '../../core/rng.js';
import { TaskSpace, splitTasks, type Task, type TaskSplit } from '../../tasks/taskSpace.js';
import { parseOptions } from '../common.js';
import { MujocoEnv, type MujocoFamily, uniformQposQvel } from './base.js';
import { makeMujocoEnv, threadsOption } from './threaded.js';
import type { MjModel } from './runtime.js';

export const WALKER_MODEL = 'walker2d.xml';
/** Bodies 1..7 of walker2d.xml (0 is the world), its 8 geoms (floor first) and the dofs of the 6 leg joints. */
export const WALKER_BODIES = 7;
export const WALKER_GEOMS = 8;
export const WALKER_JOINT_DOFS = [3, 4, 5, 6, 7, 8] as const;
/** Bases of the multipliers (rand_param_envs): mass, inertia, friction 1.5; damping 1.3; exponents in [-3, 3]. */
export const WALKER_LOG_SCALE = 3;

export const walkerParamOptionsSchema = z
  .object({
    horizon: z.number().int().min(1).max(1_000_000).default(200),
    frameSkip: z.number().int().min(1).max(100).default(4),
    ctrlCost: z.number().min(0).default(1e-3),
    aliveBonus: z.number().default(1),
    threads: threadsOption,
  })
  .strict();
export type WalkerParamOptions = z.output<typeof walkerParamOptionsSchema>;

const box = (n: number): BoxSpace => new BoxSpace(new Array<number>(n).fill(-WALKER_LOG_SCALE), new Array<number>(n).fill(WALKER_LOG_SCALE));

export function walkerParamTaskSpace(options?: Record<string, unknown>): TaskSpace {
  parseOptions('walker-param', walkerParamOptionsSchema, options);
  return new TaskSpace(
    'walker-param',
    { mass: box(WALKER_BODIES), inertia: box(3 * WALKER_BODIES), damping: box(WALKER_JOINT_DOFS.length), friction: box(3 * WALKER_GEOMS) },
    {
      descriptions: {
        mass: 'exponent e per body (torso, right thigh, leg, foot, left thigh, leg, foot): mass x 1.5^e',
        inertia: 'exponents per body and principal axis (7 x 3): inertia x 1.5^e',
        damping: 'exponent per leg joint (6): damping x 1.3^e',
        friction: 'exponents per geom (floor first) and friction component (8 x 3): friction x 1.5^e',
      },
    },
  );
}

/** 50 physics tasks drawn with `seed`, 45 train / 5 held out (T2MIR / PEARL). */
export function walkerParamSplit(seed = 0): TaskSplit {
  return splitTasks(walkerParamTaskSpace(), { seed, heldOut: 5, train: 45 });
}

/** The default physics (every exponent 0). */
export function walkerDefaultTask(): Task {
  const z0 = (n: number): number[] => new Array<number>(n).fill(0);
  return { family: 'walker-param', params: { mass: z0(WALKER_BODIES), inertia: z0(3 * WALKER_BODIES), damping: z0(WALKER_JOINT_DOFS.length), friction: z0(3 * WALKER_GEOMS) } };
}

export class BatchedWalkerParam extends MujocoEnv<WalkerParamOptions> {
  private readonly xBefore: Float64Array;

  constructor(numEnvs: number, options?: Record<string, unknown>, rng: Rng = new Rng(0)) {
    const o = parseOptions('walker-param', walkerParamOptionsSchema, options);
    const space = walkerParamTaskSpace(o);
    super(numEnvs, { family: 'walker-param', options: o, modelFile: WALKER_MODEL, taskSpace: space, obsDim: 17, horizon: o.horizon, frameSkip: o.frameSkip, actionLow: -1, actionHigh: 1 }, rng);
    this.xBefore = new Float64Array(numEnvs);
    this.setTasks(space.sampleMany(rng.split('tasks'), numEnvs));
  }

  protected override physicsKey(t: Task): string {
    return JSON.stringify([t.params.mass, t.params.inertia, t.params.damping, t.params.friction]);
  }

  /** A copy of the base model with the task's multipliers applied, constants recomputed. */
  protected override buildModel(_key: string, t: Task): MjModel {
    const mj = this.rt.mj;
    const m = new mj.MjModel(this.base);
    const mass = m.body_mass as Float64Array;
    const inertia = m.body_inertia as Float64Array;
    const damping = m.dof_damping as Float64Array;
    const friction = m.geom_friction as Float64Array;
    const em = t.params.mass as number[];
    const ei = t.params.inertia as number[];
    const ed = t.params.damping as number[];
    const ef = t.params.friction as number[];
    for (let b = 0; b < WALKER_BODIES; b++) {
      mass[b + 1] *= 1.5 ** em[b];
      for (let k = 0; k < 3; k++) inertia[3 * (b + 1) + k] *= 1.5 ** ei[3 * b + k];
    }
    WALKER_JOINT_DOFS.forEach((dof, k) => {
      damping[dof] *= 1.3 ** ed[k];
    });
    for (let k = 0; k < 3 * WALKER_GEOMS; k++) friction[k] *= 1.5 ** ef[k];
    const d = new mj.MjData(m);
    mj.mj_setConst(m, d);
    d.delete();
    return m;
  }

  protected setTaskParams(_i: number, _t: Task): void {
    // the task is all in the model
  }

  protected resetNoise(i: number, rng: Rng): void {
    uniformQposQvel(this.qpos[i], this.qvel[i], rng, 0.005);
  }

  protected beforeStep(i: number): void {
    this.xBefore[i] = this.qpos[i][0];
  }

  protected reward(i: number, a: Float32Array, o: number): number {
    let c = 0;
    for (let k = 0; k < this.actDim; k++) c += a[o + k] * a[o + k];
    return (this.qpos[i][0] - this.xBefore[i]) / this.dt + this.options.aliveBonus - this.options.ctrlCost * c;
  }

  protected override isTerminal(i: number): boolean {
    const q = this.qpos[i];
    const h = q[1];
    const ang = q[2];
    return !(h > 0.8 && h < 2 && ang > -1 && ang < 1);
  }

  protected observe(i: number, out: Float32Array): void {
    const q = this.qpos[i];
    const v = this.qvel[i];
    for (let k = 1; k < 9; k++) out[k - 1] = q[k];
    for (let k = 0; k < 9; k++) out[8 + k] = v[k] < -10 ? -10 : v[k] > 10 ? 10 : v[k];
  }
}

export const walkerParamFamily: MujocoFamily = {
  name: 'walker-param',
  description: 'Planar walker (MuJoCo) whose masses, inertias, damping and friction are the task: reward velocity + 1 - 0.001|a|^2, terminated when it falls, 200 steps',
  options: walkerParamOptionsSchema,
  setting: 'mdp',
  runtime: 'mujoco',
  taskSpace: walkerParamTaskSpace,
  make: (numEnvs, options, rng) => makeMujocoEnv('walker-param', walkerParamOptionsSchema, numEnvs, options, rng, (n, o, r) => new BatchedWalkerParam(n, o, r)),
};
