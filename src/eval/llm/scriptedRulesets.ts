/**
 * The scripted endpoint's ruleset writer (`icrl llm serve-fake`, xland proposal prompts). It is NOT a
 * language model but a seeded generator that learns from its prompt, as a model prompted with a
 * library would:
 *
 * - it reads the vocabulary (goal and rule kinds, tiles, colours, which tiles can be picked up, the
 *   room's size) from the prompt's format section, and never uses a name the prompt's list of failed
 *   checks named as unknown;
 * - bottom-up, it learns from the library shown (goal kinds, rule counts and kinds, tile counts, the
 *   solver's optimal steps) and writes variations of the examples (parents weighted towards those the
 *   solver needed more steps for: harder tasks) or new rulesets drawn from those statistics;
 * - top-down, it reads the description (a goal kind or "hold" / "near" / "next to", "N rules",
 *   "N distractors") and composes rulesets to match.
 *
 * It also makes mistakes, at seeded rates, so that every check of the proposer is exercised: a syntax
 * slip in one task's JSON (parses), an invented rule kind, tile or colour (loads), a tile placed on a
 * wall or a rule whose input never exists (runs), a rule that destroys the goal's object when the
 * agent comes near it (solvable), a verbatim copy or a consistent recolouring of an example (novel).
 * Feedback in the prompt halves the slip rates of the kinds of mistakes it reports.
 */
import type { Rng } from '../../core/rng.js';

type Obj = { tile: string; color: string; at?: [number, number] };
type Prod = Obj | { tile: 'floor' };
type Rule = { kind: string; tile?: Obj; a?: Obj; b?: Obj; prod: Prod };
type Goal = { kind: string; tile?: Obj; a?: Obj; b?: Obj; at?: [number, number] };
interface Ruleset {
  goal: Goal;
  rules: Rule[];
  tiles: Obj[];
}

interface Vocab {
  tiles: string[];
  colors: string[];
  pickable: string[];
  goalKinds: string[];
  ruleKinds: string[];
  maxCoord: number;
}

/** Slip rates per proposal before feedback (each halved by every reported mistake of its kind). */
export const WRITER_SLIPS = { syntax: 0.06, name: 0.08, wall: 0.04, deadRule: 0.04, conflict: 0.08, copy: 0.05, recolour: 0.06 };

const INVENTED = { rule: ['AgentTouch', 'TileTouch', 'AgentPickUp'], tile: ['diamond', 'triangle', 'door'], color: ['cyan', 'gold', 'violet'] };

const list = (m: RegExpExecArray | null): string[] =>
  m
    ? m[1]
        .split(',')
        .map((x) => x.trim().replace(/\.$/, ''))
        .filter(Boolean)
    : [];

function readVocab(prompt: string): Vocab | null {
  const tiles = list(/T is one of ([^;]+);/.exec(prompt));
  const colors = list(/C is one of ([^.]+)\./.exec(prompt));
  const pickable = list(/Only ([^.]+?) can be picked up/.exec(prompt));
  const goalKinds = list(/GOAL kinds: ([^.]+)\./.exec(prompt));
  const ruleKinds = list(/RULE kinds: ([^.]+)\./.exec(prompt));
  const mc = /x, y from 1 to (\d+)/.exec(prompt);
  if (!tiles.length || !colors.length || !goalKinds.length || !ruleKinds.length) return null;
  return { tiles, colors, pickable: pickable.length ? pickable : tiles.filter((t) => t !== 'goal'), goalKinds, ruleKinds, maxCoord: mc ? Number(mc[1]) : 5 };
}

interface Example {
  r: Ruleset;
  steps: number;
}

function readExamples(prompt: string): Example[] {
  const out: Example[] = [];
  for (const line of prompt.split('\n')) {
    if (!line.startsWith('{"ruleset"')) continue;
    const hash = line.indexOf('  # ');
    try {
      const r = (JSON.parse(hash >= 0 ? line.slice(0, hash) : line) as { ruleset: Ruleset }).ruleset;
      const m = /optimalSteps (\d+)/.exec(line);
      out.push({ r: { goal: r.goal, rules: r.rules ?? [], tiles: r.tiles ?? [] }, steps: m ? Number(m[1]) : 0 });
    } catch {
      // a line the writer cannot read is skipped, as a model would skim past it
    }
  }
  return out;
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const objKey = (o: { tile: string; color?: string }): string => `${o.color ?? ''} ${o.tile}`;

class Writer {
  private readonly avoid = new Set<string>();
  private readonly slips: Record<keyof typeof WRITER_SLIPS, number> = { ...WRITER_SLIPS };

  constructor(
    private readonly v: Vocab,
    private readonly rng: Rng,
    private readonly examples: Example[],
    feedback: string[],
  ) {
    for (const f of feedback) {
      for (const m of f.matchAll(/unknown [a-z]+(?: kind)? "([^"]+)"/g)) this.avoid.add(m[1]);
      if (f.startsWith('parses')) this.slips.syntax /= 2;
      if (/unknown/.test(f)) this.slips.name /= 2;
      if (/not floor|outside the/.test(f)) this.slips.wall /= 2;
      if (/never present|can never fire/.test(f)) this.slips.deadRule /= 2;
      if (f.startsWith('solvable')) this.slips.conflict /= 2;
      if (/equal to library task/.test(f)) this.slips.copy /= 2;
      if (/isomorphic/.test(f)) this.slips.recolour /= 2;
    }
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[this.rng.int(xs.length)];
  }

  private obj(pickable: boolean, used: Set<string>): Obj {
    for (let k = 0; k < 50; k++) {
      const o = { tile: this.pick(pickable ? this.v.pickable : this.v.tiles), color: this.pick(this.v.colors) };
      if (!used.has(objKey(o))) {
        used.add(objKey(o));
        return o;
      }
    }
    return { tile: this.pick(this.v.pickable), color: this.pick(this.v.colors) };
  }

  /** Frequencies learned from the examples, smoothed by one count per choice. */
  private learned(values: string[], choices: string[]): string {
    const w = choices.map((c) => 1 + values.filter((x) => x === c).length * 3);
    return choices[this.rng.choice(w)];
  }

  private family(kind: string): 'hold' | 'on' | 'near' | 'tile' | 'pos' {
    if (kind === 'AgentOnTile') return 'on';
    if (kind.startsWith('TileNear')) return 'tile';
    if (kind.startsWith('AgentNear')) return 'near';
    if (kind.endsWith('Position')) return 'pos';
    return 'hold';
  }

  private goal(kind: string, used: Set<string>): { goal: Goal; inputs: Obj[] } {
    const f = this.family(kind);
    if (kind === 'AgentOnTile') {
      const g = { tile: 'goal', color: this.pick(this.v.colors) };
      used.add(objKey(g));
      return { goal: { kind, tile: g }, inputs: [g] };
    }
    if (f === 'tile') {
      const a = this.obj(false, used);
      const b = this.obj(true, used);
      return { goal: { kind, a, b }, inputs: [a, b] };
    }
    if (f === 'pos') return { goal: { kind: 'AgentHold', tile: this.obj(true, used) }, inputs: [] };
    const t = this.obj(f === 'hold', used);
    return { goal: { kind, tile: t }, inputs: [t] };
  }

  /** A rule that produces `prod` from fresh inputs; returns the inputs (to become tiles). */
  private producer(prod: Obj, used: Set<string>): { rule: Rule; inputs: Obj[] } {
    const holdable = this.v.pickable.includes(prod.tile);
    const kinds = this.v.ruleKinds.filter((k) => holdable || k !== 'AgentHold');
    const kind = this.learned(
      this.examples.flatMap((e) => e.r.rules.map((r) => r.kind)),
      kinds,
    );
    if (kind.startsWith('TileNear')) {
      const a = this.obj(false, used);
      const b = this.obj(true, used);
      return { rule: { kind, a, b, prod }, inputs: [a, b] };
    }
    const t = this.obj(kind === 'AgentHold', used);
    return { rule: { kind, tile: t, prod }, inputs: [t] };
  }

  /** A new ruleset: a goal, a chain of `depth` rule levels under it, distractor rules and objects. */
  compose(goalKind: string, depth: number, distractorRules: number, distractors: number): Ruleset {
    const used = new Set<string>();
    const { goal, inputs } = this.goal(goalKind, used);
    const rules: Rule[] = [];
    let level = inputs;
    const tiles: Obj[] = [];
    for (let d = 0; d < depth; d++) {
      const next: Obj[] = [];
      for (const x of level) {
        const { rule, inputs: ins } = this.producer(x, used);
        rules.push(rule);
        next.push(...ins);
      }
      level = next;
    }
    tiles.push(...level);
    for (let k = 0; k < distractorRules; k++) {
      const prod = this.rng.uniform() < 0.5 ? ({ tile: 'floor' } as Prod) : this.obj(true, used);
      const { rule, inputs: ins } = this.producer(prod as Obj, used);
      rule.prod = prod;
      rules.push(rule);
      tiles.push(...ins);
    }
    for (let k = 0; k < distractors; k++) tiles.push(this.obj(false, used));
    return { goal, rules, tiles };
  }

  /** A variation of an example: one or two edits. */
  vary(base: Ruleset): Ruleset {
    const r = clone(base);
    const used = new Set<string>([...r.tiles.map(objKey), ...r.rules.map((x) => objKey(x.prod))]);
    const edits = 1 + this.rng.int(2);
    for (let e = 0; e < edits; e++) {
      const k = this.rng.int(5);
      if (k === 0 && r.tiles.length) {
        // recolour one tile (and whatever names it)
        const i = this.rng.int(r.tiles.length);
        const old = objKey(r.tiles[i]);
        const fresh = this.obj(this.v.pickable.includes(r.tiles[i].tile), used);
        const nc = { ...fresh, tile: r.tiles[i].tile };
        const swap = (o?: Obj): void => {
          if (o && objKey(o) === old) o.color = nc.color;
        };
        r.tiles.forEach(swap);
        swap(r.goal.tile);
        swap(r.goal.a);
        swap(r.goal.b);
        r.rules.forEach((x) => [x.tile, x.a, x.b, x.prod as Obj].forEach(swap));
      } else if (k === 1) {
        // deepen: an initial input of the goal is now produced by a rule from fresh inputs
        const target = [r.goal.tile, r.goal.a, r.goal.b].filter((o): o is Obj => !!o && r.tiles.some((t) => objKey(t) === objKey(o)));
        if (!target.length) continue;
        const t = this.pick(target);
        const { rule, inputs } = this.producer({ tile: t.tile, color: t.color }, used);
        const at = r.tiles.findIndex((x) => objKey(x) === objKey(t));
        r.tiles.splice(at, 1, ...inputs);
        r.rules.push(rule);
      } else if (k === 2) {
        r.tiles.push(this.obj(false, used));
      } else if (k === 3 && r.tiles.length > 1) {
        // drop a distractor tile the goal and the rules do not name
        const named = new Set([r.goal.tile, r.goal.a, r.goal.b, ...r.rules.flatMap((x) => [x.tile, x.a, x.b])].filter((o): o is Obj => !!o).map(objKey));
        const free = r.tiles.map((t, i) => [t, i] as const).filter(([t]) => !named.has(objKey(t)));
        if (free.length) r.tiles.splice(this.pick(free)[1], 1);
      } else {
        // another goal kind on the same objects where it fits
        const f = this.family(r.goal.kind);
        const same = this.v.goalKinds.filter((g) => this.family(g) === f && g !== r.goal.kind);
        if (same.length) r.goal.kind = this.pick(same);
      }
    }
    return r;
  }

  /** A consistent recolouring of every object of a ruleset (an isomorphic copy). */
  recolour(base: Ruleset): Ruleset {
    const r = clone(base);
    const perm = [...this.v.colors];
    this.rng.shuffle(perm);
    const map = new Map(this.v.colors.map((c, i) => [c, perm[i]]));
    const re = (o?: { tile: string; color?: string }): void => {
      if (o && o.color) o.color = map.get(o.color) ?? o.color;
    };
    r.tiles.forEach(re);
    [r.goal.tile, r.goal.a, r.goal.b].forEach(re);
    r.rules.forEach((x) => [x.tile, x.a, x.b, x.prod].forEach(re));
    return r;
  }

  /** One proposal's JSON text, mistakes included. */
  write(make: () => Ruleset): string {
    const u = () => this.rng.uniform();
    let r: Ruleset;
    const ex = this.examples;
    if (ex.length && u() < this.slips.copy) r = clone(this.pick(ex).r);
    else if (ex.length && u() < this.slips.recolour) r = this.recolour(this.pick(ex).r);
    else r = make();
    if (u() < this.slips.conflict) {
      // a rule that destroys the goal's object as soon as the agent comes near it
      const g = r.goal.tile ?? r.goal.b;
      if (g && this.v.ruleKinds.includes('AgentNear')) r.rules.push({ kind: 'AgentNear', tile: { tile: g.tile, color: g.color }, prod: { tile: 'floor' } });
    }
    if (u() < this.slips.wall && r.tiles.length) r.tiles[0] = { ...r.tiles[0], at: [0, 1 + this.rng.int(this.v.maxCoord)] };
    if (u() < this.slips.deadRule) r.rules.push({ kind: 'AgentHold', tile: { tile: this.pick(this.v.pickable), color: this.pick(this.v.colors) }, prod: { tile: 'floor' } });
    let text = JSON.stringify({ ruleset: r });
    if (u() < this.slips.name) {
      const what = this.pick(['rule', 'tile', 'color'] as const);
      const word = this.pick(INVENTED[what].filter((w) => !this.avoid.has(w)).concat(['']));
      if (word) {
        if (what === 'rule' && r.rules.length) text = text.replace(`"kind":"${r.rules[0].kind}"`, `"kind":"${word}"`);
        else if (what === 'tile' && r.tiles.length) text = text.replace(`"tiles":[{"tile":"${r.tiles[0].tile}"`, `"tiles":[{"tile":"${word}"`);
        else if (r.tiles.length) text = text.replace(`"tiles":[{"tile":"${r.tiles[0].tile}","color":"${r.tiles[0].color}"`, `"tiles":[{"tile":"${r.tiles[0].tile}","color":"${word}"`);
      }
    }
    if (u() < this.slips.syntax) {
      const k = this.rng.int(3);
      if (k === 0) text = text.replace(/\}\]\}$/, '},]}'); // a trailing comma
      else if (k === 1) text = text.replace('{"ruleset":', "{'ruleset':"); // single quotes
      else text = text.replace('"rules":', 'rules:'); // an unquoted key
    }
    return text;
  }
}

/** Reads the target description of a top-down prompt into a recipe. */
function recipe(description: string, v: Vocab): { goal?: string; depth?: number; distractorRules?: number; distractors?: number } {
  const d = description.toLowerCase();
  const out: { goal?: string; depth?: number; distractorRules?: number; distractors?: number } = {};
  const named = v.goalKinds.find((g) => d.includes(g.toLowerCase()));
  if (named) out.goal = named;
  else if (/next to each other|two objects together|tilenear/.test(d)) out.goal = 'TileNear';
  else if (/\bnear\b|next to/.test(d)) out.goal = 'AgentNear';
  else if (/\bhold|pick/.test(d)) out.goal = 'AgentHold';
  if (/no rules?\b/.test(d)) out.depth = 0;
  const dm = /(\d+) (?:rules?|levels?|steps? of rules)/.exec(d);
  if (dm) out.depth = Number(dm[1]);
  const xm = /(\d+) distractor(?: object)?s?/.exec(d);
  if (xm) out.distractors = Number(xm[1]);
  const rm = /(\d+) distractor rules?/.exec(d);
  if (rm) out.distractorRules = Number(rm[1]);
  return out;
}

/** The reply to an xland proposal prompt: {"tasks": [...]} with `n` proposals, or null when the prompt is not one. */
export function writeRulesets(prompt: string, n: number, rng: Rng): string | null {
  const v = readVocab(prompt);
  if (!v) return null;
  const examples = readExamples(prompt);
  const feedback = [...prompt.matchAll(/^- (parses|loads|runs|solvable|novel): (.*)$/gm)].map((m) => `${m[1]}: ${m[2]}`);
  const w = new Writer(v, rng, examples, feedback);
  const top = /Target description: (.*)$/m.exec(prompt);
  const focus: Example[] = [];
  const fi = prompt.indexOf('The learner is making progress on these tasks');
  if (fi >= 0) focus.push(...readExamples(prompt.slice(fi)));
  const ex = focus.length ? focus : examples;
  const steps = ex.map((e) => e.steps);
  const goalKinds = ex.map((e) => e.r.goal.kind);
  const nRules = ex.map((e) => e.r.rules.length);
  const nTiles = ex.map((e) => e.r.tiles.length);
  const items: string[] = [];
  for (let i = 0; i < n; i++) {
    items.push(
      w.write(() => {
        if (top) {
          const want = recipe(top[1], v);
          const goal = want.goal ?? (rng.uniform() < 0.5 ? 'AgentHold' : 'AgentNear');
          return w.compose(goal, want.depth ?? rng.int(2), want.distractorRules ?? 0, want.distractors ?? 1 + rng.int(3));
        }
        if (ex.length && rng.uniform() < 0.7) {
          // a variation of an example, harder ones (more optimal steps) more often
          const k = rng.choice(steps.map((s) => 1 + s / 10));
          return w.vary(ex[k].r);
        }
        const goal = ex.length ? goalKinds[rng.int(goalKinds.length)] : v.goalKinds[rng.choice(v.goalKinds.map((g) => (/^(AgentHold|AgentNear|TileNear)$/.test(g) ? 4 : 1)))];
        const depth = ex.length ? Math.min(3, nRules[rng.int(nRules.length)] + rng.int(2)) : rng.int(2);
        const distractors = ex.length ? Math.max(0, nTiles[rng.int(nTiles.length)] - 1) : 1 + rng.int(3);
        return w.compose(goal, depth, 0, Math.min(distractors, 6));
      }),
    );
  }
  return `{"tasks": [${items.join(', ')}]}`;
}
