/**
 * `ant-dir` (PEARL's Ant-Dir, the set-up the AD / DPT successors use): a quadruped whose task is a
 * direction on the circle, angle uniform in [0, 2 pi). Reward per step (PEARL / Gymnasium Ant):
 * `v . (cos g, sin g) - 0.5 |a|^2 - 0.5e-3 |clip(cfrc_ext, -1, 1)|^2 + 1` (velocity of the torso along
 * the goal direction over the step's 0.05 s, control cost, contact cost, survive bonus). Terminated
 * when the torso leaves the healthy height range [0.2, 1.0] m (Gymnasium's rule); otherwise 200-step
 * episodes. Observation (27 values, Gymnasium Ant without contact forces): qpos[2..14] (torso height,
 * orientation quaternion, 8 joint angles), qvel[0..13]. Reset noise: qpos + U(-0.1, 0.1) (the
 * quaternion is renormalized by MuJoCo), qvel ~ N(0, 0.1^2).
 */
import { z } from 'zod';
import { BoxSpace } from '../../core/spaces.js';
import { Rng } from '../../core/rng.js';
import { TaskSpace, splitTasks, type Task, type TaskSplit } from '../../tasks/taskSpace.js';
import { parseOptions } from '../common.js';
import { MujocoEnv, type MujocoFamily, type PerInstanceArray, uniformQposNormalQvel } from './base.js';
import { makeMujocoEnv, threadsOption } from './threaded.js';

export const ANT_MODEL = 'ant.xml';
const TORSO = 1;

export const antDirOptionsSchema = z
  .object({
    horizon: z.number().int().min(1).max(1_000_000).default(200),
    frameSkip: z.number().int().min(1).max(100).default(5),
    ctrlCost: z.number().min(0).default(0.5),
    contactCost: z.number().min(0).default(0.5e-3),
    surviveBonus: z.number().default(1),
    /** End the episode (terminated) when the torso height leaves [0.2, 1.0]. */
    terminateWhenUnhealthy: z.boolean().default(true),
    threads: threadsOption,
  })
  .strict();
export type AntDirOptions = z.output<typeof antDirOptionsSchema>;

export function antDirTaskSpace(options?: Record<string, unknown>): TaskSpace {
  parseOptions('ant-dir', antDirOptionsSchema, options);
  return new TaskSpace('ant-dir', { angle: new BoxSpace(0, 2 * Math.PI) }, { descriptions: { angle: 'goal direction in radians, counter-clockwise from +x (unobserved)' } });
}

/** 50 goal directions drawn with `seed`, 45 train / 5 held out (PEARL's task count). */
export function antDirSplit(seed = 0): TaskSplit {
  return splitTasks(antDirTaskSpace(), { seed, heldOut: 5, train: 45 });
}

export class BatchedAntDir extends MujocoEnv<AntDirOptions> {
  /** Unit goal direction (x, y) of each instance. */
  readonly direction: Float64Array;
  private readonly xyBefore: Float64Array;
  /** cfrc_ext of each instance (nbody x 6), computed after each step for the contact cost. */
  private cfrc: Float64Array[] = [];

  constructor(numEnvs: number, options?: Record<string, unknown>, rng: Rng = new Rng(0)) {
    const o = parseOptions('ant-dir', antDirOptionsSchema, options);
    const space = antDirTaskSpace(o);
    super(numEnvs, { family: 'ant-dir', options: o, modelFile: ANT_MODEL, taskSpace: space, obsDim: 27, horizon: o.horizon, frameSkip: o.frameSkip, actionLow: -1, actionHigh: 1 }, rng);
    this.direction = new Float64Array(2 * numEnvs);
    this.xyBefore = new Float64Array(2 * numEnvs);
    this.setTasks(space.sampleMany(rng.split('tasks'), numEnvs));
  }

  protected override renewExtraViews(i: number): void {
    this.cfrc[i] = this.datas[i].cfrc_ext;
  }

  override perInstanceArrays(): Record<string, PerInstanceArray> {
    return { ...super.perInstanceArrays(), direction: this.direction };
  }

  protected setTaskParams(i: number, t: Task): void {
    const g = t.params.angle as number;
    this.direction[2 * i] = Math.cos(g);
    this.direction[2 * i + 1] = Math.sin(g);
  }

  protected resetNoise(i: number, rng: Rng): void {
    uniformQposNormalQvel(this.qpos[i], this.qvel[i], rng, 0.1, 0.1);
  }

  protected beforeStep(i: number): void {
    const x = this.xpos[i];
    this.xyBefore[2 * i] = x[3 * TORSO];
    this.xyBefore[2 * i + 1] = x[3 * TORSO + 1];
  }

  protected override afterStep(i: number): void {
    // cfrc_ext is only computed on request (MuJoCo >= 2.2 leaves it out of mj_step)
    if (this.options.contactCost > 0) this.rt.mj.mj_rnePostConstraint(this.models[i], this.datas[i]);
  }

  protected reward(i: number, a: Float32Array, o: number): number {
    const x = this.xpos[i];
    const vx = (x[3 * TORSO] - this.xyBefore[2 * i]) / this.dt;
    const vy = (x[3 * TORSO + 1] - this.xyBefore[2 * i + 1]) / this.dt;
    const forward = vx * this.direction[2 * i] + vy * this.direction[2 * i + 1];
    let c = 0;
    for (let k = 0; k < this.actDim; k++) c += a[o + k] * a[o + k];
    let contact = 0;
    if (this.options.contactCost > 0) {
      const f = this.cfrc[i];
      for (let k = 0; k < f.length; k++) {
        const v = f[k] < -1 ? -1 : f[k] > 1 ? 1 : f[k];
        contact += v * v;
      }
    }
    return forward - this.options.ctrlCost * c - this.options.contactCost * contact + this.options.surviveBonus;
  }

  protected override isTerminal(i: number): boolean {
    if (!this.options.terminateWhenUnhealthy) return false;
    const z = this.qpos[i][2];
    return !(z >= 0.2 && z <= 1.0);
  }

  protected observe(i: number, out: Float32Array): void {
    const q = this.qpos[i];
    const v = this.qvel[i];
    for (let k = 2; k < 15; k++) out[k - 2] = q[k];
    for (let k = 0; k < 14; k++) out[13 + k] = v[k];
  }
}

export const antDirFamily: MujocoFamily = {
  name: 'ant-dir',
  description: 'Ant quadruped (MuJoCo) walking in a goal direction on the circle: reward velocity along it - control and contact costs + 1, 8 torques in [-1, 1], 200 steps',
  options: antDirOptionsSchema,
  setting: 'mdp',
  runtime: 'mujoco',
  taskSpace: antDirTaskSpace,
  make: (numEnvs, options, rng) => makeMujocoEnv('ant-dir', antDirOptionsSchema, numEnvs, options, rng, (n, o, r) => new BatchedAntDir(n, o, r)),
};
