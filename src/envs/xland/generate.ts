/**
 * Benchmark generation for the `xland` family, following XLand-MiniGrid's ruleset generator: a goal
 * is drawn first; its input tiles are the roots of a tree of production rules grown level by level
 * (`depth` levels; each tile of a level is produced by a fresh rule whose inputs are new tiles,
 * unless the branch is pruned with probability `prune`, which makes that tile an initial object);
 * the inputs of the last level are the initial objects. Then a uniform number in
 * [0, distractorRules] of distractor rules (dead ends: their inputs may repeat tiles of the chain,
 * their products are tiles not used elsewhere or floor; their inputs are added to the initial
 * objects) and `distractorObjects` distractor objects (unused tiles). Rulesets are deterministic from
 * (seed, index) and unique within a benchmark (a repeat is drawn again).
 */
import { Rng } from '../../core/rng.js';
import { IcrlError } from '../../core/errors.js';
import { OBJECT_COLORS, OBJECT_TILES, PICKABLE_TILES } from './constants.js';
import { checkRuleset, rulesetId, type Goal, type InitTile, type ProdRef, type Rule, type Ruleset, type TileRef } from './ruleset.js';
import type { Layout } from './layout.js';

export interface PresetParams {
  /** Levels of production rules under the goal. */
  depth: number;
  /** Probability that a branch of the rule tree is cut (its tile becomes an initial object). */
  prune: number;
  /** At most this many distractor rules (uniform in 0..n). */
  distractorRules: number;
  /** Exactly this many distractor objects. */
  distractorObjects: number;
}

export const PRESET_NAMES = ['trivial', 'small', 'medium', 'high'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** XLand-MiniGrid's benchmark presets. */
export const PRESETS: Record<PresetName, PresetParams> = {
  trivial: { depth: 0, prune: 0, distractorRules: 0, distractorObjects: 3 },
  small: { depth: 1, prune: 0.3, distractorRules: 2, distractorObjects: 2 },
  medium: { depth: 2, prune: 0.1, distractorRules: 3, distractorObjects: 2 },
  high: { depth: 3, prune: 0.1, distractorRules: 4, distractorObjects: 1 },
};

const ref = (tile: string, color: string): TileRef => ({ tile, color }) as TileRef;
const key = (t: { tile: string; color?: string }): string => `${t.color ?? ''} ${t.tile}`;
const cross = (tiles: readonly string[]): TileRef[] => tiles.flatMap((t) => OBJECT_COLORS.map((c) => ref(t, c)));

/** Tiles that may be the first input of a near-relation (any object, the goal tile included). */
const NEAR_LHS = cross(OBJECT_TILES);
/** Tiles that can be moved (second input of a near-relation, held tiles). */
const NEAR_RHS = cross(PICKABLE_TILES);
const HOLD = NEAR_RHS;
const PROD: ProdRef[] = [...NEAR_RHS, { tile: 'floor' }];

function pick<T extends { tile: string; color?: string }>(rng: Rng, pool: readonly T[], used: Set<string>): T {
  const free = pool.filter((t) => !used.has(key(t)));
  if (free.length === 0) throw new IcrlError('xland generator: ran out of unused tiles');
  return free[rng.int(free.length)];
}

function sampleGoal(rng: Rng): { goal: Goal; tiles: TileRef[] } {
  const k = rng.int(3);
  if (k === 0) {
    const tile = HOLD[rng.int(HOLD.length)];
    return { goal: { kind: 'AgentHold', tile }, tiles: [tile] };
  }
  if (k === 1) {
    const tile = NEAR_LHS[rng.int(NEAR_LHS.length)];
    return { goal: { kind: 'AgentNear', tile }, tiles: [tile] };
  }
  const a = NEAR_LHS[rng.int(NEAR_LHS.length)];
  const b = NEAR_RHS[rng.int(NEAR_RHS.length)];
  return { goal: { kind: 'TileNear', a, b }, tiles: [a, b] };
}

function sampleRule(rng: Rng, prod: ProdRef, used: Set<string>): { rule: Rule; tiles: TileRef[] } {
  // a held product must be pickable (or floor): AgentHold only then
  const holdable = prod.tile === 'floor' || (PICKABLE_TILES as readonly string[]).includes(prod.tile);
  const k = holdable ? rng.int(3) : 1 + rng.int(2);
  if (k === 0) {
    const tile = pick(rng, HOLD, used);
    return { rule: { kind: 'AgentHold', tile, prod }, tiles: [tile] };
  }
  if (k === 1) {
    const tile = pick(rng, NEAR_LHS, used);
    return { rule: { kind: 'AgentNear', tile, prod }, tiles: [tile] };
  }
  const a = pick(rng, NEAR_LHS, used);
  const b = pick(rng, NEAR_RHS, used);
  return { rule: { kind: 'TileNear', a, b, prod }, tiles: [a, b] };
}

/** One ruleset of a preset, drawn from `rng`; `meta` records its depth and distractor counts. */
export function sampleRuleset(rng: Rng, params: PresetParams, preset = 'custom'): Ruleset {
  const used = new Set<string>();
  const { goal, tiles: goalTiles } = sampleGoal(rng);
  for (const t of goalTiles) used.add(key(t));
  const rules: Rule[] = [];
  const init: TileRef[] = [];
  let chain = [...goalTiles];
  let deepest = 0;
  if (params.depth === 0) init.push(...goalTiles);
  for (let level = 0; level < params.depth; level++) {
    const next: TileRef[] = [];
    while (chain.length > 0) {
      const prod = chain.pop()!;
      if (params.prune > 0 && rng.uniform() < params.prune) {
        init.push(prod);
        continue;
      }
      const { rule, tiles } = sampleRule(rng, prod, used);
      for (const t of tiles) used.add(key(t));
      rules.push(rule);
      deepest = level + 1;
      next.push(...tiles);
      if (level === params.depth - 1) init.push(...tiles);
    }
    chain = next;
  }
  const chainRules = rules.length;
  const distractorObjects: TileRef[] = [];
  for (let k = 0; k < params.distractorObjects; k++) {
    const free = NEAR_LHS.filter((t) => !used.has(key(t)));
    distractorObjects.push(free[rng.int(free.length)]);
  }
  const nd = params.distractorRules > 0 ? rng.int(params.distractorRules + 1) : 0;
  for (let k = 0; k < nd; k++) {
    for (;;) {
      const prod = pick(rng, PROD, used);
      const { rule, tiles } = sampleRule(rng, prod, new Set());
      // a rule that would turn a tile into itself changes nothing: draw again
      if (!('a' in rule) && key(rule.tile) === key(prod)) continue;
      rules.push(rule);
      init.push(...tiles);
      break;
    }
  }
  const tiles: InitTile[] = [...init, ...distractorObjects].map((t) => ({ tile: t.tile, color: t.color }));
  return {
    goal,
    rules,
    tiles,
    meta: { preset, depth: deepest, chainRules, distractorRules: nd, distractorObjects: distractorObjects.length },
  };
}

export interface BenchmarkOptions {
  preset: PresetName;
  /** Number of rulesets. */
  count: number;
  seed: number;
  /** Held-out rulesets: a count (>= 1) or a fraction (0 < x < 1). */
  heldOut: number;
  /** Name written into every ruleset (`benchmark`); default `<preset>-<seed>`. */
  name?: string;
  /** Layout the rulesets are checked against. */
  layout: Layout;
  /**
   * Optional check of each drawn ruleset (e.g. solvable by the exact solver): `null` accepts it
   * (with extra `meta` entries), a string rejects it and the ruleset is drawn again.
   */
  accept?: (r: Ruleset) => { meta: Record<string, number | string | null> } | string;
}

export const BENCHMARK_FORMAT = 'icrl-xland-benchmark-1';

export interface Benchmark {
  format: typeof BENCHMARK_FORMAT;
  /** Rulesets drawn and rejected by `accept`, by reason. */
  rejected: Record<string, number>;
  name: string;
  preset: PresetName;
  params: PresetParams;
  seed: number;
  rulesets: Ruleset[];
  /** Indices of the held-out rulesets (sorted); the others are the training set. */
  heldOut: number[];
}

/** Generates `count` unique rulesets of a preset, deterministic from the seed, with a seeded train / held-out split. */
export function generateBenchmark(opts: BenchmarkOptions): Benchmark {
  const params = PRESETS[opts.preset];
  if (!params) throw new IcrlError(`xland: unknown preset ${JSON.stringify(opts.preset)}; expected one of ${PRESET_NAMES.join(', ')}`);
  if (!Number.isInteger(opts.count) || opts.count < 2) throw new IcrlError(`xland benchmark: count must be an integer >= 2, got ${opts.count}`);
  const name = opts.name ?? `${opts.preset}-${opts.seed}`;
  const root = new Rng(opts.seed).split('rulesets');
  const seen = new Set<string>();
  const rulesets: Ruleset[] = [];
  const rejected: Record<string, number> = {};
  for (let i = 0; i < opts.count; i++) {
    for (let attempt = 0; ; attempt++) {
      if (attempt >= 1000) throw new IcrlError(`xland benchmark: could not draw a new unique ${opts.preset} ruleset for index ${i} in 1000 tries`);
      const r = sampleRuleset(root.split(`${i}:${attempt}`), params, opts.preset);
      const id = rulesetId(r);
      if (seen.has(id)) continue;
      checkRuleset(r, opts.layout, `generated ruleset ${i}`);
      seen.add(id);
      const verdict = opts.accept ? opts.accept(r) : { meta: {} };
      if (typeof verdict === 'string') {
        rejected[verdict] = (rejected[verdict] ?? 0) + 1;
        continue;
      }
      rulesets.push({ ...r, meta: { ...r.meta, ...verdict.meta }, benchmark: name, index: i });
      break;
    }
  }
  const nHeld = opts.heldOut < 1 ? Math.round(opts.count * opts.heldOut) : opts.heldOut;
  if (!Number.isInteger(nHeld) || nHeld < 1 || nHeld >= opts.count) throw new IcrlError(`xland benchmark: heldOut=${opts.heldOut} must leave at least one ruleset on each side of ${opts.count}`);
  const perm = new Rng(opts.seed).split('split').permutation(opts.count);
  const heldOut = Array.from(perm.subarray(opts.count - nHeld)).sort((a, b) => a - b);
  return { format: BENCHMARK_FORMAT, rejected, name, preset: opts.preset, params, seed: opts.seed, rulesets, heldOut };
}

/**
 * The benchmark as a JSON document. `tasks` holds the training rulesets as task parameters, so the
 * file can be given to `icrl collect` as `tasks.file`; `heldOut` holds the held-out ones.
 */
export function benchmarkToJson(b: Benchmark): string {
  const held = new Set(b.heldOut);
  const task = (r: Ruleset) => ({ ruleset: r });
  return JSON.stringify(
    {
      family: 'xland',
      format: b.format,
      benchmark: { name: b.name, preset: b.preset, params: b.params, seed: b.seed, count: b.rulesets.length, heldOutIndices: b.heldOut, rejected: b.rejected },
      tasks: b.rulesets.filter((_, i) => !held.has(i)).map(task),
      heldOut: b.rulesets.filter((_, i) => held.has(i)).map(task),
    },
    null,
    1,
  );
}
