import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { getFamily, makeEnv } from '../src/envs/index.js';
import {
  BatchedXLand,
  CHANGED_CAPACITY,
  COLOR,
  END_OF_MAP_CODE,
  FLOOR_CODE,
  GOAL_REACHED,
  PRESETS,
  TILE,
  WALL_CODE,
  applyAction,
  benchmarkToJson,
  code,
  generateBenchmark,
  loadBenchmark,
  makeLayout,
  rulesetId,
  solvableCheck,
  type Ruleset,
} from '../src/envs/xland/index.js';

type Pos = [number, number];
const t = (tile: string, color: string) => ({ tile, color }) as { tile: 'ball'; color: 'red' };
const FWD = 0;
const RIGHT = 1;
const LEFT = 2;
const PICK = 3;
const PUT = 4;
const TOGGLE = 5;

/** One instance of a 7 x 7 room (5 x 5 floor) playing `ruleset`. */
function one(ruleset: Record<string, unknown>, options: Record<string, unknown> = {}): BatchedXLand {
  const env = new BatchedXLand(1, { size: 7, ...options }, new Rng(0));
  env.setTasks([{ family: 'xland', params: { ruleset: ruleset as never } }]);
  return env;
}

function step(env: BatchedXLand, a: number): { reward: number; terminated: number; truncated: number } {
  env.step(Int32Array.of(a));
  return { reward: env.rewards[0], terminated: env.terminated[0], truncated: env.truncated[0] };
}

function cellAt(env: BatchedXLand, [x, y]: Pos): number {
  return env.grid[y * env.options.size + x];
}

const redBall = t('ball', 'red');
const blueKey = t('key', 'blue');
const greenStar = t('star', 'green');
const RED_BALL = code(TILE.ball, COLOR.red);
const BLUE_KEY = code(TILE.key, COLOR.blue);
const GREEN_STAR = code(TILE.star, COLOR.green);

describe('xland rules fire exactly when they should', () => {
  it('AgentHold turns the held tile into its product on pick-up, and only that tile', () => {
    const rules = [{ kind: 'AgentHold', tile: redBall, prod: blueKey }];
    const env = one({ goal: { kind: 'AgentHold', tile: blueKey }, rules, tiles: [{ ...redBall, at: [3, 1] }, { ...t('ball', 'green'), at: [5, 5] }], agent: { at: [2, 1], dir: 'right' } });
    const r = step(env, PICK);
    expect(r.terminated).toBe(1);
    expect(r.reward).toBeCloseTo(1 - 0.9 / env.horizon, 6);
    const env2 = one({ goal: { kind: 'AgentHold', tile: blueKey }, rules, tiles: [{ ...redBall, at: [1, 5] }, { ...t('ball', 'green'), at: [3, 1] }], agent: { at: [2, 1], dir: 'right' } });
    expect(step(env2, PICK).terminated).toBe(0);
    expect(env2.agent[2]).toBe(code(TILE.ball, COLOR.green));
  });

  it('AgentNear transforms a tile next to the agent once the agent arrives, not before, and not on a turn', () => {
    const rules = [{ kind: 'AgentNear', tile: redBall, prod: blueKey }];
    const goal = { kind: 'AgentHold', tile: blueKey };
    const env = one({ goal, rules, tiles: [{ ...redBall, at: [4, 1] }], agent: { at: [1, 1], dir: 'right' } });
    step(env, FWD); // at (2,1): ball two cells away
    expect(cellAt(env, [4, 1])).toBe(RED_BALL);
    step(env, FWD); // at (3,1): ball next to it
    expect(cellAt(env, [4, 1])).toBe(BLUE_KEY);
    // starting next to the ball, turning in place fires nothing
    const env2 = one({ goal, rules, tiles: [{ ...redBall, at: [4, 1] }], agent: { at: [3, 1], dir: 'up' } });
    step(env2, RIGHT);
    step(env2, LEFT);
    expect(cellAt(env2, [4, 1])).toBe(RED_BALL);
  });

  it('AgentNearUp fires for a tile above the agent only', () => {
    const rules = [{ kind: 'AgentNearUp', tile: redBall, prod: blueKey }];
    const goal = { kind: 'AgentHold', tile: blueKey };
    const above = one({ goal, rules, tiles: [{ ...redBall, at: [3, 1] }], agent: { at: [3, 3], dir: 'up' } });
    step(above, FWD);
    expect(cellAt(above, [3, 1])).toBe(BLUE_KEY);
    const right = one({ goal, rules, tiles: [{ ...redBall, at: [4, 2] }], agent: { at: [3, 3], dir: 'up' } });
    step(right, FWD); // ball now to the right of the agent
    expect(cellAt(right, [4, 2])).toBe(RED_BALL);
  });

  /** Agent at (1,1) facing right, red ball at (2,1), blue key at (1,3): pick up, face down, put the ball on (1,2) above the key. */
  function tileNearSetup(rule: Record<string, unknown>, goal: Record<string, unknown> = { kind: 'AgentHold', tile: greenStar }) {
    const env = one({ goal, rules: [rule], tiles: [{ ...redBall, at: [2, 1] }, { ...blueKey, at: [1, 3] }], agent: { at: [1, 1], dir: 'right' } });
    step(env, PICK);
    step(env, RIGHT);
    return { env, last: step(env, PUT) };
  }

  it('TileNear: the tile put down becomes floor and its neighbour the product', () => {
    const { env } = tileNearSetup({ kind: 'TileNear', a: redBall, b: blueKey, prod: greenStar });
    expect(cellAt(env, [1, 2])).toBe(FLOOR_CODE);
    expect(cellAt(env, [1, 3])).toBe(GREEN_STAR);
    // the same with a and b swapped
    const sw = tileNearSetup({ kind: 'TileNear', a: blueKey, b: redBall, prod: greenStar }).env;
    expect(cellAt(sw, [1, 3])).toBe(GREEN_STAR);
    // a floor product makes both disappear
    const gone = tileNearSetup({ kind: 'TileNear', a: redBall, b: blueKey, prod: { tile: 'floor' } }, { kind: 'AgentNear', tile: blueKey }).env;
    expect(cellAt(gone, [1, 2])).toBe(FLOOR_CODE);
    expect(cellAt(gone, [1, 3])).toBe(FLOOR_CODE);
  });

  it('TileNearDown fires when b is below a, TileNearUp does not', () => {
    const down = tileNearSetup({ kind: 'TileNearDown', a: redBall, b: blueKey, prod: greenStar }).env;
    expect(cellAt(down, [1, 3])).toBe(GREEN_STAR);
    const up = tileNearSetup({ kind: 'TileNearUp', a: redBall, b: blueKey, prod: greenStar }).env;
    expect(cellAt(up, [1, 2])).toBe(RED_BALL);
    expect(cellAt(up, [1, 3])).toBe(BLUE_KEY);
    const upSwapped = tileNearSetup({ kind: 'TileNearUp', a: blueKey, b: redBall, prod: greenStar }).env;
    // b (the ball, put on (1,2)) is above a (the key): the ball's cell becomes floor, the key the product
    expect(cellAt(upSwapped, [1, 2])).toBe(FLOOR_CODE);
    expect(cellAt(upSwapped, [1, 3])).toBe(GREEN_STAR);
  });

  it('rules chain in list order within one step: a product can trigger a later rule', () => {
    const rules = [
      { kind: 'AgentNear', tile: redBall, prod: blueKey },
      { kind: 'AgentNear', tile: blueKey, prod: greenStar },
    ];
    const env = one({ goal: { kind: 'AgentHold', tile: greenStar }, rules, tiles: [{ ...redBall, at: [4, 1] }], agent: { at: [2, 1], dir: 'right' } });
    step(env, FWD);
    expect(cellAt(env, [4, 1])).toBe(GREEN_STAR);
  });
});

describe('xland goals and reward', () => {
  it('AgentOnTile ends the episode when the agent steps on the goal tile, with reward 1 - 0.9 t / T', () => {
    const env = one({ goal: { kind: 'AgentOnTile', tile: t('goal', 'grey') }, rules: [], tiles: [{ ...t('goal', 'grey'), at: [3, 1] }], agent: { at: [1, 1], dir: 'right' } });
    expect(step(env, FWD).terminated).toBe(0);
    const r = step(env, FWD);
    expect(r.terminated).toBe(1);
    expect(r.truncated).toBe(0);
    expect(r.reward).toBeCloseTo(1 - (0.9 * 2) / (3 * 7 * 7), 6);
    expect(env.horizon).toBe(147);
    expect(env.episodeStep[0]).toBe(0); // reset automatically
  });

  it('AgentNear and its directional forms', () => {
    const mk = (kind: string) => one({ goal: { kind, tile: redBall }, rules: [], tiles: [{ ...redBall, at: [4, 1] }], agent: { at: [2, 1], dir: 'right' } });
    expect(step(mk('AgentNear'), FWD).terminated).toBe(1);
    expect(step(mk('AgentNearRight'), FWD).terminated).toBe(1);
    expect(step(mk('AgentNearLeft'), FWD).terminated).toBe(0);
    expect(step(mk('AgentNearUp'), FWD).terminated).toBe(0);
    // a turn next to the tile changes nothing: not achieved
    const e = one({ goal: { kind: 'AgentNear', tile: redBall }, rules: [], tiles: [{ ...redBall, at: [4, 1] }], agent: { at: [3, 1], dir: 'up' } });
    expect(step(e, RIGHT).terminated).toBe(0);
  });

  it('TileNear and TileNearDown goals fire when the tile is put next to the other; TileNearUp does not', () => {
    const mk = (kind: string) => {
      const env = one({ goal: { kind, a: redBall, b: blueKey }, rules: [], tiles: [{ ...redBall, at: [2, 1] }, { ...blueKey, at: [1, 3] }], agent: { at: [1, 1], dir: 'right' } });
      expect(step(env, PICK).terminated).toBe(0);
      step(env, RIGHT);
      return step(env, PUT);
    };
    expect(mk('TileNear').terminated).toBe(1);
    expect(mk('TileNearDown').terminated).toBe(1);
    expect(mk('TileNearUp').terminated).toBe(0);
    expect(mk('TileNear').reward).toBeCloseTo(1 - (0.9 * 3) / 147, 6);
  });

  it('TileOnPosition and AgentOnPosition', () => {
    const put = (at: Pos) => {
      const env = one({ goal: { kind: 'TileOnPosition', tile: redBall, at }, rules: [], tiles: [{ ...redBall, at: [2, 1] }], agent: { at: [1, 1], dir: 'right' } });
      step(env, PICK);
      step(env, RIGHT);
      return step(env, PUT).terminated;
    };
    expect(put([1, 2])).toBe(1);
    expect(put([3, 3])).toBe(0);
    const env = one({ goal: { kind: 'AgentOnPosition', at: [3, 1] }, rules: [], tiles: [], agent: { at: [1, 1], dir: 'right' } });
    expect(step(env, FWD).terminated).toBe(0);
    expect(step(env, FWD).terminated).toBe(1);
  });

  it('truncates after the horizon with reward 0 and resets', () => {
    const env = one({ goal: { kind: 'AgentOnPosition', at: [5, 5] }, rules: [], tiles: [], agent: { at: [1, 1], dir: 'up' } }, { horizon: 4 });
    for (let k = 0; k < 3; k++) expect(step(env, RIGHT).truncated).toBe(0);
    const r = step(env, RIGHT);
    expect(r).toEqual({ reward: 0, terminated: 0, truncated: 1 });
    expect(env.episodeStep[0]).toBe(0);
    expect(env.agent[1]).toBe(0); // back to the start, facing up
  });

  it('doors open and close with toggle; a closed door blocks', () => {
    const env = new BatchedXLand(1, { layout: 'two-rooms', size: 7 }, new Rng(0));
    // vertical wall at x = 3 with a door at (3, 3)
    env.setTasks([{ family: 'xland', params: { ruleset: { goal: { kind: 'AgentOnPosition', at: [4, 3] }, rules: [], tiles: [], agent: { at: [2, 3], dir: 'right' } } } }]);
    step(env, FWD);
    expect(env.agent[0]).toBe(3 * 7 + 2);
    step(env, TOGGLE);
    expect(cellAt(env, [3, 3])).toBe(code(TILE.door_open, COLOR.yellow));
    step(env, FWD);
    expect(step(env, FWD).terminated).toBe(1);
  });
});

describe('xland observation', () => {
  it('encodes the egocentric 5 x 5 view as tile * 14 + colour, agent at the bottom centre facing up', () => {
    const env = one({ goal: { kind: 'AgentNear', tile: redBall }, rules: [], tiles: [{ ...redBall, at: [3, 1] }, { ...blueKey, at: [4, 3] }], agent: { at: [3, 3], dir: 'up' } });
    const v = (r: number, c: number) => env.obs[r * 5 + c];
    expect(env.obsDim).toBe(25);
    expect(RED_BALL).toBe(5 * 14 + 3);
    expect(v(2, 2)).toBe(RED_BALL); // two cells ahead
    expect(v(4, 3)).toBe(BLUE_KEY); // right of the agent
    expect(v(0, 2)).toBe(END_OF_MAP_CODE); // (3, -1): outside the grid
    expect(v(1, 2)).toBe(WALL_CODE); // (3, 0)
    expect(v(4, 2)).toBe(FLOOR_CODE); // the agent's own cell
    // turn right: facing +x, the key is straight ahead and the ball on the left
    step(env, RIGHT);
    expect(v(3, 2)).toBe(BLUE_KEY);
    expect(v(4, 0)).toBe(RED_BALL);
    // facing down: the ball is behind, out of view; the key is on the left
    step(env, RIGHT);
    expect(Array.from(env.obs)).not.toContain(RED_BALL);
    expect(v(4, 1)).toBe(BLUE_KEY);
  });

  it('observation onehot: a one-hot of tile and one of colour per view cell, the same view as the codes', () => {
    const a = new BatchedXLand(16, { preset: 'small' }, new Rng(4));
    const b = new BatchedXLand(16, { preset: 'small', observation: 'onehot' }, new Rng(4));
    expect(b.obsDim).toBe(25 * 29);
    a.reset(1);
    b.reset(1);
    const rng = new Rng(2);
    const act = new Int32Array(16);
    for (let s = 0; s < 300; s++) {
      rng.fillInt(act, 6);
      a.step(act);
      b.step(act);
      for (let i = 0; i < 16; i++) {
        for (let k = 0; k < 25; k++) {
          const c = a.obs[i * 25 + k];
          const row = Array.from(b.obs.subarray(i * 725 + k * 29, i * 725 + k * 29 + 29));
          const want = new Array(29).fill(0);
          want[Math.floor(c / 14)] = 1;
          want[15 + (c % 14)] = 1;
          if (row.join() !== want.join()) throw new Error(`step ${s} instance ${i} cell ${k}: code ${c}, one-hot ${row.join('')}`);
        }
        expect(b.rewards[i]).toBe(a.rewards[i]);
      }
    }
  });

  it('keeps the last observation of a finished episode in finalObs', () => {
    const env = one({ goal: { kind: 'AgentOnPosition', at: [2, 1] }, rules: [], tiles: [{ ...redBall, at: [2, 3] }], agent: { at: [1, 1], dir: 'right' } });
    step(env, FWD);
    expect(env.terminated[0]).toBe(1);
    // at (2,1) facing right: the ball (2,3) is two to the right: row 4, column 4
    expect(env.finalObs[4 * 5 + 4]).toBe(RED_BALL);
    expect(env.obs[4 * 5 + 4]).not.toBe(RED_BALL); // back at (1,1)
  });
});

describe('xland bad input names the field', () => {
  const base = { goal: { kind: 'AgentNear', tile: redBall }, rules: [], tiles: [{ ...redBall }] };
  const check = (r: unknown) => () => one(r as Record<string, unknown>);
  it('unknown tile, colour, rule and goal kinds, positions outside the grid, rules that never fire', () => {
    expect(check({ ...base, tiles: [{ tile: 'cube', color: 'red' }] })).toThrow(/ruleset\.tiles\[0\]\.tile/);
    expect(check({ ...base, tiles: [{ tile: 'ball', color: 'cyan' }] })).toThrow(/ruleset\.tiles\[0\]\.color/);
    expect(check({ ...base, rules: [{ kind: 'TileFar', tile: redBall, prod: blueKey }] })).toThrow(/ruleset\.rules\[0\]/);
    expect(check({ ...base, goal: { kind: 'AgentFly', tile: redBall } })).toThrow(/ruleset\.goal/);
    expect(check({ ...base, tiles: [{ ...redBall, at: [9, 1] }] })).toThrow(/ruleset\.tiles\[0\]\.at: position \[9, 1\] is outside the 7 x 7 grid/);
    expect(check({ ...base, tiles: [{ ...redBall, at: [0, 1] }] })).toThrow(/tiles\[0\]\.at: .* wall/);
    expect(check({ ...base, rules: [{ kind: 'AgentNear', tile: blueKey, prod: greenStar }] })).toThrow(/ruleset\.rules\[0\]\.tile: blue key is never present/);
    expect(check({ ...base, goal: { kind: 'AgentHold', tile: blueKey } })).toThrow(/ruleset\.goal\.tile: blue key is never present/);
    expect(check({ ...base, rules: [{ kind: 'AgentHold', tile: t('goal', 'red'), prod: blueKey }], tiles: [redBall, t('goal', 'red')] })).toThrow(/rules\[0\]\.tile: red goal cannot be picked up/);
    expect(check({ ...base, rules: [{ kind: 'AgentNear', tile: redBall, prod: redBall }] })).toThrow(/rules\[0\]\.prod: is its own input/);
  });
});

/** Shortest goal-reaching action sequence by brute force over every sequence of up to maxLen actions (-1 if none). */
function exhaustive(env: BatchedXLand, maxLen: number): number {
  const p = env.solverProblem(0);
  const ch = new Int32Array(CHANGED_CAPACITY);
  const grids = Array.from({ length: maxLen + 1 }, () => new Uint8Array(env.pg));
  const agents = Array.from({ length: maxLen + 1 }, () => new Int32Array(3));
  grids[0].set(env.grid.subarray(0, env.pg));
  agents[0].set(env.agent.subarray(0, 3));
  let best = -1;
  const rec = (depth: number, limit: number): boolean => {
    for (let a = 0; a < 6; a++) {
      grids[depth + 1].set(grids[depth]);
      agents[depth + 1].set(agents[depth]);
      if ((applyAction(grids[depth + 1], 0, agents[depth + 1], 0, a, p.rules, 0, p.numRules, p.goal, 0, p.pw, ch) & GOAL_REACHED) !== 0) return true;
      if (depth + 1 < limit && rec(depth + 1, limit)) return true;
    }
    return false;
  };
  for (let L = 1; L <= maxLen && best < 0; L++) if (rec(0, L)) best = L;
  return best;
}

describe('xland solver', () => {
  it('is optimal: matches exhaustive search over all action sequences on tiny rooms, and its plan plays out in the environment', () => {
    const rng = new Rng(7);
    let solvedShort = 0;
    for (let k = 0; k < 24; k++) {
      const preset = k % 2 === 0 ? 'trivial' : 'small';
      const env = new BatchedXLand(1, { size: 5, preset, placement: 'fixed' }, rng.split(k));
      // a 3 x 3 floor: keep at most 5 tiles so the agent can move
      const r = env.ruleset(0).ruleset;
      if (r.tiles.length > 5) continue;
      const res = env.solve(0, true);
      expect(res.status).not.toBe('budget-exceeded');
      const limit = 5;
      const brute = exhaustive(env, limit);
      if (res.status === 'solved' && res.steps <= limit) {
        expect(brute).toBe(res.steps);
        solvedShort++;
      } else expect(brute).toBe(-1);
      if (res.status === 'solved') {
        for (let s = 0; s < res.actions.length; s++) {
          env.step(Int32Array.of(res.actions[s]));
          expect(env.terminated[0]).toBe(s === res.actions.length - 1 ? 1 : 0);
        }
        expect(env.rewards[0]).toBeCloseTo(1 - (0.9 * res.steps) / env.horizon, 6);
      }
    }
    expect(solvedShort).toBeGreaterThan(5);
  });

  it('follows the oracle to the optimal return, and names unsolvable and over-budget results', () => {
    const env = new BatchedXLand(8, { preset: 'small', placement: 'fixed' }, new Rng(3));
    const values = Array.from({ length: 8 }, (_, i) => env.oracleValue(i));
    const got = new Float64Array(8);
    const done = new Uint8Array(8);
    const a = new Int32Array(8);
    for (let s = 0; s < env.horizon && done.some((d) => d === 0); s++) {
      for (let i = 0; i < 8; i++) a[i] = env.oracleAction(i);
      env.step(a);
      for (let i = 0; i < 8; i++) {
        if (done[i] === 0 && (env.terminated[i] || env.truncated[i])) {
          got[i] = env.rewards[i];
          done[i] = 1;
        }
      }
    }
    for (let i = 0; i < 8; i++) expect(got[i]).toBeCloseTo(values[i], 6);
    // the ball vanishes as soon as the agent is next to it, so it can never be held
    const never = one({ goal: { kind: 'AgentHold', tile: redBall }, rules: [{ kind: 'AgentNear', tile: redBall, prod: { tile: 'floor' } }], tiles: [{ ...redBall, at: [4, 4] }], agent: { at: [1, 1], dir: 'up' } });
    const u = never.solve(0, true);
    expect(u.status).toBe('unsolvable');
    expect(never.oracleValue(0)).toBe(0);
    const far = one({ goal: { kind: 'AgentOnPosition', at: [5, 5] }, rules: [], tiles: [], agent: { at: [1, 1], dir: 'up' } }, { horizon: 5 });
    expect(far.solve(0, true).status).toBe('unsolvable');
    const big = new BatchedXLand(1, { preset: 'high', solverMaxStates: 100 }, new Rng(1));
    expect(big.solve(0, true).status).toBe('budget-exceeded');
  });
});

describe('xland benchmark generator', () => {
  const layout = makeLayout('single', 9);
  it('presets reproduce their depth and distractor statistics', () => {
    const n = 400;
    for (const preset of ['trivial', 'small', 'medium', 'high'] as const) {
      const p = PRESETS[preset];
      const b = generateBenchmark({ preset, count: n, seed: 1, heldOut: 0.1, layout });
      const metas = b.rulesets.map((r) => r.meta!);
      const mean = (f: (m: Record<string, number | string | null>) => number) => metas.reduce((s, m) => s + f(m), 0) / n;
      expect(Math.max(...metas.map((m) => m.depth as number))).toBe(p.depth);
      expect(metas.every((m) => m.distractorObjects === p.distractorObjects)).toBe(true);
      expect(metas.every((m) => (m.distractorRules as number) <= p.distractorRules)).toBe(true);
      expect(mean((m) => m.distractorRules as number)).toBeGreaterThan(p.distractorRules / 2 - 0.2);
      expect(mean((m) => m.distractorRules as number)).toBeLessThan(p.distractorRules / 2 + 0.2);
      expect(b.rulesets.every((r) => r.rules.length === (r.meta!.chainRules as number) + (r.meta!.distractorRules as number))).toBe(true);
      if (preset === 'trivial') expect(b.rulesets.every((r) => r.rules.length === 0)).toBe(true);
      if (preset === 'small') {
        // each goal tile gets a producing rule with probability 1 - prune = 0.7
        const goalTiles = b.rulesets.reduce((s, r) => s + ('a' in r.goal ? 2 : 1), 0);
        const rate = mean((m) => m.chainRules as number) * n / goalTiles;
        expect(rate).toBeGreaterThan(0.64);
        expect(rate).toBeLessThan(0.76);
      }
      if (preset === 'high') {
        // a branch is cut with probability 0.1 at each of 3 levels: most rulesets still reach depth 3
        expect(mean((m) => (m.depth === 3 ? 1 : 0))).toBeGreaterThan(0.75);
        expect(mean((m) => (m.depth === 3 ? 1 : 0))).toBeLessThan(0.97);
      }
      expect(new Set(b.rulesets.map(rulesetId)).size).toBe(n);
    }
  });

  it('validation: the solver check records optimal steps, and rejected rulesets are drawn again', () => {
    const b = generateBenchmark({ preset: 'trivial', count: 30, seed: 2, heldOut: 5, layout, accept: solvableCheck({}, 100_000) });
    expect(b.rulesets.every((r) => r.meta!.solver === 'solved' && (r.meta!.optimalSteps as number) >= 1)).toBe(true);
    const noHold = generateBenchmark({ preset: 'trivial', count: 30, seed: 2, heldOut: 5, layout, accept: (r) => (r.goal.kind === 'AgentHold' ? 'AgentHold goal' : { meta: {} }) });
    expect(noHold.rulesets.some((r) => r.goal.kind === 'AgentHold')).toBe(false);
    expect(noHold.rejected['AgentHold goal']).toBeGreaterThan(0);
    expect(noHold.rulesets.length).toBe(30);
  });

  it('same seed, same benchmark file; the split is disjoint and loads back', () => {
    const a = benchmarkToJson(generateBenchmark({ preset: 'small', count: 50, seed: 4, heldOut: 10, layout }));
    const b = benchmarkToJson(generateBenchmark({ preset: 'small', count: 50, seed: 4, heldOut: 10, layout }));
    const c = benchmarkToJson(generateBenchmark({ preset: 'small', count: 50, seed: 5, heldOut: 10, layout }));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    const loaded = loadBenchmark(a, 'small.json');
    expect(loaded.train.length).toBe(40);
    expect(loaded.heldOut.length).toBe(10);
    const ids = (ts: typeof loaded.train) => new Set(ts.map((x) => rulesetId(x.params.ruleset as unknown as Ruleset)));
    const tr = ids(loaded.train);
    for (const id of ids(loaded.heldOut)) expect(tr.has(id)).toBe(false);
    expect(() => loadBenchmark(a.replace('"AgentNear"', '"AgentFar"'), 'small.json')).toThrow(/small\.json: (tasks|heldOut)\[\d+\]: .*(goal|rules\[\d+\])\.kind: unknown (goal|rule) kind "AgentFar"/);
  });
});

describe('xland family', () => {
  it('is registered, steps with automatic reset and is reproducible from the seed', () => {
    const fam = getFamily('xland');
    const run = () => {
      const env = fam.make(64, { preset: 'small' }, new Rng(11));
      env.reset(5);
      const rng = new Rng(2);
      const a = new Int32Array(64);
      let sum = 0;
      let ends = 0;
      for (let s = 0; s < 600; s++) {
        rng.fillInt(a, 6);
        env.step(a);
        for (let i = 0; i < 64; i++) {
          sum += env.rewards[i] + env.obs[i * 25 + 7];
          ends += env.terminated[i] + env.truncated[i];
        }
      }
      return { sum, ends };
    };
    const r1 = run();
    expect(r1).toEqual(run());
    expect(r1.ends).toBeGreaterThanOrEqual(64 * 2); // every instance passed its 243-step horizon twice
    const single = makeEnv('xland', { seed: 3 });
    const [obs] = single.reset(0);
    expect(obs.length).toBe(25);
    expect(() => single.step(6)).toThrow(/xland action/);
  });
});
