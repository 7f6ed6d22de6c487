/**
 * The `xland` family: a batched, rule-based gridworld in the style of XLand-MiniGrid. Each instance
 * plays a ruleset (its task): a goal, production rules and initial tiles. See docs/envs.md.
 *
 * State per instance (struct of arrays): a grid of one-byte codes (plus one end-of-map cell), the agent's cell,
 * direction and pocket, its rules and goal as integer rows. `step` runs one monomorphic loop over
 * the instances through `applyAction`, writes the egocentric view (viewSize^2 codes as floats) and
 * resets finished instances automatically (a new placement of the tiles and the agent when
 * `placement` is `random`).
 */
import { z } from 'zod';
import { BoxSpace, DiscreteSpace, Space, type JsonValue } from '../../core/spaces.js';
import { OutOfSpaceError, IcrlError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { TaskSpace, type Task } from '../../tasks/taskSpace.js';
import type { ActionArray, EnvFamily } from '../types.js';
import { checkDiscreteActions, checkInstance, parseOptions } from '../common.js';
import { EpisodicEnv } from '../episodes.js';
import { END_OF_MAP_CODE, FLOOR_CODE, NUM_ACTIONS, NUM_COLORS, NUM_TILES, WALL_CODE, codeName } from './constants.js';
import { CHANGED_CAPACITY, GOAL_REACHED, VIEW_CHANGED, applyAction, viewTable } from './core.js';
import { LAYOUT_NAMES, floorCells, makeLayout, type Layout } from './layout.js';
import { GOAL_INTS, RULE_INTS, checkRuleset, encodeRuleset, parseRuleset, rulesetId, rulesetNumericId, type Ruleset } from './ruleset.js';
import { PRESETS, PRESET_NAMES, sampleRuleset, type PresetName } from './generate.js';
import { XLandSolver, type SolveResult, type SolverProblem } from './solver.js';
import { xlandSvg } from './svg.js';
import { mutateRuleset } from './mutate.js';

export const xlandOptionsSchema = z
  .object({
    layout: z.enum(LAYOUT_NAMES as [string, ...string[]]).default('single'),
    /** Side of the square grid, walls included (default 9; 13 for four rooms). */
    size: z.number().int().min(5).max(64).optional(),
    /** Steps per episode (default 3 * size^2). */
    horizon: z.number().int().min(1).max(1_000_000).optional(),
    /** Side of the egocentric view (odd). */
    viewSize: z.number().int().min(3).max(9).refine((v) => v % 2 === 1, 'must be odd').default(5),
    /** `random`: tiles without a position and the agent are placed anew each episode; `fixed`: once per task, from its id. */
    placement: z.enum(['random', 'fixed']).default('random'),
    /** Preset of the rulesets drawn when tasks are sampled. */
    preset: z.enum(PRESET_NAMES).default('trivial'),
    /**
     * `codes`: each view cell as its code tile * 14 + colour (XLand-100B's states); `onehot`: each
     * view cell as a one-hot of its tile (15) followed by a one-hot of its colour (14), 29 floats;
     * `tiles`: each view cell as two integers, its tile (0..14) then its colour (0..13), declared
     * categorical (`discreteObservation`), so model features one-hot them (725 features from 50
     * stored floats).
     */
    observation: z.enum(['codes', 'onehot', 'tiles']).default('codes'),
    /** Solver bound: distinct states per search. */
    solverMaxStates: z.number().int().min(100).max(50_000_000).default(300_000),
  })
  .strict();
export type XLandOptions = z.output<typeof xlandOptionsSchema>;

export interface ResolvedXLandOptions extends Omit<XLandOptions, 'size' | 'horizon'> {
  size: number;
  horizon: number;
}

export function resolveXLandOptions(options?: Record<string, unknown>): ResolvedXLandOptions {
  const o = parseOptions('xland', xlandOptionsSchema, options);
  const size = o.size ?? (o.layout === 'four-rooms' ? 13 : 9);
  return { ...o, size, horizon: o.horizon ?? 3 * size * size };
}

/** The task parameter `ruleset`: a JSON ruleset, validated by its zod schema and against the layout. */
export class RulesetSpace extends Space<JsonValue> {
  readonly spec = { kind: 'dict' as const, spaces: {} };
  constructor(
    readonly layout: Layout,
    readonly preset: PresetName,
  ) {
    super();
  }
  sample(rng: Rng): JsonValue {
    const r = sampleRuleset(rng, PRESETS[this.preset], this.preset);
    checkRuleset(r, this.layout, 'sampled ruleset');
    return r as unknown as JsonValue;
  }
  check(value: unknown, path = 'ruleset'): asserts value is JsonValue {
    checkRuleset(parseRuleset(value, path), this.layout, path);
  }
  describe(): string {
    return `ruleset { goal, rules, tiles, agent? } on the ${this.layout.name} ${this.layout.size} x ${this.layout.size} layout (sampled: ${this.preset} preset)`;
  }
}

export function xlandTaskSpace(options?: Record<string, unknown>): TaskSpace {
  const o = resolveXLandOptions(options);
  const layout = makeLayout(o.layout as Layout['name'], o.size);
  return new TaskSpace(
    'xland',
    { ruleset: new RulesetSpace(layout, o.preset) },
    {
      descriptions: { ruleset: 'goal + production rules + initial tiles (hidden; seen only through the view)' },
      // ACCEL's edits: add / remove / change a rule, move or recolour a tile (mutate.ts)
      mutate: (p, rng) => ({ ...p, ruleset: mutateRuleset(parseRuleset(p.ruleset, 'ruleset'), layout, rng) as unknown as JsonValue }),
    },
  );
}

const MAX_RULES = 32;
const MAX_TILES = 64;
const NO_ACTION = 7;
/** Oracle cache bound (states, all tasks together; about 150 bytes each). */
const CACHE_ENTRIES = 1_000_000;

interface TaskData {
  ruleset: Ruleset;
  id: string;
  /** Codes of the tiles and their fixed cells (y * size + x, -1 = drawn). */
  tileCodes: Int32Array;
  tileCells: Int32Array;
  agentCell: number;
  agentDir: number;
  rules: Uint8Array;
  numRules: number;
  goal: Int32Array;
  /** fixed placement: the start drawn once from the ruleset id */
  fixedGrid?: Uint8Array;
  fixedAgent?: Int32Array;
}

export class BatchedXLand extends EpisodicEnv<ResolvedXLandOptions> {
  readonly setting = 'mdp';
  readonly taskSpace: TaskSpace;
  readonly observationSpace: BoxSpace;
  readonly actionSpace = new DiscreteSpace(NUM_ACTIONS);
  readonly numActions = NUM_ACTIONS;
  readonly actDim = 0;
  readonly numStates = 0;
  readonly horizon: number;
  readonly layout: Layout;
  readonly viewSize: number;
  /** Grid width and bytes per instance grid (size^2 + 1: the last one stands for outside the map). */
  readonly pw: number;
  readonly pg: number;

  /** Grids (numEnvs x pg codes, cell y * size + x), agent state (cell, dir, pocket per instance), rules and goals. */
  readonly grid: Uint8Array;
  readonly agent: Int32Array;
  rules: Uint8Array;
  /** Ints per instance in `rules` (RULE_INTS x the most rules of any task assigned so far). */
  ruleStride = RULE_INTS;
  readonly numRules: Int32Array;
  readonly goal: Int32Array;
  /** Start of the current episode of each instance (for the oracle value). */
  readonly startGrid: Uint8Array;
  readonly startAgent: Int32Array;

  /** Oracle statistics: solver calls, and calls that did not end `solved` or `unsolvable`. */
  readonly oracleStats = { solves: 0, budgetExceeded: 0, cacheHits: 0 };

  private readonly template: Uint8Array;
  private readonly floor: Int32Array;
  private readonly occupied: Uint8Array;
  /** Grid cell of each view cell, per agent cell and direction ((cell * 4 + dir) * V^2 + k); size^2 = outside. */
  private readonly viewTable: Int16Array | Int32Array;
  private readonly changed = new Int32Array(CHANGED_CAPACITY);
  private readonly tasks: TaskData[];
  private rng: Rng;
  private readonly solverProblemCells: Int32Array;
  private readonly caches = new Map<string, Map<string, number>>();
  private readonly solvers = new Map<string, XLandSolver>();

  constructor(numEnvs: number, options?: Record<string, unknown>, rng: Rng = new Rng(0)) {
    const o = resolveXLandOptions(options);
    super('xland', numEnvs, o.viewSize * o.viewSize * (o.observation === 'onehot' ? NUM_TILES + NUM_COLORS : o.observation === 'tiles' ? 2 : 1), o);
    this.onehot = o.observation === 'onehot';
    this.factored = o.observation === 'tiles';
    this.discreteObservation = this.factored;
    this.layout = makeLayout(o.layout as Layout['name'], o.size);
    this.horizon = o.horizon;
    this.viewSize = o.viewSize;
    this.taskSpace = xlandTaskSpace(options);
    const V = o.viewSize;
    this.observationSpace = this.factored
      ? new BoxSpace(new Array(this.obsDim).fill(0), Array.from({ length: this.obsDim }, (_, k) => (k % 2 === 0 ? NUM_TILES - 1 : NUM_COLORS - 1)))
      : new BoxSpace(new Array(this.obsDim).fill(0), new Array(this.obsDim).fill(this.onehot ? 1 : 255));
    // one byte per cell, plus one end-of-map cell that view cells outside the grid point to
    this.pw = o.size;
    this.pg = o.size * o.size + 1;
    this.template = new Uint8Array(this.pg).fill(END_OF_MAP_CODE);
    this.template.set(this.layout.cells);
    this.floor = Int32Array.from(floorCells(this.layout));
    const cells: number[] = [];
    for (let c = 0; c < this.pg; c++) if (this.template[c] !== END_OF_MAP_CODE && this.template[c] !== WALL_CODE) cells.push(c);
    this.solverProblemCells = Int32Array.from(cells);
    this.occupied = new Uint8Array(this.pg);
    this.viewTable = viewTable(V, o.size);

    this.grid = new Uint8Array(numEnvs * this.pg);
    this.startGrid = new Uint8Array(numEnvs * this.pg);
    this.agent = new Int32Array(numEnvs * 3);
    this.startAgent = new Int32Array(numEnvs * 3);
    this.rules = new Uint8Array(numEnvs * this.ruleStride);
    this.numRules = new Int32Array(numEnvs);
    this.goal = new Int32Array(numEnvs * GOAL_INTS);
    this.tasks = new Array<TaskData>(numEnvs);
    this.rng = rng.split('placement');
    this.setTasks(this.taskSpace.sampleMany(rng.split('tasks'), numEnvs));
  }

  /** Prepared tasks by task object, so that one task given to many instances is parsed and hashed once. */
  private readonly prepared = new WeakMap<Task, TaskData>();

  protected assign(i: number, t: Task): void {
    let d = this.prepared.get(t);
    if (!d) {
      d = this.prepare(t);
      this.prepared.set(t, d);
    }
    this.install(i, d);
  }

  protected taskParams(i: number): Record<string, JsonValue> {
    return { ruleset: this.tasks[i].ruleset as unknown as JsonValue };
  }

  /** The ruleset of instance i and its stable id. */
  ruleset(i: number): { ruleset: Ruleset; id: string } {
    checkInstance(this.family, i, this.numEnvs);
    return { ruleset: this.tasks[i].ruleset, id: this.tasks[i].id };
  }

  private prepare(t: Task): TaskData {
    const r = parseRuleset(t.params.ruleset, 'ruleset');
    if (r.rules.length > MAX_RULES || r.tiles.length > MAX_TILES) throw new OutOfSpaceError(`xland: at most ${MAX_RULES} rules and ${MAX_TILES} tiles`);
    const e = encodeRuleset(r, this.options.size);
    const goal = e.goal.slice();
    const d: TaskData = {
      ruleset: r,
      id: rulesetId(r),
      tileCodes: e.tileCodes,
      tileCells: e.tileCells,
      agentCell: e.agentCell,
      agentDir: e.agentDir,
      rules: e.rules,
      numRules: e.numRules,
      goal,
    };
    if (this.options.placement === 'fixed') {
      const g = new Uint8Array(this.pg);
      const a = new Int32Array(3);
      this.place(d, new Rng(`xland-placement:${d.id}`), g, 0, a, 0);
      d.fixedGrid = g;
      d.fixedAgent = a;
    }
    return d;
  }

  private install(i: number, d: TaskData): void {
    this.tasks[i] = d;
    if (d.rules.length > this.ruleStride) {
      // widen the rule rows of every instance (rare: only when a task has more rules than any before)
      const stride = d.rules.length;
      const next = new Uint8Array(this.numEnvs * stride);
      for (let k = 0; k < this.numEnvs; k++) next.set(this.rules.subarray(k * this.ruleStride, (k + 1) * this.ruleStride), k * stride);
      this.rules = next;
      this.ruleStride = stride;
    }
    const st = this.ruleStride;
    this.rules.fill(0, i * st, (i + 1) * st);
    this.rules.set(d.rules, i * st);
    this.numRules[i] = d.numRules;
    this.goal.set(d.goal, i * GOAL_INTS);
    this.resetInstance(i);
  }

  /** Places the tiles and the agent of task d into grid (at g0) and agent (at a0). */
  private place(d: TaskData, rng: Rng, grid: Uint8Array, g0: number, agent: Int32Array, a0: number): void {
    grid.set(this.template, g0);
    const occ = this.occupied;
    occ.fill(0);
    const n = d.tileCodes.length;
    for (let k = 0; k < n; k++) {
      const c = d.tileCells[k];
      if (c >= 0) {
        grid[g0 + c] = d.tileCodes[k];
        occ[c] = 1;
      }
    }
    if (d.agentCell >= 0) occ[d.agentCell] = 1;
    const F = this.floor;
    const draw = (): number => {
      for (;;) {
        const c = F[rng.int(F.length)];
        if (occ[c] === 0) {
          occ[c] = 1;
          return c;
        }
      }
    };
    for (let k = 0; k < n; k++) if (d.tileCells[k] < 0) grid[g0 + draw()] = d.tileCodes[k];
    agent[a0] = d.agentCell >= 0 ? d.agentCell : draw();
    agent[a0 + 1] = d.agentDir >= 0 ? d.agentDir : rng.int(4);
    agent[a0 + 2] = 0;
  }

  protected resetInstance(i: number): void {
    const d = this.tasks[i];
    const pg = this.pg;
    if (d.fixedGrid && d.fixedAgent) {
      this.grid.set(d.fixedGrid, i * pg);
      this.agent.set(d.fixedAgent, i * 3);
    } else this.place(d, this.rng, this.grid, i * pg, this.agent, i * 3);
    this.startGrid.set(this.grid.subarray(i * pg, (i + 1) * pg), i * pg);
    this.startAgent[i * 3] = this.agent[i * 3];
    this.startAgent[i * 3 + 1] = this.agent[i * 3 + 1];
    this.startAgent[i * 3 + 2] = 0;
    this.episodeStep[i] = 0;
    this.stateIndex[i] = 0;
    this.writeView(i, this.obs);
  }

  /** One-hot observations (option `observation: onehot`). */
  private readonly onehot: boolean;
  /** Tile and colour per view cell (option `observation: tiles`). */
  private readonly factored: boolean;
  /** With `observation: tiles` every coordinate is a category within its bounds. */
  readonly discreteObservation: boolean;

  private writeView(i: number, out: Float32Array): void {
    if (this.onehot) {
      this.writeOneHot(i, out);
      return;
    }
    if (this.factored) {
      this.writeFactored(i, out);
      return;
    }
    const V2 = this.obsDim;
    const g0 = i * this.pg;
    const vb = (this.agent[i * 3] * 4 + this.agent[i * 3 + 1]) * V2;
    const grid = this.grid;
    const vt = this.viewTable;
    const o = i * V2;
    for (let k = 0; k < V2; k++) out[o + k] = grid[g0 + vt[vb + k]];
  }

  /** The view of instance i as one-hots of tile and colour per cell. */
  private writeOneHot(i: number, out: Float32Array): void {
    const V2 = this.viewSize * this.viewSize;
    const W = NUM_TILES + NUM_COLORS;
    const g0 = i * this.pg;
    const vb = (this.agent[i * 3] * 4 + this.agent[i * 3 + 1]) * V2;
    const o = i * this.obsDim;
    out.fill(0, o, o + this.obsDim);
    for (let k = 0; k < V2; k++) {
      const c = this.grid[g0 + this.viewTable[vb + k]];
      const t = (c / NUM_COLORS) | 0;
      out[o + k * W + t] = 1;
      out[o + k * W + NUM_TILES + c - t * NUM_COLORS] = 1;
    }
  }

  /** The view of instance i as (tile, colour) pairs per cell. */
  private writeFactored(i: number, out: Float32Array): void {
    const V2 = this.viewSize * this.viewSize;
    const g0 = i * this.pg;
    const vb = (this.agent[i * 3] * 4 + this.agent[i * 3 + 1]) * V2;
    const o = i * this.obsDim;
    for (let k = 0; k < V2; k++) {
      const c = this.grid[g0 + this.viewTable[vb + k]];
      const t = (c / NUM_COLORS) | 0;
      out[o + 2 * k] = t;
      out[o + 2 * k + 1] = c - t * NUM_COLORS;
    }
  }

  /** `reset(seed)` reseeds the placement stream (random placement). */
  protected override reseed(seed: number): void {
    this.rng = new Rng(seed).split('placement');
  }

  step(actions: ActionArray): void {
    const n = this.numEnvs;
    checkDiscreteActions(this.family, actions, n, NUM_ACTIONS);
    const grid = this.grid;
    const agent = this.agent;
    const rules = this.rules;
    const numRules = this.numRules;
    const goal = this.goal;
    const pw = this.pw;
    const pg = this.pg;
    const changed = this.changed;
    const rewards = this.rewards;
    const term = this.terminated;
    const trunc = this.truncated;
    const epStep = this.episodeStep;
    const H = this.horizon;
    const obs = this.obs;
    const vt = this.viewTable;
    const V2 = this.obsDim;
    const RS = this.ruleStride;
    const onehot = this.onehot;
    const special = this.onehot || this.factored;
    for (let i = 0; i < n; i++) {
      const g0 = i * pg;
      const a0 = i * 3;
      const flags = applyAction(grid, g0, agent, a0, actions[i], rules, i * RS, numRules[i], goal, i * GOAL_INTS, pw, changed);
      const done = flags & GOAL_REACHED;
      const t = epStep[i] + 1;
      const vb = (agent[a0] * 4 + agent[a0 + 1]) * V2;
      const o = i * V2;
      if (done === 1 || t === H) {
        rewards[i] = done === 1 ? 1 - (0.9 * t) / H : 0;
        if (special) this.writeSpecial(i, obs, onehot);
        else for (let k = 0; k < V2; k++) obs[o + k] = grid[g0 + vt[vb + k]];
        this.endEpisode(i, done === 1);
      } else {
        rewards[i] = 0;
        term[i] = 0;
        trunc[i] = 0;
        epStep[i] = t;
        if ((flags & VIEW_CHANGED) !== 0) {
          if (special) this.writeSpecial(i, obs, onehot);
          else for (let k = 0; k < V2; k++) obs[o + k] = grid[g0 + vt[vb + k]];
        }
      }
    }
  }

  private writeSpecial(i: number, obs: Float32Array, onehot: boolean): void {
    if (onehot) this.writeOneHot(i, obs);
    else this.writeFactored(i, obs);
  }

  // ---------------------------------------------------------------- oracle

  /** The solver problem of instance i's task. */
  solverProblem(i: number): SolverProblem {
    checkInstance(this.family, i, this.numEnvs);
    const d = this.tasks[i];
    return { pw: this.pw, pg: this.pg, cells: this.solverProblemCells, rules: d.rules, numRules: d.numRules, goal: d.goal };
  }

  private solverFor(i: number): XLandSolver {
    const d = this.tasks[i];
    let s = this.solvers.get(d.id);
    if (!s) {
      if (this.solvers.size >= 64) this.solvers.clear();
      s = new XLandSolver(this.solverProblem(i), this.template);
      this.solvers.set(d.id, s);
    }
    return s;
  }

  /** Solves instance i from its current state (or the start of its episode), within the horizon and the state bound. */
  solve(i: number, fromStart = false): SolveResult {
    checkInstance(this.family, i, this.numEnvs);
    const g = fromStart ? this.startGrid : this.grid;
    const a = fromStart ? this.startAgent : this.agent;
    this.oracleStats.solves++;
    const r = this.solverFor(i).solve(g, i * this.pg, a[i * 3], a[i * 3 + 1], a[i * 3 + 2], this.horizon, this.options.solverMaxStates);
    if (r.status === 'budget-exceeded') this.oracleStats.budgetExceeded++;
    return r;
  }

  private stateKey(grid: Uint8Array, agent: Int32Array, i: number): string {
    const cells = this.solverProblemCells;
    const g0 = i * this.pg;
    const parts = new Array<number>(cells.length + 3);
    parts[0] = agent[i * 3];
    parts[1] = agent[i * 3 + 1];
    parts[2] = agent[i * 3 + 2];
    for (let k = 0; k < cells.length; k++) parts[k + 3] = grid[g0 + cells[k]];
    return String.fromCharCode.apply(null, parts);
  }

  /** Oracle answers cached per task, at most CACHE_ENTRIES states in all (then every cache is emptied). */
  private cacheFor(i: number): Map<string, number> {
    if (++this.cacheChecks >= 4096) {
      this.cacheChecks = 0;
      let total = 0;
      for (const m of this.caches.values()) total += m.size;
      if (total > CACHE_ENTRIES) this.caches.clear();
    }
    const id = this.tasks[i].id;
    let c = this.caches.get(id);
    if (!c) {
      c = new Map();
      this.caches.set(id, c);
    }
    if (c.size > CACHE_ENTRIES) c.clear();
    return c;
  }

  private cacheChecks = 0;

  /**
   * Optimal distance and first action from a state: cached per task; a miss runs the solver and
   * caches every state along the optimal path it returns. Entry = steps * 8 + action (action 7 =
   * none: unsolvable within the horizon or beyond the state bound, with steps = horizon + 1).
   */
  private lookup(i: number, fromStart: boolean): number {
    const grid = fromStart ? this.startGrid : this.grid;
    const agent = fromStart ? this.startAgent : this.agent;
    const cache = this.cacheFor(i);
    const key = this.stateKey(grid, agent, i);
    const hit = cache.get(key);
    if (hit !== undefined) {
      this.oracleStats.cacheHits++;
      return hit;
    }
    const r = this.solve(i, fromStart);
    if (r.status !== 'solved') {
      const v = (this.horizon + 1) * 8 + NO_ACTION;
      cache.set(key, v);
      return v;
    }
    // walk the path on scratch copies, caching each state on it
    const pg = this.pg;
    const g = grid.slice(i * pg, (i + 1) * pg);
    const a = Int32Array.from(agent.subarray(i * 3, i * 3 + 3));
    const d = this.tasks[i];
    const ch = new Int32Array(CHANGED_CAPACITY);
    for (let k = 0; k < r.actions.length; k++) {
      const keyK = this.stateKeyOf(g, a);
      cache.set(keyK, (r.steps - k) * 8 + r.actions[k]);
      applyAction(g, 0, a, 0, r.actions[k], d.rules, 0, d.numRules, d.goal, 0, this.pw, ch);
    }
    return r.steps * 8 + r.actions[0];
  }

  private stateKeyOf(grid: Uint8Array, agent: Int32Array): string {
    const cells = this.solverProblemCells;
    const parts = new Array<number>(cells.length + 3);
    parts[0] = agent[0];
    parts[1] = agent[1];
    parts[2] = agent[2];
    for (let k = 0; k < cells.length; k++) parts[k + 3] = grid[cells[k]];
    return String.fromCharCode.apply(null, parts);
  }

  /** An optimal action of instance i in its current state (0 = forward when no action reaches the goal in time). */
  oracleAction(i: number): number {
    checkInstance(this.family, i, this.numEnvs);
    const v = this.lookup(i, false);
    const a = v & 7;
    return a === NO_ACTION ? 0 : a;
  }

  /** Fewest steps to the goal from instance i's current state (Infinity when none within the horizon or the bound). */
  oracleSteps(i: number, fromStart = false): number {
    checkInstance(this.family, i, this.numEnvs);
    const v = this.lookup(i, fromStart);
    return (v & 7) === NO_ACTION ? Infinity : v >> 3;
  }

  /**
   * Return of the optimal policy over the current episode of instance i, from its start:
   * 1 - 0.9 d / T for the fewest steps d <= T, else 0. With random placement each episode has its
   * own start, so this is the optimum of the episode being played.
   */
  oracleValue(i: number): number {
    const d = this.oracleSteps(i, true);
    return d <= this.horizon ? 1 - (0.9 * d) / this.horizon : 0;
  }

  /** ASCII picture of instance i: walls #, floor ., objects by letter (upper case = tile colour initial), agent ^ > v <. */
  render(i = 0): string {
    checkInstance(this.family, i, this.numEnvs);
    return renderGrid(this, i);
  }
}

const TILE_LETTER: Record<string, string> = { ball: 'o', square: 's', pyramid: 'p', key: 'k', star: '*', hex: 'h', goal: 'G', door_closed: 'D', door_open: '/', door_locked: 'L' };

function renderGrid(env: BatchedXLand, i: number): string {
  const s = env.options.size;
  const lines: string[] = [];
  const a = env.agent;
  const pos = a[i * 3];
  const arrows = ['^', '>', 'v', '<'];
  const legend = new Map<string, string>();
  for (let y = 0; y < s; y++) {
    let line = '';
    for (let x = 0; x < s; x++) {
      const p = y * s + x;
      const c = env.grid[i * env.pg + p];
      if (p === pos) {
        line += arrows[a[i * 3 + 1]] + ' ';
        continue;
      }
      if (c === WALL_CODE) line += '# ';
      else if (c === FLOOR_CODE) line += '. ';
      else {
        const name = codeName(c);
        const [color, tile] = name.includes(' ') ? name.split(' ') : ['', name];
        const ch = (TILE_LETTER[tile] ?? '?') + (color ? color[0] : ' ');
        legend.set(ch, name);
        line += ch;
      }
    }
    lines.push(line.trimEnd());
  }
  const pocket = a[i * 3 + 2];
  lines.push(`holding: ${pocket === 0 ? 'nothing' : codeName(pocket)}; step ${env.episodeStep[i]} of ${env.horizon}`);
  if (legend.size > 0) lines.push(`legend: ${[...legend.entries()].map(([k, v]) => `${k.trim()}=${v}`).join(', ')}`);
  return lines.join('\n');
}

/**
 * A ruleset check for `generateBenchmark`: solves each ruleset with the exact solver from the start
 * drawn for it by fixed placement (a start of its own, from its id) within the horizon and
 * `maxStates`; rejects `unsolvable` ones (and, with `rejectOverBound`, those beyond the bound) and
 * records `optimalSteps` (null when not solved) and `solver` (the status) in the ruleset's meta.
 */
export function solvableCheck(options: Record<string, unknown>, maxStates: number, rejectOverBound = false): (r: Ruleset) => { meta: Record<string, number | string | null> } | string {
  const env = new BatchedXLand(1, { ...options, placement: 'fixed', solverMaxStates: maxStates }, new Rng(0));
  return (r) => {
    env.setTasks([{ family: 'xland', params: { ruleset: r as unknown as JsonValue } }]);
    const res = env.solve(0, true);
    if (res.status === 'unsolvable' || (rejectOverBound && res.status === 'budget-exceeded')) return res.status;
    return { meta: { optimalSteps: res.status === 'solved' ? res.steps : null, solver: res.status } };
  };
}

/** Reads a benchmark file (written by `benchmarkToJson`): its training and held-out tasks, validated. */
export function loadBenchmark(text: string, source = 'benchmark', options?: Record<string, unknown>): { name: string; preset: string; train: Task[]; heldOut: Task[] } {
  let doc: { family?: unknown; format?: unknown; benchmark?: { name?: string; preset?: string }; tasks?: unknown; heldOut?: unknown };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new IcrlError(`${source}: not JSON: ${(e as Error).message}`);
  }
  if (doc.family !== 'xland') throw new IcrlError(`${source}: family is ${JSON.stringify(doc.family)}, expected "xland"`);
  const space = xlandTaskSpace(options);
  const read = (field: 'tasks' | 'heldOut'): Task[] => {
    const list = doc[field];
    if (!Array.isArray(list)) throw new IcrlError(`${source}: "${field}" must be an array of tasks`);
    return list.map((p, k) => {
      try {
        return space.check({ family: 'xland', params: p as Record<string, JsonValue> });
      } catch (e) {
        throw new IcrlError(`${source}: ${field}[${k}]: ${(e as Error).message}`);
      }
    });
  };
  return { name: String(doc.benchmark?.name ?? ''), preset: String(doc.benchmark?.preset ?? ''), train: read('tasks'), heldOut: read('heldOut') };
}

export const xlandFamily: EnvFamily = {
  name: 'xland',
  description: 'XLand-MiniGrid-style rule-based gridworld: the task is a ruleset (goal + production rules + tiles); 5x5 egocentric view, 6 actions, reward 1 - 0.9 t/T on the goal, 3 H W steps',
  options: xlandOptionsSchema,
  setting: 'mdp',
  viewer: 'ruleset',
  picture(task, options, seed = 0) {
    const env = new BatchedXLand(1, options, new Rng(seed));
    env.setTasks([task]);
    env.reset(seed);
    return xlandSvg(env, 0, { caption: `ruleset ${env.ruleset(0).id}` });
  },
  taskSpace: xlandTaskSpace,
  make: (numEnvs, options, rng) => new BatchedXLand(numEnvs, options, rng),
  datasetIds(task, options) {
    const o = parseOptions('xland', xlandOptionsSchema, options);
    const rs = parseRuleset(task.params.ruleset, 'ruleset');
    const size = o.size ?? (o.layout === 'four-rooms' ? 13 : 9);
    return { rulesetId: rulesetNumericId(rs), benchmarkId: rs.benchmark ?? '', envId: `xland-${String(o.layout)}-${size}` };
  },
};
