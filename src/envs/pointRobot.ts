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
import { BoxSpace, type JsonValue } from '../core/spaces.js';
import { Rng } from '../core/rng.js';
import { TaskSpace, type Task } from '../tasks/taskSpace.js';
import { OutOfSpaceError } from '../core/errors.js';
import type { ActionArray, EnvFamily } from './types.js';
import { EpisodicEnv } from './episodes.js';
import { checkBoxActions, checkInstance, parseOptions } from './common.js';

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

export class BatchedPointRobot extends EpisodicEnv<PointRobotOptions> {
  readonly setting = 'mdp';
  readonly taskSpace: TaskSpace;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: BoxSpace;
  readonly numActions = 0;
  readonly actDim = 2;
  readonly numStates = 0;
  readonly horizon: number;
  readonly maxAction: number;

  /** Goal angle and position of each instance. */
  readonly angle: Float64Array;
  readonly goal: Float64Array;
  /** Exact position (double precision; `obs` holds it rounded to float32). */
  readonly pos: Float64Array;

  constructor(numEnvs: number, options?: Record<string, unknown>, rng: Rng = new Rng(0)) {
    const o = parseOptions('point-robot', pointRobotOptionsSchema, options);
    super('point-robot', numEnvs, 2, o);
    this.horizon = o.horizon;
    this.maxAction = o.maxAction;
    this.taskSpace = pointRobotTaskSpace(o);
    const reach = o.maxAction * o.horizon;
    this.observationSpace = new BoxSpace([-reach, -reach], [reach, reach]);
    this.actionSpace = new BoxSpace([-o.maxAction, -o.maxAction], [o.maxAction, o.maxAction]);
    this.angle = new Float64Array(numEnvs);
    this.goal = new Float64Array(numEnvs * 2);
    this.pos = new Float64Array(numEnvs * 2);
    this.setTasks(this.taskSpace.sampleMany(rng.split('tasks'), numEnvs));
  }

  protected assign(i: number, t: Task): void {
    const a = t.params.angle as number;
    this.angle[i] = a;
    this.goal[2 * i] = Math.cos(a);
    this.goal[2 * i + 1] = Math.sin(a);
    this.resetInstance(i);
  }

  protected taskParams(i: number): Record<string, JsonValue> {
    return { angle: this.angle[i] };
  }

  protected resetInstance(i: number): void {
    this.pos[2 * i] = 0;
    this.pos[2 * i + 1] = 0;
    this.obs[2 * i] = 0;
    this.obs[2 * i + 1] = 0;
    this.episodeStep[i] = 0;
  }

  step(actions: ActionArray): void {
    const n = this.numEnvs;
    checkBoxActions(this.family, actions, n, 2, -this.maxAction, this.maxAction);
    const pos = this.pos;
    const goal = this.goal;
    const obs = this.obs;
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
        obs[2 * i] = x;
        obs[2 * i + 1] = y;
        this.endEpisode(i, false);
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
  options: pointRobotOptionsSchema,
  setting: 'mdp',
  taskSpace: pointRobotTaskSpace,
  make: (numEnvs, options, rng) => new BatchedPointRobot(numEnvs, options, rng),
};
