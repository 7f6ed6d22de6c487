/**
 * Random edits of an `xland` ruleset, the level editor of ACCEL (Parker-Holder et al. 2022) for
 * rule-based tasks: add a rule, remove a rule, change a rule (one of its inputs or its product),
 * move a tile (to a free floor cell; a tile placed anew each episode gets a fixed cell) or recolour
 * a tile. One call makes one edit and returns a new ruleset (the input is not changed); it may be
 * a ruleset that `checkRuleset` refuses (a recoloured goal tile, a rule that can never fire), which
 * the task space's `mutate` draws again. Provenance fields (`benchmark`, `index`, `meta`) are
 * dropped: an edited ruleset is a new task.
 */
import type { Rng } from '../../core/rng.js';
import { OBJECT_COLORS, OBJECT_TILES, PICKABLE_TILES } from './constants.js';
import { floorCells, type Layout } from './layout.js';
import type { InitTile, ProdRef, Rule, Ruleset, TileRef } from './ruleset.js';

export const RULESET_EDITS = ['add-rule', 'remove-rule', 'change-rule', 'move-tile', 'recolour-tile'] as const;
export type RulesetEdit = (typeof RULESET_EDITS)[number];

const MAX_RULES = 32;

function anyOf<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

const pickable = (t: string): boolean => (PICKABLE_TILES as readonly string[]).includes(t);

/** A tile reference drawn among the ruleset's initial tiles (so a new rule can fire), or any object. */
function someRef(rng: Rng, r: Ruleset, needPickable: boolean): TileRef {
  const pool = r.tiles.filter((t) => !needPickable || pickable(t.tile));
  if (pool.length > 0 && rng.uniform53() < 0.8) {
    const t = anyOf(rng, pool);
    return { tile: t.tile, color: t.color };
  }
  const tiles = needPickable ? PICKABLE_TILES : OBJECT_TILES;
  return { tile: anyOf(rng, tiles), color: anyOf(rng, OBJECT_COLORS) } as TileRef;
}

function someProd(rng: Rng): ProdRef {
  if (rng.uniform53() < 0.15) return { tile: 'floor' };
  return { tile: anyOf(rng, PICKABLE_TILES), color: anyOf(rng, OBJECT_COLORS) } as ProdRef;
}

function randomRule(rng: Rng, r: Ruleset): Rule {
  const k = rng.int(3);
  if (k === 0) return { kind: 'AgentHold', tile: someRef(rng, r, true), prod: someProd(rng) };
  if (k === 1) return { kind: 'AgentNear', tile: someRef(rng, r, false), prod: someProd(rng) };
  return { kind: 'TileNear', a: someRef(rng, r, false), b: someRef(rng, r, true), prod: someProd(rng) };
}

/** One random edit of `ruleset` on `layout` (see the file comment). */
export function mutateRuleset(ruleset: Ruleset, layout: Layout, rng: Rng, edit: RulesetEdit = anyOf(rng, RULESET_EDITS)): Ruleset {
  const r: Ruleset = structuredClone(ruleset);
  delete r.benchmark;
  delete r.index;
  delete r.meta;
  switch (edit) {
    case 'add-rule':
      if (r.rules.length < MAX_RULES) r.rules.push(randomRule(rng, r));
      break;
    case 'remove-rule':
      if (r.rules.length > 0) r.rules.splice(rng.int(r.rules.length), 1);
      break;
    case 'change-rule': {
      if (r.rules.length === 0) {
        r.rules.push(randomRule(rng, r));
        break;
      }
      const i = rng.int(r.rules.length);
      const rule = r.rules[i];
      const part = rng.int(2);
      if (part === 0) rule.prod = someProd(rng);
      else if ('a' in rule) {
        if (rng.int(2) === 0) rule.a = someRef(rng, r, false);
        else rule.b = someRef(rng, r, true);
      } else rule.tile = someRef(rng, r, rule.kind === 'AgentHold');
      break;
    }
    case 'move-tile': {
      if (r.tiles.length === 0) break;
      const taken = new Set<number>();
      const s = layout.size;
      if (r.agent) taken.add(r.agent.at[1] * s + r.agent.at[0]);
      for (const t of r.tiles) if (t.at) taken.add(t.at[1] * s + t.at[0]);
      const free = floorCells(layout).filter((c) => !taken.has(c));
      if (free.length === 0) break;
      const t: InitTile = r.tiles[rng.int(r.tiles.length)];
      const c = anyOf(rng, free);
      t.at = [c % s, Math.floor(c / s)];
      break;
    }
    case 'recolour-tile': {
      if (r.tiles.length === 0) break;
      const t = r.tiles[rng.int(r.tiles.length)];
      const others = OBJECT_COLORS.filter((c) => c !== t.color);
      t.color = anyOf(rng, others);
      break;
    }
  }
  return r;
}
