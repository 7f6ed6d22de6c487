/**
 * Point robot: continuous 2-D navigation (the PEARL / VariBAD point-robot set-up, dense variant).
 * The agent starts at the origin; the task is the angle (in [0, pi]) of a goal on the upper half
 * circle of radius 1 (unobserved). Actions are 2-D displacements with each coordinate in
 * [-maxAction, maxAction] (0.1 by default); an action outside that box is an error, never clamped.
 * Reward after each step: minus the Euclidean distance from the new position to the goal. Episodes
 * are truncated after `horizon` steps (20 by default: at 0.1 per coordinate the goal is reachable in
 * 10 steps, so half an episode is spent at or near the goal). Observation: the position (x, y).
 *
 * Oracle: in L-infinity steps of size m, the positions reachable after k steps form the box of
 * half-width k*m around the start, and moving each coordinate toward the goal by at most m lands on
 * the point of that box nearest to the goal at every step at once; that policy therefore minimizes
 * every term of the return and is exactly optimal.
 */
import { z } from 'zod';
import { BoxSpace } from '../core/spaces.js';
import { Rng } from '../core/rng.js';
import { TaskSpace, type Task } from '../tasks/taskSpace.js';
import { OutOfSpaceError } from '../core/errors.js';
import type { ActionArray, BatchedEnv, EnvFamily } from './types.js';
import { assignTasks, checkBoxActions, checkInstance, parseOptions } from './common.js';

export const pointRobotOptionsSchema = z
  .object({
    horizon: z.number().int().min(1).max(1_000_000).default(20),
    maxAction: z.number().positive().max(10).default(0.1),
  })
  .strict();
export type PointRobotOptions = z.output<typeof pointRobotOptionsSchema>;

export function pointRobotTaskSpace(_options?: Record<string, unknown>): TaskSpace {
  parseOptions('point-robot', pointRobotOptionsSchema, _options);
  return new TaskSpace('point-robot', { angle: new BoxSpace(0, Math.PI) }, { descriptions: { angle: 'goal angle in radians; goal = (cos, sin) on the upper half circle of radius 1 (unobserved)' } });
}

export class BatchedPointRobot implements BatchedEnv {
  readonly family = 'point-robot';
  readonly taskSpace: TaskSpace;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: BoxSpace;
  readonly obsDim = 2;
  readonly numActions = 0;
  readonly actDim = 2;
  readonly numStates = 0;
  readonly horizon: number;
  readonly maxAction: number;
  readonly options: PointRobotOptions;

  readonly obs: Float32Array;
  readonly stateIndex: Int32Array;
  readonly rewards: Float32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  readonly finalObs: Float32Array;
  readonly episodeStep: Int32Array;

  /** Goal angle and position of each instance. */
  readonly angle: Float64Array;
  readonly goal: Float64Array;
  /** Exact position (double precision; `obs` holds it rounded to float32). */
  readonly pos: Float64Array;

  constructor(
    readonly numEnvs: number,
    options?: Record<string, unknown>,
    rng: Rng = new Rng(0),
  ) {
    if (!Number.isInteger(numEnvs) || numEnvs < 1) throw new RangeError(`point-robot: numEnvs must be a positive integer, got ${numEnvs}`);
    const o = parseOptions('point-robot', pointRobotOptionsSchema, options);
    this.options = o;
    this.horizon = o.horizon;
    this.maxAction = o.maxAction;
    this.taskSpace = pointRobotTaskSpace(o);
    const reach = o.maxAction * o.horizon;
    this.observationSpace = new BoxSpace([-reach, -reach], [reach, reach]);
    this.actionSpace = new BoxSpace([-o.maxAction, -o.maxAction], [o.maxAction, o.maxAction]);
    this.obs = new Float32Array(numEnvs * 2);
    this.stateIndex = new Int32Array(numEnvs);
    this.rewards = new Float32Array(numEnvs);
    this.terminated = new Uint8Array(numEnvs);
    this.truncated = new Uint8Array(numEnvs);
    this.finalObs = new Float32Array(numEnvs * 2);
    this.episodeStep = new Int32Array(numEnvs);
    this.angle = new Float64Array(numEnvs);
    this.goal = new Float64Array(numEnvs * 2);
    this.pos = new Float64Array(numEnvs * 2);
    this.setTasks(this.taskSpace.sampleMany(rng.split('tasks'), numEnvs));
  }

  /** Assigns tasks (validated) and starts a fresh episode in every instance. */
  setTasks(tasks: Task[]): void {
    assignTasks(this.taskSpace, this.numEnvs, tasks, (i, t) => this.assign(i, t));
  }

  setTask(i: number, task: Task): void {
    checkInstance(this.family, i, this.numEnvs);
    this.assign(i, this.taskSpace.check(task));
  }

  private assign(i: number, t: Task): void {
    const a = t.params.angle as number;
    this.angle[i] = a;
    this.goal[2 * i] = Math.cos(a);
    this.goal[2 * i + 1] = Math.sin(a);
    this.resetInstance(i);
  }

  getTask(i: number): Task {
    checkInstance(this.family, i, this.numEnvs);
    return { family: this.family, params: { angle: this.angle[i] } };
  }

  private resetInstance(i: number): void {
    this.pos[2 * i] = 0;
    this.pos[2 * i + 1] = 0;
    this.obs[2 * i] = 0;
    this.obs[2 * i + 1] = 0;
    this.episodeStep[i] = 0;
  }

  /** Starts a fresh episode everywhere (deterministic dynamics: `seed` changes nothing). */
  reset(_seed?: number): Float32Array {
    for (let i = 0; i < this.numEnvs; i++) this.resetInstance(i);
    this.rewards.fill(0);
    this.terminated.fill(0);
    this.truncated.fill(0);
    return this.obs;
  }

  step(actions: ActionArray): void {
    const n = this.numEnvs;
    checkBoxActions(this.family, actions, n, 2, -this.maxAction, this.maxAction);
    const pos = this.pos;
    const goal = this.goal;
    const obs = this.obs;
    const fin = this.finalObs;
    const rewards = this.rewards;
    const trunc = this.truncated;
    const epStep = this.episodeStep;
    const h = this.horizon;
    for (let i = 0; i < n; i++) {
      const x = pos[2 * i] + actions[2 * i];
      const y = pos[2 * i + 1] + actions[2 * i + 1];
      const dx = x - goal[2 * i];
      const dy = y - goal[2 * i + 1];
      rewards[i] = -Math.sqrt(dx * dx + dy * dy);
      const t = epStep[i] + 1;
      if (t === h) {
        fin[2 * i] = x;
        fin[2 * i + 1] = y;
        trunc[i] = 1;
        epStep[i] = 0;
        pos[2 * i] = 0;
        pos[2 * i + 1] = 0;
        obs[2 * i] = 0;
        obs[2 * i + 1] = 0;
      } else {
        trunc[i] = 0;
        epStep[i] = t;
        pos[2 * i] = x;
        pos[2 * i + 1] = y;
        obs[2 * i] = x;
        obs[2 * i + 1] = y;
      }
    }
  }

  /** Writes the optimal action of instance i (each coordinate moved toward the goal by at most maxAction) into `out`; returns 0. */
  oracleAction(i: number, out?: Float32Array): number {
    checkInstance(this.family, i, this.numEnvs);
    if (!out || out.length < 2) throw new OutOfSpaceError('point-robot: oracleAction needs an output Float32Array of length 2');
    const m = this.maxAction;
    out[0] = Math.max(-m, Math.min(m, this.goal[2 * i] - this.pos[2 * i]));
    out[1] = Math.max(-m, Math.min(m, this.goal[2 * i + 1] - this.pos[2 * i + 1]));
    return 0;
  }

  oracleValue(i: number): number {
    checkInstance(this.family, i, this.numEnvs);
    return pointRobotOptimalReturn(this.goal[2 * i], this.goal[2 * i + 1], this.maxAction, this.horizon);
  }
}

/** Optimal return from the origin: minus the distance from the goal to the box of half-width k*m, summed over steps k = 1..H. */
export function pointRobotOptimalReturn(gx: number, gy: number, maxAction: number, horizon: number): number {
  let total = 0;
  for (let k = 1; k <= horizon; k++) {
    const r = k * maxAction;
    const dx = gx - Math.max(-r, Math.min(r, gx));
    const dy = gy - Math.max(-r, Math.min(r, gy));
    total -= Math.sqrt(dx * dx + dy * dy);
  }
  return total;
}

export const pointRobotFamily: EnvFamily = {
  name: 'point-robot',
  description: 'Point robot: continuous 2-D moves in [-0.1, 0.1]^2 toward an unobserved goal on the unit half circle, reward -distance, 20 steps',
  taskSpace: pointRobotTaskSpace,
  make: (numEnvs, options, rng) => new BatchedPointRobot(numEnvs, options, rng),
};
