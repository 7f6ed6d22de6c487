/**
 * LLM task proposer (GenSim-style): asks a language model for new tasks of a family, as JSON, in one
 * of three modes: bottom-up (explore: tasks built from and unlike the library's, optionally around
 * tasks a curriculum names), goal-directed (stepping stones toward a target task) or top-down (tasks
 * matching a target description). Every proposal is checked in stages and stops at the first it
 * fails, counted as GenSim reports them: parses (its JSON, cut out of the reply on its own so that one
 * syntax error costs one proposal), loads (the family's schema; unknown names rejected by name), runs
 * (the environment is made with it and stepped), solvable (the solver or oracle the caller supplies),
 * novel (neither equal nor isomorphic to a library task). Accepted proposals enter the library with
 * their provenance and stage results. Nothing the LLM says can crash a proposal round: bad answers and
 * failed requests are counted with their reason.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SpaceSpec, JsonValue } from '../core/spaces.js';
import type { ChatClientLike, ChatMessage, ChatResult } from '../core/llm/client.js';
import { LlmRequestError } from '../core/llm/client.js';
import { requestHash } from '../core/llm/cache.js';
import { taskKey, type Task, type TaskSpace } from './taskSpace.js';
import { addToLibrary, type LibraryEntry, type TaskLibrary } from './library.js';

/** Builds a strict zod schema for a space spec (the parameters of a task). */
export function zodFromSpaceSpec(spec: SpaceSpec): z.ZodType {
  switch (spec.kind) {
    case 'box': {
      const dim = (i: number) => z.number().finite().min(spec.low[i]).max(spec.high[i]);
      // a one-dimensional box may be a scalar or a 1-array; the task space's check decides which
      if (spec.low.length === 1) return z.union([dim(0), z.tuple([dim(0)])]);
      return z.tuple(spec.low.map((_, i) => dim(i)) as [z.ZodNumber, ...z.ZodNumber[]]);
    }
    case 'discrete': {
      const start = spec.start ?? 0;
      return z.number().int().min(start).max(start + spec.n - 1);
    }
    case 'categorical':
      return z.union(spec.values.map((v) => z.literal(v)) as unknown as [z.ZodLiteral<string | number>, z.ZodLiteral<string | number>]);
    case 'dict':
      return z.object(Object.fromEntries(Object.entries(spec.spaces).map(([k, s]) => [k, zodFromSpaceSpec(s)]))).strict();
  }
}

/** The checks a proposal passes, in order, as GenSim counts them. */
export const PROPOSAL_STAGES = ['parses', 'loads', 'runs', 'solvable', 'novel'] as const;
export type ProposalStage = (typeof PROPOSAL_STAGES)[number];

/**
 * explore (bottom-up): new tasks built from and unlike the library's, optionally around `focus` tasks
 * (a curriculum asks for more where learning progress is high); goal: stepping stones toward a target
 * task; top-down: tasks that match a target description in words.
 */
export type ProposalMode = { kind: 'explore'; focus?: Task[] } | { kind: 'goal'; target: Task } | { kind: 'top-down'; description: string };

/** Statistics of a check, stored with an accepted task (numbers, names, flags). */
export type StageStats = Record<string, number | string | boolean | null>;

/** Result of the oracle check: solvable, with the oracle value when known, or why not; `stats` (e.g. the solver's optimal steps) go into the library. */
export interface SolvabilityCheck {
  ok: boolean;
  value?: number;
  reason?: string;
  stats?: StageStats;
}

export type RejectionReason = 'llm-error' | 'not-json' | 'bad-shape' | 'out-of-space' | 'runtime' | 'unsolvable' | 'duplicate' | 'isomorphic';

/** The stage at which each rejection reason stops a proposal (`llm-error` is a failed request: no proposal to count). */
export const REASON_STAGE: Record<Exclude<RejectionReason, 'llm-error'>, ProposalStage> = {
  'not-json': 'parses',
  'bad-shape': 'parses',
  'out-of-space': 'loads',
  runtime: 'runs',
  unsolvable: 'solvable',
  duplicate: 'novel',
  isomorphic: 'novel',
};

export interface Rejection {
  reason: RejectionReason;
  detail: string;
  params?: unknown;
  round: number;
}

/**
 * The family's side of the staged checks (the CLI builds them from the environment family, see
 * `proposalChecks` in src/envs). Every hook is optional: without `load` a proposal loads when the zod
 * schema of the task space and the space's own check accept it; without `run` the runs stage is not
 * checked (and not counted); without `identity` equality is `taskKey`; without `canonical` only equal
 * tasks count as not novel.
 */
export interface ProposalChecks {
  /** loads: one proposed parameter object to a task of the space; throws an error naming the field. */
  load?(value: unknown): Task;
  /** runs: makes the environment of the task and steps it; throws when it cannot; returns what it measured. */
  run?(task: Task): StageStats | void;
  /** Identity of a task (equal tasks have equal keys). */
  identity?(task: Task): string;
  /** Isomorphism class of a task (isomorphic tasks have equal keys; see docs/llm.md for xland's). */
  canonical?(task: Task): string;
  /** Text that explains the JSON of one task (shown in the prompt after the parameter list). */
  format?: string;
}

export interface ProposeOptions {
  client: ChatClientLike;
  space: TaskSpace;
  library: TaskLibrary;
  mode: ProposalMode;
  /** Number of new tasks wanted. */
  count: number;
  /** Oracle solvability check (the CLI uses the environment's solver or oracle value). */
  solvable: (task: Task) => SolvabilityCheck;
  /** The other stages' family hooks. */
  checks?: ProposalChecks;
  /** Most LLM requests to make (default 3 x ceil(count / perRequest)); one request is one round. */
  maxRequests?: number;
  /** Tasks asked for per request (default min(count, 8)). */
  perRequest?: number;
  /** Most library tasks shown in the prompt (the most recent; default 30). */
  maxShown?: number;
  /** Most recent rejections quoted in the prompt so that the model can avoid them (default 5). */
  feedback?: number;
  temperature?: number;
  /** Clock for provenance (tests inject a fixed one). */
  now?: () => Date;
  /** Called after each accepted task, with the library already holding it (the CLI saves it there). */
  onAccept?: (entry: LibraryEntry, library: TaskLibrary) => void;
  /** Called after each round. */
  onRound?: (round: RoundStats) => void;
}

/** Proposals that reached a stage and passed it. */
export interface StageCount {
  entered: number;
  passed: number;
}

export interface RoundStats {
  round: number;
  /** Proposals examined (a reply that could not be read at all counts as one). */
  proposals: number;
  accepted: number;
  /** Tasks in the library after the round. */
  library: number;
  /** Proposals stopped at each stage. */
  failed: Partial<Record<ProposalStage, number>>;
  /** The request itself failed (no proposal). */
  llmError: boolean;
}

export interface ProposalOutcome {
  added: LibraryEntry[];
  rejected: Rejection[];
  /** Rejections by reason. */
  counts: Partial<Record<RejectionReason, number>>;
  requests: number;
  /** Proposals examined. */
  proposals: number;
  /** Per stage: proposals that reached it and passed it. */
  stages: Record<ProposalStage, StageCount>;
  rounds: RoundStats[];
}

function fmtParams(p: Record<string, JsonValue>): string {
  return JSON.stringify(p, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(4)) : v));
}

function fmtStats(s: StageStats | undefined): string {
  if (!s) return '';
  const parts = Object.entries(s)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v)}`);
  return parts.length ? `  # ${parts.join(', ')}` : '';
}

/** What the prompt shows of a library entry: its parameters, then its solver statistics. */
function fmtEntry(e: LibraryEntry): string {
  const st = e.provenance.stages?.solvable ?? (e.provenance.oracleValue !== undefined ? { oracleValue: e.provenance.oracleValue } : undefined);
  return `${fmtParams(e.params)}${fmtStats(st)}`;
}

export interface PromptExtras {
  /** How the JSON of one task is written (family-specific). */
  format?: string;
  /** Recent rejections, quoted so that the model can avoid them. */
  feedback?: Rejection[];
}

/** The prompt for one proposal request. */
export function proposalPrompt(space: TaskSpace, library: TaskLibrary, mode: ProposalMode, n: number, maxShown = 30, extras: PromptExtras = {}): ChatMessage[] {
  const params = space
    .describeParams()
    .map((p) => `- ${p.name}: ${p.space}${p.description ? ` (${p.description})` : ''}`)
    .join('\n');
  const shown = library.entries.slice(-maxShown);
  const existing = shown.length
    ? `The library already holds ${library.entries.length} tasks${library.entries.length > shown.length ? ` (the ${shown.length} most recent shown)` : ''}, each with what the checks measured on it after "#":\n${shown.map(fmtEntry).join('\n')}`
    : 'The library is empty.';
  let goal: string;
  if (mode.kind === 'goal')
    goal = `Goal-directed mode. The target task is ${fmtParams(mode.target.params)}. Propose tasks that are stepping stones from the tasks in the library toward this target: each should be a little closer to the target than the library's tasks, from easier to harder.`;
  else if (mode.kind === 'top-down') goal = `Top-down mode. Target description: ${mode.description}\nPropose tasks that match this description.`;
  else {
    goal =
      'Exploratory (bottom-up) mode. Propose tasks that are as different as possible from the tasks in the library, covering parts of the parameter space the library does not cover yet, while staying solvable.';
    if (mode.focus?.length) goal += `\nThe learner is making progress on these tasks; build new tasks close to them (variations, a little harder):\n${mode.focus.map((t) => fmtParams(t.params)).join('\n')}`;
  }
  const fb = extras.feedback?.length
    ? `\n\nRecent proposals that failed a check (avoid these mistakes):\n${extras.feedback.map((r) => `- ${REASON_STAGE[r.reason as Exclude<RejectionReason, 'llm-error'>] ?? 'request'}: ${r.detail}`).join('\n')}`
    : '';
  const format = extras.format ? `\n\n${extras.format}` : '';
  return [
    {
      role: 'system',
      content:
        'You design tasks for a reinforcement-learning benchmark. A task is a JSON object of parameters. Answer with JSON only, no prose, in the form {"tasks": [ {parameters}, ... ]}.',
    },
    {
      role: 'user',
      content: `Task family: ${space.family}. Parameters (every one is required, no others allowed):\n${params}${format}\n\n${existing}\n\n${goal}${fb}\n\nPropose ${n} new tasks that are not already in the library. Answer {"tasks": [...]} with exactly ${n} parameter objects.`,
    },
  ];
}

/** Extracts a JSON value from a reply (bare JSON, or the outermost {...} / [...] inside fences or prose). */
export function extractJson(text: string): unknown {
  const t = text.trim();
  try {
    return JSON.parse(t);
  } catch {
    // fall through to the embedded forms
  }
  const fence = /```(?:json)?\s*([\s\S]*?)```/i.exec(t);
  if (fence) {
    try {
      return JSON.parse(fence[1]);
    } catch {
      // fall through
    }
  }
  for (const [open, close] of [
    ['{', '}'],
    ['[', ']'],
  ]) {
    const a = t.indexOf(open);
    const b = t.lastIndexOf(close);
    if (a >= 0 && b > a) {
      try {
        return JSON.parse(t.slice(a, b + 1));
      } catch {
        // try the next form
      }
    }
  }
  throw new SyntaxError(`no JSON found in ${JSON.stringify(t.slice(0, 80))}`);
}

const envelope = z.union([z.object({ tasks: z.array(z.unknown()) }).loose(), z.array(z.unknown())]);

/** One proposal cut out of a reply: its parsed value, or why its text is not JSON. */
export type ProposalItem = { ok: true; value: unknown } | { ok: false; error: string; text: string };

/** Index just past the balanced {...} that starts at `a` (strings and escapes respected), or -1 when it never closes. */
function matchBrace(t: string, a: number): number {
  let depth = 0;
  let inStr = false;
  for (let i = a; i < t.length; i++) {
    const c = t[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * Cuts a reply into proposals, so that a syntax error costs one proposal, not the whole answer: a
 * reply that is JSON in the asked form gives its tasks; otherwise each top-level {...} of the task
 * array (after `"tasks"`, else the first `[`) is parsed on its own. A reply with no object at all is
 * `not-json`; JSON without a task array is `bad-shape`.
 */
export function splitProposals(text: string): { items: ProposalItem[] } | { reason: 'not-json' | 'bad-shape'; detail: string; doc?: unknown } {
  let doc: unknown;
  let parsed = false;
  try {
    doc = extractJson(text);
    parsed = true;
  } catch {
    // cut it by hand below
  }
  if (parsed) {
    const env = envelope.safeParse(doc);
    if (!env.success) return { reason: 'bad-shape', detail: 'expected {"tasks": [...]} or an array of parameter objects', doc };
    return { items: (Array.isArray(env.data) ? env.data : env.data.tasks).map((value) => ({ ok: true as const, value })) };
  }
  const t = text;
  const key = t.search(/"tasks"\s*:\s*\[/);
  let i = key >= 0 ? t.indexOf('[', key) + 1 : t.indexOf('[') + 1;
  const items: ProposalItem[] = [];
  while (i < t.length) {
    const a = t.indexOf('{', i);
    if (a < 0) break;
    const close = t.indexOf(']', i);
    if (key >= 0 && close >= 0 && close < a) break; // the end of the task array
    const b = matchBrace(t, a);
    const piece = b < 0 ? t.slice(a) : t.slice(a, b);
    try {
      items.push({ ok: true, value: JSON.parse(piece) });
    } catch (e) {
      items.push({ ok: false, error: b < 0 ? 'unterminated object' : (e as Error).message, text: piece.length > 120 ? `${piece.slice(0, 117)}...` : piece });
    }
    if (b < 0) break;
    i = b;
  }
  if (items.length === 0) return { reason: 'not-json', detail: `no JSON found in ${JSON.stringify(t.trim().slice(0, 80))}` };
  return { items };
}

/** The default loads stage: the strict zod schema of the space's spec, then the space's own check. */
function defaultLoad(space: TaskSpace, schema: z.ZodType): (value: unknown) => Task {
  return (value) => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new Error(`${space.family}.params${i.path.length ? '.' + i.path.join('.') : ''}: ${i.message}`);
    }
    return space.check({ family: space.family, params: value as Record<string, JsonValue> });
  };
}

const short = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);

/**
 * Asks the LLM for tasks until `count` new ones are in the library or the request budget is spent.
 * Each proposal goes through the stages in order (parses, loads, runs, solvable, novel) and stops at
 * the first it fails; accepted ones enter the library with their provenance and stage results.
 */
export async function proposeTasks(opts: ProposeOptions): Promise<ProposalOutcome> {
  const { client, space, library, mode } = opts;
  const checks = opts.checks ?? {};
  if (library.family !== space.family) throw new Error(`library family "${library.family}" differs from the task space "${space.family}"`);
  if (mode.kind === 'goal') space.check(mode.target);
  if (mode.kind === 'top-down' && !mode.description.trim()) throw new Error('top-down mode needs a target description');
  const perRequest = opts.perRequest ?? Math.min(opts.count, 8);
  const maxRequests = opts.maxRequests ?? 3 * Math.ceil(opts.count / perRequest);
  const load = checks.load ?? defaultLoad(space, zodFromSpaceSpec(space.params.spec));
  const identity = checks.identity ?? taskKey;
  const now = opts.now ?? (() => new Date());
  const stages = Object.fromEntries(PROPOSAL_STAGES.map((s) => [s, { entered: 0, passed: 0 }])) as Record<ProposalStage, StageCount>;
  const out: ProposalOutcome = { added: [], rejected: [], counts: {}, requests: 0, proposals: 0, stages, rounds: [] };
  // what the library holds, by identity and by isomorphism class (index of the first entry in each)
  const seen = new Map<string, number>();
  const classes = new Map<string, number>();
  library.entries.forEach((e, k) => {
    const t = { family: library.family, params: e.params };
    if (!seen.has(identity(t))) seen.set(identity(t), k);
    if (checks.canonical) {
      const c = checks.canonical(t);
      if (!classes.has(c)) classes.set(c, k);
    }
  });
  let round = 0;
  let roundStats: RoundStats;
  const reject = (r: Rejection): void => {
    out.rejected.push(r);
    out.counts[r.reason] = (out.counts[r.reason] ?? 0) + 1;
    if (r.reason !== 'llm-error') {
      const st = REASON_STAGE[r.reason];
      roundStats.failed[st] = (roundStats.failed[st] ?? 0) + 1;
    }
  };
  /** Runs one stage; false (with the rejection recorded) when it fails. */
  const stage = <T>(s: ProposalStage, reason: RejectionReason, params: unknown, f: () => T, fail?: (v: T) => string | null): { ok: true; value: T } | { ok: false } => {
    stages[s].entered++;
    let v: T;
    try {
      v = f();
    } catch (e) {
      reject({ reason, detail: (e as Error).message, params, round });
      return { ok: false };
    }
    const why = fail?.(v) ?? null;
    if (why !== null) {
      reject({ reason, detail: why, params, round });
      return { ok: false };
    }
    stages[s].passed++;
    return { ok: true, value: v };
  };
  for (; round < maxRequests && out.added.length < opts.count; round++) {
    roundStats = { round, proposals: 0, accepted: 0, library: library.entries.length, failed: {}, llmError: false };
    const want = Math.min(perRequest, opts.count - out.added.length);
    const feedback = out.rejected.filter((r) => r.reason !== 'llm-error').slice(-(opts.feedback ?? 5));
    const messages = proposalPrompt(space, library, mode, want, opts.maxShown, { format: checks.format, feedback });
    const promptHash = requestHash(messages);
    out.requests++;
    let reply: ChatResult | null = null;
    try {
      reply = await client.chat({ messages, json: true, temperature: opts.temperature });
    } catch (e) {
      if (!(e instanceof LlmRequestError)) throw e;
      reject({ reason: 'llm-error', detail: `${e.reason}: ${e.message}`, round });
      roundStats.llmError = true;
    }
    if (reply) {
      const split = splitProposals(reply.content);
      if ('reason' in split) {
        out.proposals++;
        roundStats.proposals++;
        stages.parses.entered++;
        reject({ reason: split.reason, detail: split.detail, ...(split.doc !== undefined ? { params: split.doc } : {}), round });
      } else {
        for (const item of split.items) {
          if (out.added.length >= opts.count) break;
          out.proposals++;
          roundStats.proposals++;
          const parsed = stage('parses', 'not-json', item.ok ? item.value : (item as { text: string }).text, () => {
            if (!item.ok) throw new Error(`${item.error} in ${JSON.stringify(item.text)}`);
            return item.value;
          });
          if (!parsed.ok) continue;
          const p = parsed.value;
          const loaded = stage('loads', 'out-of-space', p, () => load(p));
          if (!loaded.ok) continue;
          const task = loaded.value;
          let runStats: StageStats | undefined;
          if (checks.run) {
            const ran = stage('runs', 'runtime', p, () => checks.run!(task) ?? {});
            if (!ran.ok) continue;
            runStats = ran.value as StageStats;
          }
          const solved = stage('solvable', 'unsolvable', p, () => opts.solvable(task), (c) => (c.ok ? null : (c.reason ?? `oracle value ${c.value ?? '?'}`)));
          if (!solved.ok) continue;
          const check = solved.value;
          let cls: string | undefined;
          const novel = stage(
            'novel',
            'duplicate',
            p,
            () => {
              const id = identity(task);
              // an isomorphism check that cannot finish rejects this proposal, not the run
              cls = checks.canonical ? checks.canonical(task) : undefined;
              return id;
            },
            (id) => {
              const k = seen.get(id);
              return k === undefined ? null : `equal to library task ${k} (${id.length > 40 ? short(id) : id})`;
            },
          );
          if (!novel.ok) continue;
          const id = novel.value;
          if (cls !== undefined && classes.has(cls)) {
            // entered and counted by the equality check above: move it to the isomorphism reason
            stages.novel.passed--;
            reject({ reason: 'isomorphic', detail: `isomorphic to library task ${classes.get(cls)} (a renaming of colours and a reordering, see docs/llm.md)`, params: p, round });
            continue;
          }
          const { added } = addToLibrary(library, [task], {
            source: 'llm',
            model: reply.model || client.model,
            promptHash,
            mode: mode.kind,
            ...(mode.kind === 'goal' ? { target: mode.target.params } : {}),
            ...(mode.kind === 'top-down' ? { description: mode.description } : {}),
            time: now().toISOString(),
            ...(check.value !== undefined ? { oracleValue: check.value } : {}),
            round,
            stages: {
              parses: { ok: true },
              loads: { ok: true },
              ...(runStats ? { runs: { ok: true, ...runStats } } : {}),
              solvable: { ok: true, ...(check.value !== undefined ? { oracleValue: check.value } : {}), ...(check.stats ?? {}) },
              novel: { ok: true, ...(cls !== undefined ? { class: short(cls) } : {}) },
            },
          });
          if (added.length === 0) {
            // equal by taskKey to an entry whose identity differs: the library refuses it all the same
            stages.novel.passed--;
            reject({ reason: 'duplicate', detail: `equal to a library task (${short(taskKey(task))})`, params: p, round });
            continue;
          }
          seen.set(id, library.entries.length - 1);
          if (cls !== undefined) classes.set(cls, library.entries.length - 1);
          out.added.push(...added);
          roundStats.accepted++;
          opts.onAccept?.(added[0], library);
        }
      }
    }
    roundStats.library = library.entries.length;
    out.rounds.push(roundStats);
    opts.onRound?.(roundStats);
  }
  return out;
}

/** Pass rate of each stage (passed / entered; null when no proposal reached it). */
export function stagePassRates(stages: Record<ProposalStage, StageCount>): Record<ProposalStage, number | null> {
  return Object.fromEntries(PROPOSAL_STAGES.map((s) => [s, stages[s].entered ? stages[s].passed / stages[s].entered : null])) as Record<ProposalStage, number | null>;
}
