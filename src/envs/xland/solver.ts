/**
 * Exact solver of the `xland` family: breadth-first search over (agent cell, direction, held tile,
 * every changeable cell of the room), stepping with the same `applyAction` as the environment, so
 * rules are applied exactly as in play. The first goal-achieving transition found is a shortest
 * action sequence (BFS expands states in order of depth). The cost is bounded: at most `maxDepth`
 * actions (the horizon) and `maxStates` distinct states. Outcomes are named:
 * - `solved`: `steps` (the optimal number of actions) and `actions` (one optimal sequence);
 * - `unsolvable`: every state within `maxDepth` actions was explored and none achieves the goal;
 * - `budget-exceeded`: `maxStates` distinct states were reached before either.
 */
import { CHANGED_CAPACITY, GOAL_REACHED, applyAction } from './core.js';

export type SolveStatus = 'solved' | 'unsolvable' | 'budget-exceeded';

export interface SolveResult {
  status: SolveStatus;
  /** Optimal number of actions (solved only). */
  steps: number;
  /** One optimal action sequence (solved only). */
  actions: number[];
  /** Distinct states stored. */
  states: number;
  /** Deepest depth expanded. */
  depth: number;
}

/** What the solver needs of one task. */
export interface SolverProblem {
  /** Width of the grid, and its number of bytes (cells + the end-of-map cell). */
  pw: number;
  pg: number;
  /** Indices of the cells whose content can change (every non-wall cell of the room). */
  cells: Int32Array;
  rules: Uint8Array;
  numRules: number;
  goal: Int32Array;
}

const EMPTY = 0xffffffff;

export class XLandSolver {
  private stateLen: number;
  private pool = new Uint8Array(0);
  private parent = new Int32Array(0);
  private act = new Uint8Array(0);
  private depthOf = new Int32Array(0);
  private hashOf = new Uint32Array(0);
  private table = new Uint32Array(0);
  private mask = 0;
  private readonly grid: Uint8Array;
  private readonly agent = new Int32Array(3);
  private readonly changed = new Int32Array(CHANGED_CAPACITY);

  constructor(
    readonly problem: SolverProblem,
    /** Template grid (walls, end-of-map cell); cells listed in `problem.cells` are overwritten per state. */
    template: Uint8Array,
  ) {
    this.stateLen = 4 + problem.cells.length;
    this.grid = Uint8Array.from(template);
  }

  private ensure(n: number): void {
    if (this.parent.length >= n) return;
    const cap = Math.max(n, this.parent.length * 2, 1024);
    const L = this.stateLen;
    const pool = new Uint8Array(cap * L);
    pool.set(this.pool);
    this.pool = pool;
    const grow = <T extends Int32Array | Uint8Array | Uint32Array>(a: T, make: (k: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.parent = grow(this.parent, (k) => new Int32Array(k));
    this.act = grow(this.act, (k) => new Uint8Array(k));
    this.depthOf = grow(this.depthOf, (k) => new Int32Array(k));
    this.hashOf = grow(this.hashOf, (k) => new Uint32Array(k));
  }

  private resizeTable(size: number, count: number): void {
    this.table = new Uint32Array(size).fill(EMPTY);
    this.mask = size - 1;
    for (let s = 0; s < count; s++) {
      let h = this.hashOf[s] & this.mask;
      while (this.table[h] !== EMPTY) h = (h + 1) & this.mask;
      this.table[h] = s;
    }
  }

  /** Writes state s (agent + cells) of the pool into the working grid and agent. */
  private load(s: number): void {
    const L = this.stateLen;
    const p = this.pool;
    const o = s * L;
    this.agent[0] = p[o] | (p[o + 1] << 8);
    this.agent[1] = p[o + 2];
    this.agent[2] = p[o + 3];
    const cells = this.problem.cells;
    const g = this.grid;
    for (let k = 0; k < cells.length; k++) g[cells[k]] = p[o + 4 + k];
  }

  /** Encodes the working grid and agent into pool slot s; returns its hash. */
  private store(s: number): number {
    const L = this.stateLen;
    const p = this.pool;
    const o = s * L;
    const pos = this.agent[0];
    p[o] = pos & 255;
    p[o + 1] = pos >> 8;
    p[o + 2] = this.agent[1];
    p[o + 3] = this.agent[2];
    const cells = this.problem.cells;
    const g = this.grid;
    let h = 0x811c9dc5;
    h = Math.imul(h ^ pos, 0x01000193);
    h = Math.imul(h ^ (this.agent[1] | (this.agent[2] << 2)), 0x01000193);
    for (let k = 0; k < cells.length; k++) {
      const v = g[cells[k]];
      p[o + 4 + k] = v;
      h = Math.imul(h ^ v, 0x01000193);
    }
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    return h >>> 0;
  }

  private same(a: number, b: number): boolean {
    const L = this.stateLen;
    const p = this.pool;
    const oa = a * L;
    const ob = b * L;
    for (let k = 0; k < L; k++) if (p[oa + k] !== p[ob + k]) return false;
    return true;
  }

  /**
   * Shortest action sequence from the state (grid at g0, agent pos / dir / pocket) to the goal,
   * within `maxDepth` actions and `maxStates` states.
   */
  solve(grid: Uint8Array, g0: number, pos: number, dir: number, pocket: number, maxDepth: number, maxStates: number): SolveResult {
    const pr = this.problem;
    const cells = pr.cells;
    const w = this.grid;
    for (let k = 0; k < cells.length; k++) w[cells[k]] = grid[g0 + cells[k]];
    this.agent[0] = pos;
    this.agent[1] = dir;
    this.agent[2] = pocket;
    this.ensure(Math.min(maxStates, 4096));
    if (this.table.length !== 8192) this.resizeTable(8192, 0);
    else this.table.fill(EMPTY);
    const h0 = this.store(0);
    this.hashOf[0] = h0;
    this.parent[0] = -1;
    this.depthOf[0] = 0;
    this.insert(0, h0);
    let count = 1;
    let head = 0;
    let depth = 0;
    const changed = this.changed;
    const agent = this.agent;
    while (head < count) {
      const s = head++;
      const d = this.depthOf[s];
      depth = d;
      if (d >= maxDepth) return { status: 'unsolvable', steps: 0, actions: [], states: count, depth: d };
      this.load(s);
      const p0 = agent[0];
      const d0 = agent[1];
      const k0 = agent[2];
      for (let a = 0; a < 6; a++) {
        const reached = applyAction(w, 0, agent, 0, a, pr.rules, 0, pr.numRules, pr.goal, 0, pr.pw, changed) & GOAL_REACHED;
        if (reached !== 0) {
          const actions = [a];
          for (let q = s; this.parent[q] >= 0; q = this.parent[q]) actions.push(this.act[q]);
          actions.reverse();
          return { status: 'solved', steps: d + 1, actions, states: count, depth: d + 1 };
        }
        // new state?
        if (count >= maxStates) return { status: 'budget-exceeded', steps: 0, actions: [], states: count, depth: d };
        this.ensure(count + 1);
        const h = this.store(count);
        if (!this.lookup(count, h)) {
          this.hashOf[count] = h;
          this.parent[count] = s;
          this.act[count] = a;
          this.depthOf[count] = d + 1;
          this.insert(count, h);
          count++;
          if (count * 2 > this.table.length) this.resizeTable(this.table.length * 2, count);
        }
        // undo the action on the working grid
        const m = changed[0];
        if (m >= CHANGED_CAPACITY - 1) this.load(s);
        else {
          const o = s * this.stateLen + 4;
          for (let j = 1; j <= m; j++) {
            const k = this.cellIndex(changed[j]);
            if (k >= 0) w[changed[j]] = this.pool[o + k];
          }
        }
        agent[0] = p0;
        agent[1] = d0;
        agent[2] = k0;
      }
    }
    return { status: 'unsolvable', steps: 0, actions: [], states: count, depth };
  }

  private cellIdx: Int32Array | null = null;
  private cellIndex(c: number): number {
    if (!this.cellIdx) {
      this.cellIdx = new Int32Array(this.problem.pg).fill(-1);
      this.problem.cells.forEach((cell, k) => (this.cellIdx![cell] = k));
    }
    return this.cellIdx[c];
  }

  private insert(s: number, h: number): void {
    let i = h & this.mask;
    while (this.table[i] !== EMPTY) i = (i + 1) & this.mask;
    this.table[i] = s;
  }

  /** True when a state equal to slot s is already in the table. */
  private lookup(s: number, h: number): boolean {
    let i = h & this.mask;
    for (;;) {
      const t = this.table[i];
      if (t === EMPTY) return false;
      if (this.hashOf[t] === h && this.same(t, s)) return true;
      i = (i + 1) & this.mask;
    }
  }
}
