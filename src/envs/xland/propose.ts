/**
 * What the task proposer needs of the `xland` family: the JSON format of a ruleset for the prompt,
 * the loads stage (the ruleset's zod schema alone: unknown rule kinds, tiles and colours are named;
 * the layout checks belong to the runs stage, where the environment takes the ruleset), identity (the
 * ruleset's stable id), isomorphism classes, and the solvable stage with the exact solver's
 * statistics.
 *
 * Isomorphism: two rulesets are isomorphic when one becomes the other by a renaming of colours (a
 * one-to-one map of the object colours applied to every object the goal, the rules and the tiles
 * name), up to the order of the rules and the order of the tiles. Fixed positions, the agent's start,
 * tile shapes and the order of a rule's inputs are kept as they are. Such rulesets are the same
 * problem to a learner that has not been told which colour matters.
 */
import { IcrlError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { JsonValue } from '../../core/spaces.js';
import type { Task } from '../../tasks/taskSpace.js';
import type { SolvabilityCheck } from '../../tasks/proposer.js';
import { OBJECT_COLORS, OBJECT_TILES, PICKABLE_TILES } from './constants.js';
import { GOAL_KINDS, RULE_KINDS, parseRuleset, rulesetId, type Goal, type Rule, type Ruleset } from './ruleset.js';
import { floorCells } from './layout.js';
import { BatchedXLand, resolveXLandOptions } from './env.js';
import type { FamilyProposalHooks } from '../types.js';

type Ref = { tile: string; color?: string };

/** Most search nodes of one canonical labelling (far above what rulesets of the schema's size need). */
const CANON_NODES = 200_000;

/**
 * A key that two rulesets share exactly when they are isomorphic (see the file comment): the
 * lexicographically least serialization over the orders of rules that are least at each step, with
 * colours numbered in order of first appearance.
 */
export function canonicalRulesetKey(r: Ruleset): string {
  const at = (p?: [number, number]): string => (p ? `@${p[0]},${p[1]}` : '');
  // serializes refs under a labelling, giving fresh colours the next labels in order of appearance
  const ser = (refs: Ref[], lab: Map<string, number>): { text: string; fresh: string[] } => {
    const fresh: string[] = [];
    const parts = refs.map((x) => {
      if (x.tile === 'floor' || x.color === undefined) return x.tile;
      let l = lab.get(x.color);
      if (l === undefined) {
        let k = fresh.indexOf(x.color);
        if (k < 0) k = fresh.push(x.color) - 1;
        l = lab.size + k;
      }
      return `${x.tile}.${l}`;
    });
    return { text: parts.join(' '), fresh };
  };
  const extend = (lab: Map<string, number>, fresh: string[]): Map<string, number> => {
    const m = new Map(lab);
    for (const c of fresh) m.set(c, m.size);
    return m;
  };
  const goalRefs = (g: Goal): Ref[] => ('a' in g ? [g.a, g.b] : 'tile' in g ? [g.tile] : []);
  const ruleRefs = (x: Rule): Ref[] => ('a' in x ? [x.a, x.b, x.prod] : [x.tile, x.prod]);
  const g = ser(goalRefs(r.goal), new Map());
  const goalText = `${r.goal.kind}(${g.text})${'at' in r.goal ? at(r.goal.at) : ''}`;
  const lab0 = extend(new Map(), g.fresh);
  let nodes = 0;
  let best: string | null = null;
  const tilesText = (lab: Map<string, number>): string => {
    // colours seen only among the tiles: tiles are independent of each other, so such colours are
    // numbered by the sorted list of their tiles (colours with equal lists are interchangeable)
    const own = new Map<string, string[]>();
    for (const t of r.tiles) if (!lab.has(t.color)) own.set(t.color, [...(own.get(t.color) ?? []), `${t.tile}${at(t.at)}`]);
    const order = [...own.entries()].map(([c, l]) => [c, l.sort().join(',')] as const).sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    const m = new Map(lab);
    for (const [c] of order) m.set(c, m.size);
    return r.tiles
      .map((t) => `${t.tile}.${m.get(t.color)}${at(t.at)}`)
      .sort()
      .join(' ');
  };
  const walk = (left: Rule[], lab: Map<string, number>, acc: string[]): void => {
    if (++nodes > CANON_NODES) throw new IcrlError(`xland isomorphism check: more than ${CANON_NODES} search nodes for ruleset ${rulesetId(r)}`);
    if (left.length === 0) {
      const agent = r.agent ? `agent${at(r.agent.at)}:${r.agent.dir}` : '';
      const key = [goalText, acc.join(' ; '), tilesText(lab), agent].join(' | ');
      if (best === null || key < best) best = key;
      return;
    }
    const cands = left.map((x, i) => {
      const s = ser(ruleRefs(x), lab);
      return { i, text: `${x.kind}(${s.text})`, fresh: s.fresh };
    });
    const least = cands.reduce((m, c) => (c.text < m ? c.text : m), cands[0].text);
    const tried = new Set<string>();
    for (const c of cands) {
      if (c.text !== least) continue;
      const same = JSON.stringify(left[c.i]);
      if (tried.has(same)) continue; // an identical rule gives the identical branch
      tried.add(same);
      walk(
        left.filter((_, k) => k !== c.i),
        extend(lab, c.fresh),
        [...acc, c.text],
      );
    }
  };
  walk(r.rules, lab0, []);
  return best!;
}

/** The ruleset's JSON format, as the proposal prompt explains it for these options. */
export function xlandProposalFormat(options?: Record<string, unknown>): string {
  const o = resolveXLandOptions(options);
  const obj = `{"tile": T, "color": C}`;
  return [
    'Ruleset format. Each task is {"ruleset": {"goal": GOAL, "rules": [RULE, ...], "tiles": [TILE, ...]}}.',
    `- An object is ${obj}: T is one of ${OBJECT_TILES.join(', ')}; C is one of ${OBJECT_COLORS.join(', ')}. Only ${PICKABLE_TILES.join(', ')} can be picked up; the agent can stand on a goal tile.`,
    `- GOAL kinds: ${GOAL_KINDS.join(', ')}. AgentHold / AgentOnTile / AgentNear* take "tile": object; TileNear* take "a", "b": objects (the two must become neighbours); TileOnPosition takes "tile" and "at": [x, y]; AgentOnPosition takes "at".`,
    `- RULE kinds: ${RULE_KINDS.join(', ')}. AgentHold and AgentNear* take "tile" and "prod"; TileNear* take "a", "b" and "prod". When the agent holds the tile (AgentHold), stands next to it (AgentNear; Up/Right/Down/Left: on that side) or when a and b become neighbours (TileNear), the input turns into "prod": an object, or {"tile": "floor"} to make it disappear.`,
    `- TILE: an object placed at random each episode, or with "at": [x, y] fixed (x, y from 1 to ${o.size - 2}: the ${o.layout} room is ${o.size} x ${o.size} with walls around). At most 32 rules and 64 tiles.`,
    `- Every tile the goal or a rule needs must be among the tiles or be produced by a rule. An episode lasts ${o.horizon} steps; the agent sees a ${o.viewSize} x ${o.viewSize} view, turns, moves forward, picks up, puts down.`,
    `Example: {"ruleset": {"goal": {"kind": "AgentHold", "tile": {"tile": "star", "color": "green"}}, "rules": [{"kind": "AgentHold", "tile": {"tile": "ball", "color": "red"}, "prod": {"tile": "star", "color": "green"}}], "tiles": [{"tile": "ball", "color": "red"}, {"tile": "key", "color": "blue"}]}}`,
  ].join('\n');
}

/** The loads stage: one proposed parameter object must be {"ruleset": ...} with a ruleset of the schema. */
export function loadXLandProposal(value: unknown): Task {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new IcrlError('xland.params: a task is an object {"ruleset": {...}}');
  const keys = Object.keys(value);
  const extra = keys.filter((k) => k !== 'ruleset');
  if (extra.length) throw new IcrlError(`xland.params: unknown parameter ${JSON.stringify(extra[0])}; the only one is "ruleset"`);
  if (!keys.includes('ruleset')) throw new IcrlError('xland.params.ruleset: missing');
  const r = parseRuleset((value as { ruleset: unknown }).ruleset, 'xland.params.ruleset');
  return { family: 'xland', params: { ruleset: r as unknown as JsonValue } };
}

/** Identity of an xland task: the ruleset's stable id (provenance and meta excluded). */
export function xlandIdentity(task: Task): string {
  return `xland:${rulesetId(parseRuleset(task.params.ruleset))}`;
}

export function xlandCanonical(task: Task): string {
  return canonicalRulesetKey(parseRuleset(task.params.ruleset));
}

/**
 * The solvable stage: the exact solver from the start that fixed placement draws for the ruleset
 * (from its id), within the horizon and the state bound. Solved: the oracle value 1 - 0.9 d / T and
 * the statistics (optimal steps, states searched, rules, tiles). Not solved within the horizon, or
 * beyond the bound: rejected with the reason.
 */
export function xlandSolvable(options: Record<string, unknown> | undefined, minValue: number): (task: Task) => SolvabilityCheck {
  const env = new BatchedXLand(1, { ...(options ?? {}), placement: 'fixed' }, new Rng(0));
  const cells = floorCells(env.layout).length;
  return (task) => {
    env.setTasks([task]);
    const r = parseRuleset(task.params.ruleset);
    const res = env.solve(0, true);
    const base = { rules: r.rules.length, tiles: r.tiles.length, goal: r.goal.kind, solverStates: res.states };
    if (res.status !== 'solved') {
      const why =
        res.status === 'unsolvable'
          ? `the solver finds no solution within the horizon of ${env.horizon} steps (${res.states} states searched)`
          : `the solver's bound of ${env.options.solverMaxStates} states was reached before a solution (${cells} floor cells)`;
      return { ok: false, reason: why, stats: base };
    }
    const value = 1 - (0.9 * res.steps) / env.horizon;
    if (!(value > minValue)) return { ok: false, value, reason: `oracle value ${value.toFixed(3)} is not above ${minValue}`, stats: base };
    return { ok: true, value, stats: { optimalSteps: res.steps, ...base } };
  };
}

/** The `proposal` hooks of the xland family entry (src/envs/index.ts). */
export const xlandProposalHooks: FamilyProposalHooks = {
  format: (options) => xlandProposalFormat(options),
  load: (value) => loadXLandProposal(value),
  identity: xlandIdentity,
  canonical: xlandCanonical,
  solvable: (options, minValue) => xlandSolvable(options, minValue),
};
