/**
 * Dark Key-to-Door (AD's harder grid benchmark): a size x size grid (8 x 8 by default), the agent
 * starts in the corner (0, 0) and moves with Dark Room's 5 actions. The task is the key cell and the
 * door cell (distinct), both unobserved. Reward 1 on the first step that ends on the key (the key is
 * picked up), then 1 on the step that ends on the door while holding the key, which terminates the
 * episode; otherwise episodes are truncated after `horizon` steps (50 by default). A key on the start
 * cell is picked up by the first step that stays there.
 *
 * Observation: (x, y, hasKey) - the agent knows whether it holds the key, not where key and door are.
 * `stateIndex` = hasKey * size^2 + y * size + x. When the door is reached on the last step of the
 * horizon, `terminated = 1` and `truncated = 0`.
 */
import { z } from 'zod';
import { BoxSpace, DiscreteSpace, type JsonValue } from '../core/spaces.js';
import { Rng } from '../core/rng.js';
import { TaskSpace, type Task } from '../tasks/taskSpace.js';
import type { ActionArray, EnvFamily } from './types.js';
import { EpisodicEnv } from './episodes.js';
import { gridTables, checkDiscreteActions, checkInstance, gridMoveToward, parseOptions } from './common.js';

export const darkKeyToDoorOptionsSchema = z
  .object({
    size: z.number().int().min(2).max(256).default(8),
    horizon: z.number().int().min(1).max(1_000_000).default(50),
  })
  .strict();
export type DarkKeyToDoorOptions = z.output<typeof darkKeyToDoorOptionsSchema>;

const NUM_ACTIONS = 5;

export function darkKeyToDoorTaskSpace(options?: Record<string, unknown>): TaskSpace {
  const o = parseOptions('dark-key-to-door', darkKeyToDoorOptionsSchema, options);
  const s = o.size;
  return new TaskSpace(
    'dark-key-to-door',
    { keyX: new DiscreteSpace(s), keyY: new DiscreteSpace(s), doorX: new DiscreteSpace(s), doorY: new DiscreteSpace(s) },
    {
      descriptions: { keyX: 'key column (unobserved)', keyY: 'key row (unobserved)', doorX: 'door column (unobserved)', doorY: 'door row (unobserved)' },
      validate: (p) => (p.keyX === p.doorX && p.keyY === p.doorY ? `key and door must be on different cells, both are (${p.keyX}, ${p.keyY})` : null),
      // ACCEL's edit: the key or the door moves one cell (up, down, left or right, inside the grid)
      mutate: (p, rng) => {
        const which = rng.int(2) === 0 ? 'key' : 'door';
        const moves: [number, number][] = [];
        const x = p[`${which}X`] as number;
        const y = p[`${which}Y`] as number;
        for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]] as const) {
          if (x + dx >= 0 && x + dx < s && y + dy >= 0 && y + dy < s) moves.push([x + dx, y + dy]);
        }
        const [nx, ny] = moves[rng.int(moves.length)];
        return { ...p, [`${which}X`]: nx, [`${which}Y`]: ny };
      },
      enumerate: () => {
        const out: Record<string, JsonValue>[] = [];
        for (let k = 0; k < s * s; k++) {
          for (let d = 0; d < s * s; d++) if (k !== d) out.push({ keyX: k % s, keyY: Math.floor(k / s), doorX: d % s, doorY: Math.floor(d / s) });
        }
        return out;
      },
    },
  );
}

export class BatchedDarkKeyToDoor extends EpisodicEnv<DarkKeyToDoorOptions> {
  readonly setting = 'mdp';
  readonly taskSpace: TaskSpace;
  readonly observationSpace: BoxSpace;
  readonly actionSpace = new DiscreteSpace(NUM_ACTIONS);
  readonly numActions = NUM_ACTIONS;
  readonly actDim = 0;
  readonly numStates: number;
  readonly horizon: number;
  readonly size: number;

  /** Key and door cells (y * size + x) of each instance. */
  readonly keyCell: Int32Array;
  readonly doorCell: Int32Array;

  private readonly next: Int32Array;
  private readonly cellX: Float32Array;
  private readonly cellY: Float32Array;
  private readonly cell: Int32Array;
  private readonly hasKey: Uint8Array;
  private readonly startCell = 0;

  constructor(numEnvs: number, options?: Record<string, unknown>, rng: Rng = new Rng(0)) {
    const o = parseOptions('dark-key-to-door', darkKeyToDoorOptionsSchema, options);
    super('dark-key-to-door', numEnvs, 3, o);
    this.size = o.size;
    this.horizon = o.horizon;
    this.taskSpace = darkKeyToDoorTaskSpace(o);
    const s = o.size;
    this.observationSpace = new BoxSpace([0, 0, 0], [s - 1, s - 1, 1]);
    this.numStates = 2 * s * s;
    ({ next: this.next, cellX: this.cellX, cellY: this.cellY } = gridTables(s));
    this.keyCell = new Int32Array(numEnvs);
    this.doorCell = new Int32Array(numEnvs);
    this.cell = new Int32Array(numEnvs);
    this.hasKey = new Uint8Array(numEnvs);
    this.setTasks(this.taskSpace.sampleMany(rng.split('tasks'), numEnvs));
  }

  protected assign(i: number, t: Task): void {
    const p = t.params;
    this.keyCell[i] = (p.keyY as number) * this.size + (p.keyX as number);
    this.doorCell[i] = (p.doorY as number) * this.size + (p.doorX as number);
    this.resetInstance(i);
  }

  protected taskParams(i: number): Record<string, JsonValue> {
    const s = this.size;
    const k = this.keyCell[i];
    const d = this.doorCell[i];
    return { keyX: k % s, keyY: Math.floor(k / s), doorX: d % s, doorY: Math.floor(d / s) };
  }

  protected resetInstance(i: number): void {
    const c = this.startCell;
    this.cell[i] = c;
    this.hasKey[i] = 0;
    this.stateIndex[i] = c;
    this.obs[3 * i] = this.cellX[c];
    this.obs[3 * i + 1] = this.cellY[c];
    this.obs[3 * i + 2] = 0;
    this.episodeStep[i] = 0;
  }

  step(actions: ActionArray): void {
    const n = this.numEnvs;
    checkDiscreteActions(this.family, actions, n, NUM_ACTIONS);
    const next = this.next;
    const cellX = this.cellX;
    const cellY = this.cellY;
    const cell = this.cell;
    const hasKey = this.hasKey;
    const keyCell = this.keyCell;
    const doorCell = this.doorCell;
    const state = this.stateIndex;
    const obs = this.obs;
    const rewards = this.rewards;
    const term = this.terminated;
    const trunc = this.truncated;
    const epStep = this.episodeStep;
    const h = this.horizon;
    const ss = this.size * this.size;
    for (let i = 0; i < n; i++) {
      const c = next[cell[i] * NUM_ACTIONS + actions[i]];
      let k = hasKey[i];
      let r = 0;
      let done = 0;
      if (k === 0) {
        if (c === keyCell[i]) {
          r = 1;
          k = 1;
        }
      } else if (c === doorCell[i]) {
        r = 1;
        done = 1;
      }
      rewards[i] = r;
      const t = epStep[i] + 1;
      if (done === 1 || t === h) {
        obs[3 * i] = cellX[c];
        obs[3 * i + 1] = cellY[c];
        obs[3 * i + 2] = k;
        this.endEpisode(i, done === 1);
      } else {
        term[i] = 0;
        trunc[i] = 0;
        cell[i] = c;
        hasKey[i] = k;
        state[i] = k * ss + c;
        epStep[i] = t;
        obs[3 * i] = cellX[c];
        obs[3 * i + 1] = cellY[c];
        obs[3 * i + 2] = k;
      }
    }
  }

  /**
   * Optimal action: without the key, a shortest move toward the key (stay when on it, which picks it
   * up); with the key, a shortest move toward the door. Grid distances are Manhattan distances (no
   * walls inside the room); the tests check them against breadth-first search over (cell, hasKey).
   */
  oracleAction(i: number): number {
    checkInstance(this.family, i, this.numEnvs);
    const s = this.size;
    const c = this.cell[i];
    const target = this.hasKey[i] === 0 ? this.keyCell[i] : this.doorCell[i];
    return gridMoveToward(c % s, Math.floor(c / s), target % s, Math.floor(target / s));
  }

  /** Return of the optimal policy over one episode: 1 if the key is reachable in time, +1 if the door is too. */
  oracleValue(i: number): number {
    checkInstance(this.family, i, this.numEnvs);
    return darkKeyToDoorOptimalReturn(this.size, this.startCell, this.keyCell[i], this.doorCell[i], this.horizon);
  }
}

function manhattan(size: number, a: number, b: number): number {
  return Math.abs((a % size) - (b % size)) + Math.abs(Math.floor(a / size) - Math.floor(b / size));
}

/** Optimal episode return: steps to the key are max(1, distance) (picking it up takes a step), then the distance to the door. */
export function darkKeyToDoorOptimalReturn(size: number, startCell: number, keyCell: number, doorCell: number, horizon: number): number {
  const toKey = Math.max(1, manhattan(size, startCell, keyCell));
  const toDoor = toKey + manhattan(size, keyCell, doorCell);
  return (toKey <= horizon ? 1 : 0) + (toDoor <= horizon ? 1 : 0);
}

export const darkKeyToDoorFamily: EnvFamily = {
  name: 'dark-key-to-door',
  description: 'Dark Key-to-Door: grid (8x8), unobserved key and door; reward 1 for the key, 1 for the door after it (ends the episode), 50 steps',
  options: darkKeyToDoorOptionsSchema,
  setting: 'mdp',
  taskSpace: darkKeyToDoorTaskSpace,
  make: (numEnvs, options, rng) => new BatchedDarkKeyToDoor(numEnvs, options, rng),
};
