/**
 * `reach` and `push`: table-top manipulation in the spirit of Meta-World ML1 (Yu et al. 2019;
 * Reach-v2 and Push-v2, the T2MIR / LHF set-ups), on our own scene `tabletop.xml`: a table, a hand
 * driven like Meta-World's Sawyer hand (a mocap body moved by 3-D position deltas of at most 1 cm per
 * step, plus a gripper command), and a puck. A task is the goal position (not observed) and the
 * puck's start; 50 variations drawn with a seed, 45 train / 5 held out.
 *
 * Action (4): dx, dy, dz in [-1, 1] (x 1 cm; the hand is kept in its workspace), gripper in [-1, 1]
 * (1 closes, -1 opens). Observation (22): hand position (3), gripper opening in [0, 1] (1), puck
 * position (3) and orientation quaternion (4), then the same 11 values of the previous step
 * (Meta-World's frame stacking; the second object and the goal of its 39 values are left out).
 * Rewards (Meta-World v2's shapes, tolerance with a long tail):
 *   reach: 10 * tol(|tcp - goal|, 0.05, margin |hand_init - goal|); success when |tcp - goal| <= 5 cm;
 *   push:  2 * near + (|tcp - puck| < 0.05 ? 1 + 5 * inPlace : 0), or 10 once |puck - goal| < 0.05,
 *          near = tol(|tcp - puck|, 0.04, margin |hand_init - puck_init|), inPlace = tol(|puck - goal|,
 *          0.05, margin |puck_init - goal|) (Meta-World's gripper-caging term is replaced by `near`:
 *          the puck is pushed, not grasped); success when |puck - goal| <= 7 cm (in the table plane).
 * Episodes of 100 steps (T2MIR), never terminated; `success` (this step), `episodeSuccess` (any step
 * so far) and `finalEpisodeSuccess` (the episode that just ended, where terminated | truncated) report
 * it. `expertAction(i, out)` is a scripted expert that knows the goal: move to the goal (reach);
 * move above a point behind the puck on the line to the goal, descend, push along the line (push).
 */
import { z } from 'zod';
import { BoxSpace } from '../../core/spaces.js';
import { OutOfSpaceError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { TaskSpace, splitTasks, type Task, type TaskSplit } from '../../tasks/taskSpace.js';
import { checkInstance, parseOptions } from '../common.js';
import { MujocoEnv, type MujocoFamily, type PerInstanceArray } from './base.js';
import { makeMujocoEnv, threadsOption } from './threaded.js';

export const TABLETOP_MODEL = 'tabletop.xml';
/** Where the hand (its tool centre point) starts, as in Meta-World's ML1 tasks. */
export const HAND_INIT = [0, 0.6, 0.2] as const;
/** The hand's workspace (tool centre point). */
export const HAND_LOW = [-0.4, 0.4, 0.01] as const;
export const HAND_HIGH = [0.4, 1.0, 0.35] as const;
/** Metres per unit of action per step. */
export const ACTION_SCALE = 0.01;
export const PUCK_RADIUS = 0.02;
export const PUCK_Z = 0.02;
/** qpos layout: finger_l, finger_r, puck (x, y, z, qw, qx, qy, qz). */
const PUCK_Q = 2;

export const tabletopOptionsSchema = z
  .object({
    horizon: z.number().int().min(1).max(1_000_000).default(100),
    frameSkip: z.number().int().min(1).max(100).default(5),
    threads: threadsOption,
  })
  .strict();
export type TabletopOptions = z.output<typeof tabletopOptionsSchema>;

type Kind = 'reach' | 'push';

/** Goal and puck ranges of Meta-World's Reach-v2 and Push-v2 (goal z fixed on the table for push). */
export function tabletopTaskSpace(kind: Kind, options?: Record<string, unknown>): TaskSpace {
  parseOptions(kind, tabletopOptionsSchema, options);
  const goal = kind === 'reach' ? new BoxSpace([-0.1, 0.8, 0.05], [0.1, 0.9, 0.3]) : new BoxSpace([-0.1, 0.8, PUCK_Z], [0.1, 0.9, PUCK_Z]);
  return new TaskSpace(
    kind,
    { goal, puck: new BoxSpace([-0.1, 0.6], [0.1, 0.7]) },
    {
      descriptions: {
        goal: kind === 'reach' ? 'goal position (x, y, z) in m for the hand (unobserved)' : 'goal position (x, y, z) in m for the puck, on the table (unobserved)',
        puck: 'start position (x, y) of the puck on the table, m',
      },
    },
  );
}

/** Meta-World ML1's 50 goal variations: drawn with `seed`, 45 train / 5 held out. */
export function reachSplit(seed = 0): TaskSplit {
  return splitTasks(tabletopTaskSpace('reach'), { seed, heldOut: 5, train: 45 });
}
export function pushSplit(seed = 0): TaskSplit {
  return splitTasks(tabletopTaskSpace('push'), { seed, heldOut: 5, train: 45 });
}

/** Meta-World's (dm_control's) tolerance with a long-tail sigmoid: 1 within [0, bound], 0.1 at bound + margin. */
export function tolerance(x: number, bound: number, margin: number): number {
  if (x <= bound) return 1;
  if (margin <= 0) return 0;
  const d = (x - bound) / margin;
  const scale = 3; // sqrt(1 / 0.1 - 1)
  return 1 / ((d * scale) * (d * scale) + 1);
}

const dist3 = (ax: number, ay: number, az: number, bx: number, by: number, bz: number): number => Math.hypot(ax - bx, ay - by, az - bz);

export class BatchedTabletop extends MujocoEnv<TabletopOptions> {
  readonly kind: Kind;
  /** Goal (x, y, z) and puck start (x, y) of each instance. */
  readonly goal: Float64Array;
  readonly puckStart: Float64Array;
  /** 1 where the step just taken ended in success; episodeSuccess: any step of the current episode. */
  readonly success: Uint8Array;
  readonly episodeSuccess: Uint8Array;
  /** Success of the episode that just ended (valid where terminated | truncated). */
  readonly finalEpisodeSuccess: Uint8Array;
  private readonly from: Float64Array;
  private readonly to: Float64Array;
  private readonly prev: Float32Array;
  private readonly fresh: Uint8Array;

  constructor(kind: Kind, numEnvs: number, options?: Record<string, unknown>, rng: Rng = new Rng(0)) {
    const o = parseOptions(kind, tabletopOptionsSchema, options);
    const space = tabletopTaskSpace(kind, o);
    super(numEnvs, { family: kind, options: o, modelFile: TABLETOP_MODEL, taskSpace: space, obsDim: 22, horizon: o.horizon, frameSkip: o.frameSkip, actionLow: -1, actionHigh: 1, actDim: 4 }, rng);
    this.kind = kind;
    this.goal = new Float64Array(3 * numEnvs);
    this.puckStart = new Float64Array(2 * numEnvs);
    this.success = new Uint8Array(numEnvs);
    this.episodeSuccess = new Uint8Array(numEnvs);
    this.finalEpisodeSuccess = new Uint8Array(numEnvs);
    this.from = new Float64Array(3 * numEnvs);
    this.to = new Float64Array(3 * numEnvs);
    this.prev = new Float32Array(11 * numEnvs);
    this.fresh = new Uint8Array(numEnvs);
    this.setTasks(space.sampleMany(rng.split('tasks'), numEnvs));
  }

  override perInstanceArrays(): Record<string, PerInstanceArray> {
    return { ...super.perInstanceArrays(), goal: this.goal, puckStart: this.puckStart, success: this.success, episodeSuccess: this.episodeSuccess, finalEpisodeSuccess: this.finalEpisodeSuccess };
  }

  protected setTaskParams(i: number, t: Task): void {
    const g = t.params.goal as number[];
    const p = t.params.puck as number[];
    this.goal.set(g, 3 * i);
    this.puckStart.set(p, 2 * i);
  }

  /** The start of an episode is fixed by the task (as in Meta-World): hand at HAND_INIT, puck at its start. */
  protected resetNoise(i: number, _rng: Rng): void {
    const q = this.qpos[i];
    q[PUCK_Q] = this.puckStart[2 * i];
    q[PUCK_Q + 1] = this.puckStart[2 * i + 1];
    q[PUCK_Q + 2] = PUCK_Z;
    const m = this.mocapPos[i];
    m[0] = HAND_INIT[0];
    m[1] = HAND_INIT[1];
    m[2] = HAND_INIT[2];
    this.success[i] = 0;
    this.episodeSuccess[i] = 0;
    this.fresh[i] = 1;
  }

  protected beforeStep(_i: number): void {}

  protected override applyAction(i: number, a: Float32Array, o: number): void {
    const m = this.mocapPos[i];
    for (let k = 0; k < 3; k++) {
      const x = m[k] + ACTION_SCALE * a[o + k];
      this.from[3 * i + k] = m[k];
      this.to[3 * i + k] = x < HAND_LOW[k] ? HAND_LOW[k] : x > HAND_HIGH[k] ? HAND_HIGH[k] : x;
    }
    const open = 0.02 * (1 - a[o + 3]); // each finger: 0 (closed) .. 0.04 m
    const c = this.ctrl[i];
    c[0] = open;
    c[1] = open;
  }

  /** The hand moves in equal parts over the frameSkip MuJoCo steps (no jump into the puck). */
  protected override beforeSubstep(i: number, s: number): void {
    const m = this.mocapPos[i];
    const f = (s + 1) / this.frameSkip;
    for (let k = 0; k < 3; k++) m[k] = this.from[3 * i + k] + (this.to[3 * i + k] - this.from[3 * i + k]) * f;
  }

  protected reward(i: number, _a: Float32Array, _o: number): number {
    const h = this.mocapPos[i];
    const q = this.qpos[i];
    const gx = this.goal[3 * i];
    const gy = this.goal[3 * i + 1];
    const gz = this.goal[3 * i + 2];
    let r: number;
    let ok: boolean;
    if (this.kind === 'reach') {
      const d = dist3(h[0], h[1], h[2], gx, gy, gz);
      r = 10 * tolerance(d, 0.05, dist3(HAND_INIT[0], HAND_INIT[1], HAND_INIT[2], gx, gy, gz));
      ok = d <= 0.05;
    } else {
      const px = q[PUCK_Q];
      const py = q[PUCK_Q + 1];
      const pz = q[PUCK_Q + 2];
      const sx = this.puckStart[2 * i];
      const sy = this.puckStart[2 * i + 1];
      const tcpToPuck = dist3(h[0], h[1], h[2], px, py, pz);
      const puckToGoal = Math.hypot(px - gx, py - gy);
      const near = tolerance(tcpToPuck, 0.04, dist3(HAND_INIT[0], HAND_INIT[1], HAND_INIT[2], sx, sy, PUCK_Z));
      const inPlace = tolerance(puckToGoal, 0.05, Math.hypot(sx - gx, sy - gy));
      r = puckToGoal < 0.05 ? 10 : 2 * near + (tcpToPuck < 0.05 ? 1 + 5 * inPlace : 0);
      ok = puckToGoal <= 0.07;
    }
    this.success[i] = ok ? 1 : 0;
    if (ok) this.episodeSuccess[i] = 1;
    return r;
  }

  protected override onEpisodeEnd(i: number): void {
    this.finalEpisodeSuccess[i] = this.episodeSuccess[i];
  }

  protected observe(i: number, out: Float32Array): void {
    const h = this.mocapPos[i];
    const q = this.qpos[i];
    out[0] = h[0];
    out[1] = h[1];
    out[2] = h[2];
    out[3] = (q[0] + q[1]) / 0.08;
    for (let k = 0; k < 7; k++) out[4 + k] = q[PUCK_Q + k];
    const p = this.prev;
    const o = 11 * i;
    if (this.fresh[i]) {
      for (let k = 0; k < 11; k++) p[o + k] = out[k];
      this.fresh[i] = 0;
    }
    for (let k = 0; k < 11; k++) {
      out[11 + k] = p[o + k];
      p[o + k] = out[k];
    }
  }

  /**
   * The scripted expert's action for instance i (it knows the goal) into out[0..4). Reach: straight
   * to the goal. Push: with the gripper closed, travel 8 cm above the table to a point 5 cm behind
   * the puck on the line from the goal through the puck, descend to 1.5 cm, then push along the line
   * (re-approaching from above when the hand has drifted off it).
   */
  expertAction(i: number, out: Float32Array): void {
    checkInstance(this.family, i, this.numEnvs);
    if (!out || out.length < 4) throw new OutOfSpaceError(`${this.family}: expertAction needs an output Float32Array of length 4`);
    this.ensureViews();
    const h = this.mocapPos[i];
    const gx = this.goal[3 * i];
    const gy = this.goal[3 * i + 1];
    const gz = this.goal[3 * i + 2];
    let tx: number;
    let ty: number;
    let tz: number;
    if (this.kind === 'reach') {
      tx = gx;
      ty = gy;
      tz = gz;
      out[3] = -1;
    } else {
      const q = this.qpos[i];
      const px = q[PUCK_Q];
      const py = q[PUCK_Q + 1];
      let ux = gx - px;
      let uy = gy - py;
      const dist = Math.hypot(ux, uy);
      if (dist > 1e-9) {
        ux /= dist;
        uy /= dist;
      } else {
        ux = 0;
        uy = 1;
      }
      const rx = h[0] - px;
      const ry = h[1] - py;
      const along = rx * ux + ry * uy;
      const perp = Math.abs(rx * uy - ry * ux);
      const LOW = 0.015;
      const HIGH = 0.08;
      const aligned = along < -0.01 && perp < 0.012 && h[2] < 0.03;
      if (aligned) {
        // one step forward from the hand's place on the line (which also pulls it back onto the line)
        const ahead = along + Math.min(dist, ACTION_SCALE);
        tx = px + ux * ahead;
        ty = py + uy * ahead;
        tz = LOW;
      } else {
        const bx = px - ux * 0.05;
        const by = py - uy * 0.05;
        const offBehind = Math.hypot(h[0] - bx, h[1] - by);
        if (h[2] < HIGH - 0.005 && offBehind > 0.01 && Math.hypot(rx, ry) < 0.07) {
          // low and near the puck but not behind it: go up first
          tx = h[0];
          ty = h[1];
          tz = HIGH;
        } else if (offBehind > 0.01) {
          tx = bx;
          ty = by;
          tz = Math.max(h[2], HIGH);
        } else {
          tx = bx;
          ty = by;
          tz = LOW;
        }
      }
      out[3] = 1;
    }
    const t = [tx, ty, tz];
    for (let k = 0; k < 3; k++) {
      const v = (t[k] - h[k]) / ACTION_SCALE;
      out[k] = v < -1 ? -1 : v > 1 ? 1 : v;
    }
  }
}

export interface ExpertSuccess {
  family: Kind;
  goals: number;
  successes: number;
  success_rate: number;
  /** Steps to the first success of each goal's episode (-1: none). */
  first_success_step: number[];
}

/** Runs the scripted expert for one episode on each task (default: the 50 goal variations of seed 0). */
export function expertSuccess(kind: Kind, tasks?: Task[]): ExpertSuccess {
  const split = kind === 'reach' ? reachSplit() : pushSplit();
  const ts = tasks ?? [...split.train, ...split.heldOut];
  const env = new BatchedTabletop(kind, ts.length, {}, new Rng(0));
  try {
    env.setTasks(ts);
    const a = new Float32Array(4 * ts.length);
    const out = new Float32Array(4);
    const first = new Array<number>(ts.length).fill(-1);
    for (let s = 0; s < env.horizon; s++) {
      for (let i = 0; i < ts.length; i++) {
        env.expertAction(i, out);
        a.set(out, 4 * i);
      }
      env.step(a);
      for (let i = 0; i < ts.length; i++) if (env.success[i] && first[i] < 0) first[i] = s + 1;
    }
    const successes = env.finalEpisodeSuccess.reduce((x, y) => x + y, 0);
    return { family: kind, goals: ts.length, successes, success_rate: successes / ts.length, first_success_step: first };
  } finally {
    env.close();
  }
}

export const reachFamily: MujocoFamily = {
  name: 'reach',
  description: 'Table-top reach (MuJoCo, Meta-World-like): move a mocap hand (3-D deltas + gripper) to an unobserved goal; tolerance-shaped reward, success within 5 cm, 100 steps',
  options: tabletopOptionsSchema,
  setting: 'mdp',
  runtime: 'mujoco',
  taskSpace: (options) => tabletopTaskSpace('reach', options),
  make: (numEnvs, options, rng) => makeMujocoEnv('reach', tabletopOptionsSchema, numEnvs, options, rng, (n, o, r) => new BatchedTabletop('reach', n, o, r)),
};

export const pushFamily: MujocoFamily = {
  name: 'push',
  description: 'Table-top push (MuJoCo, Meta-World-like): push a puck to an unobserved goal with a mocap hand (3-D deltas + gripper); success within 7 cm, 100 steps',
  options: tabletopOptionsSchema,
  setting: 'mdp',
  runtime: 'mujoco',
  taskSpace: (options) => tabletopTaskSpace('push', options),
  make: (numEnvs, options, rng) => makeMujocoEnv('push', tabletopOptionsSchema, numEnvs, options, rng, (n, o, r) => new BatchedTabletop('push', n, o, r)),
};
