/**
 * Rulesets of the `xland` family as data: a goal, production rules and the initial tiles (plus,
 * optionally, fixed positions for some tiles and the agent). Parsed with zod; checked against a
 * layout (positions inside the grid and on floor) and for rules or goals that can never fire, with
 * errors naming the field. `encodeRuleset` turns a checked ruleset into the integer rows the step
 * loop reads; `rulesetId` is a stable content hash.
 *
 * Rule kinds (each produces a tile; a product `{ tile: floor }` makes its inputs disappear):
 * - AgentHold(tile -> prod): when the agent holds `tile`, it holds `prod` instead.
 * - AgentNear(tile -> prod), and AgentNearUp / Right / Down / Left: when `tile` is on a cell next to
 *   the agent (the directional forms: on that side, in absolute directions, up = y - 1), it becomes `prod`.
 * - TileNear(a, b -> prod), and TileNearUp / Right / Down / Left: when a tile `a` or `b` appears on a
 *   cell (put down, or produced by a rule) next to the other one, the cell it appeared on becomes
 *   floor and the other one becomes `prod`. Directional forms: `b` must be on that side of `a`.
 * Goals: AgentHold(tile), AgentOnTile(tile), AgentNear(tile) (+ directions), TileNear(a, b)
 * (+ directions, appearing as for the rule), TileOnPosition(tile, at), AgentOnPosition(at).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { OutOfSpaceError } from '../../core/errors.js';
import { COLOR, DIRECTION_NAMES, FLOOR_CODE, OBJECT_COLORS, OBJECT_TILES, PICKABLE, TILE, code, codeName } from './constants.js';
import type { Layout } from './layout.js';
import { canonicalJson } from '../../core/json.js';

export const RULE_KINDS = ['AgentHold', 'AgentNear', 'AgentNearUp', 'AgentNearRight', 'AgentNearDown', 'AgentNearLeft', 'TileNear', 'TileNearUp', 'TileNearRight', 'TileNearDown', 'TileNearLeft'] as const;
export const GOAL_KINDS = [
  'AgentHold',
  'AgentOnTile',
  'AgentNear',
  'AgentNearUp',
  'AgentNearRight',
  'AgentNearDown',
  'AgentNearLeft',
  'TileNear',
  'TileNearUp',
  'TileNearRight',
  'TileNearDown',
  'TileNearLeft',
  'TileOnPosition',
  'AgentOnPosition',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export type GoalKind = (typeof GOAL_KINDS)[number];

/** Integer kind ids in the encoded rows (0 = none). */
export const RULE_ID = Object.fromEntries(RULE_KINDS.map((k, i) => [k, i + 1])) as Record<RuleKind, number>;
export const GOAL_ID = Object.fromEntries(GOAL_KINDS.map((k, i) => [k, i + 1])) as Record<GoalKind, number>;

export const tileRefSchema = z.object({ tile: z.enum(OBJECT_TILES), color: z.enum(OBJECT_COLORS) }).strict();
export type TileRef = z.output<typeof tileRefSchema>;
/** A rule's product: an object tile, or floor (its inputs disappear). */
export const prodSchema = z.union([tileRefSchema, z.object({ tile: z.literal('floor') }).strict()]);
export type ProdRef = z.output<typeof prodSchema>;
const posSchema = z.tuple([z.number().int().min(0), z.number().int().min(0)]);

const agentNearRuleKinds = ['AgentNear', 'AgentNearUp', 'AgentNearRight', 'AgentNearDown', 'AgentNearLeft'] as const;
const tileNearKinds = ['TileNear', 'TileNearUp', 'TileNearRight', 'TileNearDown', 'TileNearLeft'] as const;
const agentNearGoalKinds = agentNearRuleKinds;

export const ruleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('AgentHold'), tile: tileRefSchema, prod: prodSchema }).strict(),
  z.object({ kind: z.enum(agentNearRuleKinds), tile: tileRefSchema, prod: prodSchema }).strict(),
  z.object({ kind: z.enum(tileNearKinds), a: tileRefSchema, b: tileRefSchema, prod: prodSchema }).strict(),
]);
export type Rule = z.output<typeof ruleSchema>;

export const goalSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.enum(['AgentHold', 'AgentOnTile']), tile: tileRefSchema }).strict(),
  z.object({ kind: z.enum(agentNearGoalKinds), tile: tileRefSchema }).strict(),
  z.object({ kind: z.enum(tileNearKinds), a: tileRefSchema, b: tileRefSchema }).strict(),
  z.object({ kind: z.literal('TileOnPosition'), tile: tileRefSchema, at: posSchema }).strict(),
  z.object({ kind: z.literal('AgentOnPosition'), at: posSchema }).strict(),
]);
export type Goal = z.output<typeof goalSchema>;

export const initTileSchema = z.object({ tile: z.enum(OBJECT_TILES), color: z.enum(OBJECT_COLORS), at: posSchema.optional() }).strict();
export type InitTile = z.output<typeof initTileSchema>;

export const rulesetSchema = z
  .object({
    goal: goalSchema,
    rules: z.array(ruleSchema).max(32),
    tiles: z.array(initTileSchema).max(64),
    /** Fixed start of the agent (otherwise drawn per episode, or per task with placement "fixed"). */
    agent: z.object({ at: posSchema, dir: z.enum(DIRECTION_NAMES) }).strict().optional(),
    /** Provenance: the benchmark this ruleset belongs to and its index there. */
    benchmark: z.string().optional(),
    index: z.number().int().min(0).optional(),
    /** Generation statistics (written by the generator; not part of the task's identity). */
    meta: z.record(z.string(), z.union([z.number(), z.string(), z.null()])).optional(),
  })
  .strict();
export type Ruleset = z.output<typeof rulesetSchema>;

export function refCode(t: { tile: string; color?: string }): number {
  if (t.tile === 'floor') return FLOOR_CODE;
  return code(TILE[t.tile as keyof typeof TILE], COLOR[t.color as keyof typeof COLOR]);
}

function fail(path: string, msg: string): never {
  throw new OutOfSpaceError(`${path}: ${msg}`);
}

/** Parses a ruleset with zod; the first problem is reported with its path (e.g. `ruleset.rules[0].tile.color`). */
export function parseRuleset(value: unknown, path = 'ruleset'): Ruleset {
  const r = rulesetSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  let msg = issue.message;
  // the value that failed, so that an unknown rule, tile or colour is named
  let got: unknown = value;
  for (const k of issue.path) got = got !== null && typeof got === 'object' ? (got as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
  const named = typeof got === 'string' || typeof got === 'number' ? ` ${JSON.stringify(got)}` : '';
  if (issue.code === 'invalid_union' && 'discriminator' in issue) msg = `unknown ${where.startsWith('.goal') ? 'goal' : 'rule'} kind${named}; expected one of ${where.startsWith('.goal') ? GOAL_KINDS.join(', ') : RULE_KINDS.join(', ')}`;
  else if (issue.code === 'invalid_value' && named) msg = `unknown ${String(issue.path[issue.path.length - 1])}${named}; ${issue.message.replace(/^Invalid option: /, '')}`;
  throw new OutOfSpaceError(`${path}${where}: ${msg}`);
}

function ruleInputs(r: Rule): TileRef[] {
  return 'a' in r ? [r.a, r.b] : [r.tile];
}

function goalInputs(g: Goal): TileRef[] {
  if ('a' in g) return [g.a, g.b];
  if ('tile' in g) return [g.tile];
  return [];
}

/**
 * Checks a parsed ruleset against a layout: positions inside the grid and on floor, fixed positions
 * distinct, enough free cells, and no rule or goal that can never fire. Returns the ruleset.
 */
export function checkRuleset(r: Ruleset, layout: Layout, path = 'ruleset'): Ruleset {
  const s = layout.size;
  const used = new Set<number>();
  const checkPos = (at: [number, number], where: string, occupy: boolean): number => {
    const [x, y] = at;
    if (x >= s || y >= s) fail(where, `position [${x}, ${y}] is outside the ${s} x ${s} grid`);
    const c = y * s + x;
    if (layout.cells[c] !== FLOOR_CODE) fail(where, `position [${x}, ${y}] is a ${codeName(layout.cells[c])} cell of the ${layout.name} layout, not floor`);
    if (occupy) {
      if (used.has(c)) fail(where, `position [${x}, ${y}] is already taken by another tile or the agent`);
      used.add(c);
    }
    return c;
  };
  if (r.agent) checkPos(r.agent.at, `${path}.agent.at`, true);
  r.tiles.forEach((t, i) => {
    if (t.at) checkPos(t.at, `${path}.tiles[${i}].at`, true);
  });
  let free = 0;
  for (let c = 0; c < layout.cells.length; c++) if (layout.cells[c] === FLOOR_CODE) free++;
  if (r.tiles.length + 1 > free) fail(`${path}.tiles`, `${r.tiles.length} tiles and the agent do not fit on the ${free} floor cells`);
  if (r.goal.kind === 'TileOnPosition' || r.goal.kind === 'AgentOnPosition') checkPos(r.goal.at, `${path}.goal.at`, false);

  // which tiles can ever be present: the initial ones, then products of rules that can fire
  const present = new Set<number>(r.tiles.map(refCode));
  const canFire = (rule: Rule): boolean => {
    const ins = ruleInputs(rule).map(refCode);
    if (!ins.every((c) => present.has(c))) return false;
    if (rule.kind === 'AgentHold') return PICKABLE[ins[0]] === 1;
    if ('a' in rule) return PICKABLE[ins[0]] === 1 || PICKABLE[ins[1]] === 1;
    return true;
  };
  const fired = new Array<boolean>(r.rules.length).fill(false);
  for (let changed = true; changed; ) {
    changed = false;
    r.rules.forEach((rule, i) => {
      if (!fired[i] && canFire(rule)) {
        fired[i] = true;
        changed = true;
        const p = refCode(rule.prod);
        if (p !== FLOOR_CODE) present.add(p);
      }
    });
  }
  r.rules.forEach((rule, i) => {
    const where = `${path}.rules[${i}]`;
    const ins = ruleInputs(rule);
    const p = refCode(rule.prod);
    if (!('a' in rule) && p === refCode(rule.tile)) fail(`${where}.prod`, `is its own input (${codeName(p)}): the rule would change nothing`);
    if (rule.kind === 'AgentHold' && p !== FLOOR_CODE && PICKABLE[p] !== 1) fail(`${where}.prod`, `${codeName(p)} cannot be held (the product of AgentHold goes into the agent's pocket)`);
    if (fired[i]) return;
    if (rule.kind === 'AgentHold' && PICKABLE[refCode(rule.tile)] !== 1) fail(`${where}.tile`, `${codeName(refCode(rule.tile))} cannot be picked up, so this rule can never fire`);
    if ('a' in rule && PICKABLE[refCode(rule.a)] !== 1 && PICKABLE[refCode(rule.b)] !== 1) fail(`${where}`, `neither ${codeName(refCode(rule.a))} nor ${codeName(refCode(rule.b))} can be picked up and put down, so this rule can never fire`);
    const names = 'a' in rule ? ['a', 'b'] : ['tile'];
    ins.forEach((t, k) => {
      if (!present.has(refCode(t))) fail(`${where}.${names[k]}`, `${codeName(refCode(t))} is never present (not an initial tile, and no rule that can fire produces it), so this rule can never fire`);
    });
  });
  const g = r.goal;
  const gNames = 'a' in g ? ['a', 'b'] : ['tile'];
  goalInputs(g).forEach((t, k) => {
    if (!present.has(refCode(t))) fail(`${path}.goal.${gNames[k]}`, `${codeName(refCode(t))} is never present (not an initial tile, and no rule that can fire produces it), so the goal can never be achieved`);
  });
  if (g.kind === 'AgentHold' && PICKABLE[refCode(g.tile)] !== 1) fail(`${path}.goal.tile`, `${codeName(refCode(g.tile))} cannot be picked up, so the goal can never be achieved`);
  if (g.kind === 'AgentOnTile' && g.tile.tile !== 'goal') fail(`${path}.goal.tile`, `the agent can only stand on goal tiles (and floor), not on a ${codeName(refCode(g.tile))}`);
  if ('a' in g && PICKABLE[refCode(g.a)] !== 1 && PICKABLE[refCode(g.b)] !== 1) fail(`${path}.goal`, `neither ${codeName(refCode(g.a))} nor ${codeName(refCode(g.b))} can be moved, so they can never become neighbours`);
  return r;
}

/** Bytes per encoded rule: kind, input a, input b, product (codes fit a byte). */
export const RULE_INTS = 4;
/** Number of ints per encoded goal: kind, input a, input b, cell (y * size + x). */
export const GOAL_INTS = 4;

export interface EncodedRuleset {
  rules: Uint8Array;
  numRules: number;
  goal: Int32Array;
  /** Codes of the initial tiles, and their fixed cells (-1 = placed at random). */
  tileCodes: Int32Array;
  tileCells: Int32Array;
  /** Fixed agent cell and direction (-1 = random). */
  agentCell: number;
  agentDir: number;
}

export function encodeRuleset(r: Ruleset, size: number): EncodedRuleset {
  const rules = new Uint8Array(r.rules.length * RULE_INTS);
  r.rules.forEach((rule, i) => {
    const o = i * RULE_INTS;
    rules[o] = RULE_ID[rule.kind];
    if ('a' in rule) {
      rules[o + 1] = refCode(rule.a);
      rules[o + 2] = refCode(rule.b);
    } else rules[o + 1] = refCode(rule.tile);
    rules[o + 3] = refCode(rule.prod);
  });
  const g = r.goal;
  const goal = new Int32Array(GOAL_INTS);
  goal[0] = GOAL_ID[g.kind];
  if ('a' in g) {
    goal[1] = refCode(g.a);
    goal[2] = refCode(g.b);
  } else if ('tile' in g) goal[1] = refCode(g.tile);
  if ('at' in g) goal[3] = g.at[1] * size + g.at[0];
  return {
    rules,
    numRules: r.rules.length,
    goal,
    tileCodes: Int32Array.from(r.tiles.map(refCode)),
    tileCells: Int32Array.from(r.tiles.map((t) => (t.at ? t.at[1] * size + t.at[0] : -1))),
    agentCell: r.agent ? r.agent.at[1] * size + r.agent.at[0] : -1,
    agentDir: r.agent ? DIRECTION_NAMES.indexOf(r.agent.dir) : -1,
  };
}


/** Stable id of a ruleset: 16 hex digits of the SHA-256 of its goal, rules, tiles and agent (provenance and meta excluded). */
export function rulesetId(r: Ruleset): string {
  const body = canonicalJson({ goal: r.goal, rules: r.rules, tiles: r.tiles, agent: r.agent });
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

/** Integer id for the XLand-100B `ruleset-id` attribute: the benchmark index when known, else the first 52 bits of the stable id. */
export function rulesetNumericId(r: Ruleset): number {
  return r.index ?? parseInt(rulesetId(r).slice(0, 13), 16);
}

/** One-line description, e.g. `AgentNear(red ball) | TileNear(blue key, green star -> red ball)`. */
export function describeRuleset(r: Ruleset): string {
  const n = (t: { tile: string; color?: string }): string => (t.tile === 'floor' ? 'floor' : `${t.color} ${t.tile}`);
  const g = r.goal;
  const goal = 'a' in g ? `${g.kind}(${n(g.a)}, ${n(g.b)})` : 'tile' in g ? `${g.kind}(${n(g.tile)}${'at' in g ? ` at ${g.at.join(',')}` : ''})` : `${g.kind}(${g.at.join(',')})`;
  const rules = r.rules.map((x) => ('a' in x ? `${x.kind}(${n(x.a)}, ${n(x.b)} -> ${n(x.prod)})` : `${x.kind}(${n(x.tile)} -> ${n(x.prod)})`));
  return [`goal ${goal}`, ...rules, `tiles ${r.tiles.map(n).join(', ')}`].join(' | ');
}
