/**
 * Dark Room (DPT / AD protocols): a size x size grid (10 x 10 by default), the agent starts in the
 * corner (0, 0), 5 actions (0: x+1, 1: x-1, 2: y+1, 3: y-1, 4: stay; a move into a wall stays put),
 * reward 1 on every step that ends on the goal cell, episodes of 100 steps ending by truncation (never
 * terminated). The goal is the task and is not observed; the observation is (x, y) and `stateIndex`
 * is the cell y * size + x.
 *
 * Variants: `size: 20` (large room) and `permuted: true`, where the task also holds the index (0..119)
 * of a permutation of the 5 actions in lexicographic order: action a moves like base action perm[a].
 * The protocol split of the permuted variant follows DPT: goal fixed in the far corner, the 120
 * permutations split 100 / 20 with seed 0.
 */
import { z } from 'zod';
import { BoxSpace, DiscreteSpace, type JsonValue, type Space } from '../core/spaces.js';
import { Rng } from '../core/rng.js';
import { TaskSpace, splitTasks, type Task, type TaskSplit } from '../tasks/taskSpace.js';
import type { ActionArray, EnvFamily } from './types.js';
import { ACTION_PERMUTATIONS, gridTables, checkDiscreteActions, checkInstance, gridMoveToward, parseOptions } from './common.js';
import { EpisodicEnv } from './episodes.js';

export const darkroomOptionsSchema = z
  .object({
    size: z.number().int().min(2).max(256).default(10),
    horizon: z.number().int().min(1).max(1_000_000).default(100),
    permuted: z.boolean().default(false),
  })
  .strict();
export type DarkroomOptions = z.output<typeof darkroomOptionsSchema>;

const NUM_ACTIONS = 5;
const NUM_PERMS = ACTION_PERMUTATIONS.length;

/** perm-major tables: PERM[p * 5 + a] = base action; INV[p * 5 + b] = action that moves like b. */
const PERM_TABLE = new Int32Array(NUM_PERMS * NUM_ACTIONS);
const INV_TABLE = new Int32Array(NUM_PERMS * NUM_ACTIONS);
for (let p = 0; p < NUM_PERMS; p++) {
  for (let a = 0; a < NUM_ACTIONS; a++) {
    PERM_TABLE[p * NUM_ACTIONS + a] = ACTION_PERMUTATIONS[p][a];
    INV_TABLE[p * NUM_ACTIONS + ACTION_PERMUTATIONS[p][a]] = a;
  }
}

function goalSpaces(size: number): Record<string, Space> {
  return { goalX: new DiscreteSpace(size), goalY: new DiscreteSpace(size) };
}

export function darkroomTaskSpace(options?: Record<string, unknown>): TaskSpace {
  const o = parseOptions('darkroom', darkroomOptionsSchema, options);
  const spaces: Record<string, Space> = goalSpaces(o.size);
  const descriptions: Record<string, string> = {
    goalX: 'goal column (unobserved)',
    goalY: 'goal row (unobserved)',
  };
  if (o.permuted) {
    spaces.perm = new DiscreteSpace(NUM_PERMS);
    descriptions.perm = 'index of the action permutation (lexicographic order of the 120 permutations of 0..4)';
  }
  return new TaskSpace('darkroom', spaces, {
    descriptions,
    enumerate: () => {
      const out: Record<string, JsonValue>[] = [];
      // x outer, y inner, as DPT lists its goals.
      for (let x = 0; x < o.size; x++) {
        for (let y = 0; y < o.size; y++) {
          if (o.permuted) for (let p = 0; p < NUM_PERMS; p++) out.push({ goalX: x, goalY: y, perm: p });
          else out.push({ goalX: x, goalY: y });
        }
      }
      return out;
    },
  });
}

/**
 * The protocol train / held-out split, fixed by seed 0. Plain room: every goal cell, shuffled, 20%
 * held out (10 x 10: 80 / 20). Permuted: goal in the far corner, 120 permutations, 20 held out.
 */
export function darkroomSplit(options?: Record<string, unknown>, seed = 0): TaskSplit {
  const o = parseOptions('darkroom', darkroomOptionsSchema, options);
  if (!o.permuted) return splitTasks(darkroomTaskSpace(o), { seed, heldOut: 0.2 });
  const fixedGoal = new TaskSpace(
    'darkroom',
    { goalX: new DiscreteSpace(1, o.size - 1), goalY: new DiscreteSpace(1, o.size - 1), perm: new DiscreteSpace(NUM_PERMS) },
    { enumerate: () => Array.from({ length: NUM_PERMS }, (_, p) => ({ goalX: o.size - 1, goalY: o.size - 1, perm: p })) },
  );
  return splitTasks(fixedGoal, { seed, heldOut: 20 });
}

export class BatchedDarkRoom extends EpisodicEnv<DarkroomOptions> {
  readonly setting = 'mdp';
  readonly taskSpace: TaskSpace;
  readonly observationSpace: BoxSpace;
  readonly actionSpace = new DiscreteSpace(NUM_ACTIONS);
  readonly numActions = NUM_ACTIONS;
  readonly actDim = 0;
  readonly numStates: number;
  readonly horizon: number;
  readonly size: number;
  readonly permuted: boolean;

  /** Goal cell (y * size + x) and permutation index (0 = identity) of each instance. */
  readonly goalCell: Int32Array;
  readonly perm: Int32Array;

  /** next[cell * 5 + baseAction]: the cell reached; cellX / cellY: coordinates of a cell. */
  private readonly next: Int32Array;
  private readonly cellX: Float32Array;
  private readonly cellY: Float32Array;
  private readonly startCell = 0;

  constructor(numEnvs: number, options?: Record<string, unknown>, rng: Rng = new Rng(0)) {
    const o = parseOptions('darkroom', darkroomOptionsSchema, options);
    super('darkroom', numEnvs, 2, o);
    this.size = o.size;
    this.horizon = o.horizon;
    this.permuted = o.permuted;
    this.taskSpace = darkroomTaskSpace(o);
    this.observationSpace = new BoxSpace([0, 0], [o.size - 1, o.size - 1]);
    const s = o.size;
    this.numStates = s * s;
    ({ next: this.next, cellX: this.cellX, cellY: this.cellY } = gridTables(s));
    this.goalCell = new Int32Array(numEnvs);
    this.perm = new Int32Array(numEnvs);
    // Until setTasks is called, each instance plays a task drawn from the given stream.
    this.setTasks(this.taskSpace.sampleMany(rng.split('tasks'), numEnvs));
  }

  protected assign(i: number, t: Task): void {
    const p = t.params;
    this.goalCell[i] = (p.goalY as number) * this.size + (p.goalX as number);
    this.perm[i] = this.permuted ? (p.perm as number) : 0;
    this.resetInstance(i);
  }

  protected taskParams(i: number): Record<string, JsonValue> {
    const g = this.goalCell[i];
    const params: Record<string, JsonValue> = { goalX: g % this.size, goalY: Math.floor(g / this.size) };
    if (this.permuted) params.perm = this.perm[i];
    return params;
  }

  protected resetInstance(i: number): void {
    const c = this.startCell;
    this.stateIndex[i] = c;
    this.obs[2 * i] = this.cellX[c];
    this.obs[2 * i + 1] = this.cellY[c];
    this.episodeStep[i] = 0;
  }

  step(actions: ActionArray): void {
    const n = this.numEnvs;
    checkDiscreteActions(this.family, actions, n, NUM_ACTIONS);
    const next = this.next;
    const cellX = this.cellX;
    const cellY = this.cellY;
    const permT = PERM_TABLE;
    const perm = this.perm;
    const goal = this.goalCell;
    const state = this.stateIndex;
    const obs = this.obs;
    const rewards = this.rewards;
    const trunc = this.truncated;
    const epStep = this.episodeStep;
    const h = this.horizon;
    for (let i = 0; i < n; i++) {
      const a = permT[perm[i] * NUM_ACTIONS + actions[i]];
      const c = next[state[i] * NUM_ACTIONS + a];
      rewards[i] = c === goal[i] ? 1 : 0;
      const t = epStep[i] + 1;
      if (t === h) {
        obs[2 * i] = cellX[c];
        obs[2 * i + 1] = cellY[c];
        this.endEpisode(i, false);
      } else {
        trunc[i] = 0;
        epStep[i] = t;
        state[i] = c;
        obs[2 * i] = cellX[c];
        obs[2 * i + 1] = cellY[c];
      }
    }
  }

  /** Optimal action: a shortest (Manhattan) move toward the goal, stay on it; mapped through the permutation. */
  oracleAction(i: number): number {
    checkInstance(this.family, i, this.numEnvs);
    const s = this.size;
    const c = this.stateIndex[i];
    const g = this.goalCell[i];
    const b = gridMoveToward(c % s, Math.floor(c / s), g % s, Math.floor(g / s));
    return INV_TABLE[this.perm[i] * NUM_ACTIONS + b];
  }

  /** DPT's query states for Dark Room: a cell drawn uniformly (x, then y), and the optimal action there. */
  queryState(i: number, rng: Rng, out: Float32Array): number {
    checkInstance(this.family, i, this.numEnvs);
    const s = this.size;
    const x = rng.int(s);
    const y = rng.int(s);
    out[0] = x;
    out[1] = y;
    const g = this.goalCell[i];
    return INV_TABLE[this.perm[i] * NUM_ACTIONS + gridMoveToward(x, y, g % s, Math.floor(g / s))];
  }

  promptDescription(): string[] {
    const o = this.size;
    const k = NUM_ACTIONS;
    return [
      `You are in a dark ${o} x ${o} grid room. Your position is (x, y) with 0 <= x, y <= ${o - 1}; every episode starts at (0, 0).`,
      this.permuted
        ? `There are ${k} actions (valid actions: 0 to ${k - 1}); each one moves you one cell in some direction or keeps you in place, but which does what is unknown: find out from experience.`
        : `There are ${k} actions (valid actions: 0 to ${k - 1}): 0 = x+1, 1 = x-1, 2 = y+1, 3 = y-1, 4 = stay. Moving into a wall keeps you in place.`,
      'Somewhere there is a hidden goal cell; you receive reward 1 on every step that ends on it and 0 otherwise.',
      `An episode lasts ${this.horizon} steps. You play several episodes in the same room with the same goal: find the goal, then go straight to it and stay there.`,
    ];
  }

  /**
   * Return of the optimal policy over one episode: reach the goal in D = Manhattan distance steps,
   * then stay, collecting 1 per step on the goal: H - D + 1 (H when the goal is the start cell, 0 when
   * it is out of reach).
   */
  oracleValue(i: number): number {
    checkInstance(this.family, i, this.numEnvs);
    return darkroomOptimalReturn(this.size, this.startCell, this.goalCell[i], this.horizon);
  }
}

/** Optimal episode return in Dark Room from `startCell` to `goalCell` (cells y * size + x) within `horizon` steps. */
export function darkroomOptimalReturn(size: number, startCell: number, goalCell: number, horizon: number): number {
  const d = Math.abs((startCell % size) - (goalCell % size)) + Math.abs(Math.floor(startCell / size) - Math.floor(goalCell / size));
  if (d === 0) return horizon;
  return d > horizon ? 0 : horizon - d + 1;
}

export const darkroomFamily: EnvFamily = {
  name: 'darkroom',
  description: 'Dark Room: grid (10x10, or size 20), start in a corner, reward 1 per step on the unobserved goal, 100-step episodes; permuted-action variant',
  options: darkroomOptionsSchema,
  setting: 'mdp',
  taskSpace: darkroomTaskSpace,
  make: (numEnvs, options, rng) => new BatchedDarkRoom(numEnvs, options, rng),
};
