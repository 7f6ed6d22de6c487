/**
 * Half-cheetah task families (PEARL, Rakelly et al. 2019; the set-up T2MIR uses): `cheetah-vel`, a
 * target forward velocity uniform in [0, 3], reward `-|v_x - v_goal| - 0.05 |a|^2`; `cheetah-dir`,
 * forward or backward, reward `dir * v_x - 0.05 |a|^2`. Both share one model (the task only changes
 * the reward). v_x is the torso's x displacement over the step divided by the step's 0.05 s (frame
 * skip 5 at 0.01 s). Observation (20 values, PEARL's): qpos[1..8] (rootz, rooty, 6 joint angles),
 * qvel[0..8], the torso position (x, y, z). Episodes of 200 steps, never terminated. Reset noise:
 * qpos + U(-0.1, 0.1), qvel ~ N(0, 0.1^2).
 */
import { z } from 'zod';
import { BoxSpace, DiscreteSpace } from '../../core/spaces.js';
import { Rng } from '../../core/rng.js';
import { TaskSpace, splitTasks, type Task, type TaskSplit } from '../../tasks/taskSpace.js';
import { parseOptions } from '../common.js';
import { MujocoEnv, type MujocoFamily, type PerInstanceArray, uniformQposNormalQvel } from './base.js';
import { makeMujocoEnv, threadsOption } from './threaded.js';

export const CHEETAH_MODEL = 'half_cheetah.xml';
/** Body index of the torso in half_cheetah.xml (0 is the world). */
const TORSO = 1;

export const cheetahOptionsSchema = z
  .object({
    horizon: z.number().int().min(1).max(1_000_000).default(200),
    frameSkip: z.number().int().min(1).max(100).default(5),
    /** Weight of the control cost |a|^2. */
    ctrlCost: z.number().min(0).default(0.05),
    /**
     * Upper end of cheetah-vel's target velocities, m/s (PEARL's 3 by default; the ALP-GMM-style
     * curriculum uses 10, whose upper part the cheetah cannot reach).
     */
    maxVelocity: z.number().positive().max(100).default(3),
    threads: threadsOption,
  })
  .strict();
export type CheetahOptions = z.output<typeof cheetahOptionsSchema>;

export function cheetahVelTaskSpace(options?: Record<string, unknown>): TaskSpace {
  const o = parseOptions('cheetah-vel', cheetahOptionsSchema, options);
  return new TaskSpace('cheetah-vel', { velocity: new BoxSpace(0, o.maxVelocity) }, { descriptions: { velocity: 'target forward velocity in m/s (unobserved)' } });
}

export function cheetahDirTaskSpace(options?: Record<string, unknown>): TaskSpace {
  parseOptions('cheetah-dir', cheetahOptionsSchema, options);
  return new TaskSpace(
    'cheetah-dir',
    { direction: new DiscreteSpace(3, -1) },
    {
      enumerate: () => [{ direction: -1 }, { direction: 1 }],
      validate: (p) => (p.direction === 0 ? 'direction must be -1 (backward) or 1 (forward), got 0' : null),
      descriptions: { direction: '1 = run forward, -1 = run backward (unobserved)' },
    },
  );
}

/** The PEARL / T2MIR split: 50 target velocities drawn with `seed`, 45 train / 5 held out. */
export function cheetahVelSplit(seed = 0): TaskSplit {
  return splitTasks(cheetahVelTaskSpace(), { seed, heldOut: 5, train: 45 });
}

/** Both directions are used for training and for evaluation (there are only two tasks). */
export function cheetahDirSplit(): TaskSplit {
  const all = cheetahDirTaskSpace().enumerate();
  return { train: all, heldOut: all };
}

export class BatchedCheetah extends MujocoEnv<CheetahOptions> {
  /** Target velocity (cheetah-vel) or direction (cheetah-dir) of each instance. */
  readonly goal: Float64Array;
  /** Torso x before the step (for the velocity). */
  private readonly xBefore: Float64Array;
  /** Forward velocity of each instance's last step (m/s). */
  readonly velocity: Float64Array;
  private readonly isVel: boolean;

  constructor(family: 'cheetah-vel' | 'cheetah-dir', numEnvs: number, options?: Record<string, unknown>, rng: Rng = new Rng(0)) {
    const o = parseOptions(family, cheetahOptionsSchema, options);
    const space = family === 'cheetah-vel' ? cheetahVelTaskSpace(o) : cheetahDirTaskSpace(o);
    super(numEnvs, { family, options: o, modelFile: CHEETAH_MODEL, taskSpace: space, obsDim: 20, horizon: o.horizon, frameSkip: o.frameSkip, actionLow: -1, actionHigh: 1 }, rng);
    this.isVel = family === 'cheetah-vel';
    this.goal = new Float64Array(numEnvs);
    this.xBefore = new Float64Array(numEnvs);
    this.velocity = new Float64Array(numEnvs);
    this.setTasks(space.sampleMany(rng.split('tasks'), numEnvs));
  }

  override perInstanceArrays(): Record<string, PerInstanceArray> {
    return { ...super.perInstanceArrays(), goal: this.goal, velocity: this.velocity };
  }

  protected setTaskParams(i: number, t: Task): void {
    this.goal[i] = (this.isVel ? t.params.velocity : t.params.direction) as number;
  }

  protected resetNoise(i: number, rng: Rng): void {
    uniformQposNormalQvel(this.qpos[i], this.qvel[i], rng, 0.1, 0.1);
  }

  protected beforeStep(i: number): void {
    this.xBefore[i] = this.xpos[i][3 * TORSO];
  }

  protected reward(i: number, a: Float32Array, o: number): number {
    const v = (this.xpos[i][3 * TORSO] - this.xBefore[i]) / this.dt;
    this.velocity[i] = v;
    let c = 0;
    for (let k = 0; k < this.actDim; k++) c += a[o + k] * a[o + k];
    const g = this.goal[i];
    return (this.isVel ? -Math.abs(v - g) : g * v) - this.options.ctrlCost * c;
  }

  protected observe(i: number, out: Float32Array): void {
    const q = this.qpos[i];
    const v = this.qvel[i];
    const x = this.xpos[i];
    for (let k = 1; k < 9; k++) out[k - 1] = q[k];
    for (let k = 0; k < 9; k++) out[8 + k] = v[k];
    out[17] = x[3 * TORSO];
    out[18] = x[3 * TORSO + 1];
    out[19] = x[3 * TORSO + 2];
  }
}

export const cheetahVelFamily: MujocoFamily = {
  name: 'cheetah-vel',
  description: 'Half-cheetah (MuJoCo) running at a target velocity in [0, 3] m/s (option maxVelocity): reward -|v - goal| - 0.05|a|^2, 6 torques in [-1, 1], 200 steps',
  options: cheetahOptionsSchema,
  setting: 'mdp',
  runtime: 'mujoco',
  taskSpace: cheetahVelTaskSpace,
  make: (numEnvs, options, rng) => makeMujocoEnv('cheetah-vel', cheetahOptionsSchema, numEnvs, options, rng, (n, o, r) => new BatchedCheetah('cheetah-vel', n, o, r)),
};

export const cheetahDirFamily: MujocoFamily = {
  name: 'cheetah-dir',
  description: 'Half-cheetah (MuJoCo) running forward or backward: reward dir * v - 0.05|a|^2, 6 torques in [-1, 1], 200 steps',
  options: cheetahOptionsSchema,
  setting: 'mdp',
  runtime: 'mujoco',
  taskSpace: cheetahDirTaskSpace,
  make: (numEnvs, options, rng) => makeMujocoEnv('cheetah-dir', cheetahOptionsSchema, numEnvs, options, rng, (n, o, r) => new BatchedCheetah('cheetah-dir', n, o, r)),
};
