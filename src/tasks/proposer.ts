/**
 * LLM task proposer (GenSim-style): asks a language model for new task parameters of a family, as
 * JSON, either toward a target task (goal-directed: stepping stones between what the library holds
 * and the target) or to explore (tasks unlike those already there). Every proposal is validated by a
 * zod schema built from the task space (then by the space's own validity rule), checked solvable by
 * an oracle the caller supplies (e.g. the environment's oracle value > 0), deduplicated by taskKey
 * against the library and the batch, and added to the library with its provenance. Nothing the LLM
 * says can crash a proposal round: bad answers and failed requests are counted with their reason.
 */
import { z } from 'zod';
import type { SpaceSpec, JsonValue } from '../core/spaces.js';
import type { ChatClientLike, ChatMessage, ChatResult } from '../core/llm/client.js';
import { LlmRequestError } from '../core/llm/client.js';
import { requestHash } from '../core/llm/cache.js';
import { taskKey, type Task, type TaskSpace } from './taskSpace.js';
import { addToLibrary, libraryKeys, type LibraryEntry, type TaskLibrary } from './library.js';

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

export type ProposalMode = { kind: 'explore' } | { kind: 'goal'; target: Task };

/** Result of the oracle check: solvable, with the oracle value when known, or why not. */
export interface SolvabilityCheck {
  ok: boolean;
  value?: number;
  reason?: string;
}

export type RejectionReason = 'llm-error' | 'not-json' | 'bad-shape' | 'out-of-space' | 'unsolvable' | 'duplicate';

export interface Rejection {
  reason: RejectionReason;
  detail: string;
  params?: unknown;
  round: number;
}

export interface ProposeOptions {
  client: ChatClientLike;
  space: TaskSpace;
  library: TaskLibrary;
  mode: ProposalMode;
  /** Number of new tasks wanted. */
  count: number;
  /** Oracle solvability check (the CLI uses the environment's oracle value). */
  solvable: (task: Task) => SolvabilityCheck;
  /** Most LLM requests to make (default 3 x ceil(count / perRequest)). */
  maxRequests?: number;
  /** Tasks asked for per request (default min(count, 8)). */
  perRequest?: number;
  /** Most library tasks shown in the prompt (the most recent; default 30). */
  maxShown?: number;
  temperature?: number;
  /** Clock for provenance (tests inject a fixed one). */
  now?: () => Date;
}

export interface ProposalOutcome {
  added: LibraryEntry[];
  rejected: Rejection[];
  /** Rejections by reason. */
  counts: Partial<Record<RejectionReason, number>>;
  requests: number;
}

function fmtParams(p: Record<string, JsonValue>): string {
  return JSON.stringify(p, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(4)) : v));
}

/** The prompt for one proposal request. */
export function proposalPrompt(space: TaskSpace, library: TaskLibrary, mode: ProposalMode, n: number, maxShown = 30): ChatMessage[] {
  const params = space
    .describeParams()
    .map((p) => `- ${p.name}: ${p.space}${p.description ? ` (${p.description})` : ''}`)
    .join('\n');
  const shown = library.entries.slice(-maxShown);
  const existing = shown.length
    ? `The library already holds ${library.entries.length} tasks${library.entries.length > shown.length ? ` (the ${shown.length} most recent shown)` : ''}:\n${shown.map((e) => fmtParams(e.params)).join('\n')}`
    : 'The library is empty.';
  const goal =
    mode.kind === 'goal'
      ? `Goal-directed mode. The target task is ${fmtParams(mode.target.params)}. Propose tasks that are stepping stones from the tasks in the library toward this target: each should be a little closer to the target than the library's tasks, from easier to harder.`
      : 'Exploratory mode. Propose tasks that are as different as possible from the tasks in the library, covering parts of the parameter space the library does not cover yet, while staying solvable.';
  return [
    {
      role: 'system',
      content:
        'You design tasks for a reinforcement-learning benchmark. A task is a JSON object of parameters. Answer with JSON only, no prose, in the form {"tasks": [ {parameters}, ... ]}.',
    },
    {
      role: 'user',
      content: `Task family: ${space.family}. Parameters (every one is required, no others allowed):\n${params}\n\n${existing}\n\n${goal}\n\nPropose ${n} new tasks that are not already in the library. Answer {"tasks": [...]} with exactly ${n} parameter objects.`,
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

/** Asks the LLM for tasks until `count` new ones are in the library or the request budget is spent. */
export async function proposeTasks(opts: ProposeOptions): Promise<ProposalOutcome> {
  const { client, space, library, mode } = opts;
  if (library.family !== space.family) throw new Error(`library family "${library.family}" differs from the task space "${space.family}"`);
  if (mode.kind === 'goal') space.check(mode.target);
  const perRequest = opts.perRequest ?? Math.min(opts.count, 8);
  const maxRequests = opts.maxRequests ?? 3 * Math.ceil(opts.count / perRequest);
  const schema = zodFromSpaceSpec(space.params.spec);
  const now = opts.now ?? (() => new Date());
  const out: ProposalOutcome = { added: [], rejected: [], counts: {}, requests: 0 };
  const reject = (r: Rejection): void => {
    out.rejected.push(r);
    out.counts[r.reason] = (out.counts[r.reason] ?? 0) + 1;
  };
  for (let round = 0; round < maxRequests && out.added.length < opts.count; round++) {
    const want = Math.min(perRequest, opts.count - out.added.length);
    const messages = proposalPrompt(space, library, mode, want, opts.maxShown);
    const promptHash = requestHash(messages);
    out.requests++;
    let reply: ChatResult;
    try {
      reply = await client.chat({ messages, json: true, temperature: opts.temperature });
    } catch (e) {
      if (!(e instanceof LlmRequestError)) throw e;
      reject({ reason: 'llm-error', detail: `${e.reason}: ${e.message}`, round });
      continue;
    }
    let doc: unknown;
    try {
      doc = extractJson(reply.content);
    } catch (e) {
      reject({ reason: 'not-json', detail: (e as Error).message, round });
      continue;
    }
    const env = envelope.safeParse(doc);
    if (!env.success) {
      reject({ reason: 'bad-shape', detail: 'expected {"tasks": [...]} or an array of parameter objects', params: doc, round });
      continue;
    }
    const proposals = Array.isArray(env.data) ? env.data : env.data.tasks;
    const seen = libraryKeys(library);
    for (const p of proposals) {
      if (out.added.length >= opts.count) break;
      const parsed = schema.safeParse(p);
      if (!parsed.success) {
        const i = parsed.error.issues[0];
        reject({ reason: 'out-of-space', detail: `${space.family}.params${i.path.length ? '.' + i.path.join('.') : ''}: ${i.message}`, params: p, round });
        continue;
      }
      let task: Task;
      try {
        task = space.check({ family: space.family, params: p as Record<string, JsonValue> });
      } catch (e) {
        reject({ reason: 'out-of-space', detail: (e as Error).message, params: p, round });
        continue;
      }
      const key = taskKey(task);
      if (seen.has(key)) {
        reject({ reason: 'duplicate', detail: key, params: p, round });
        continue;
      }
      const check = opts.solvable(task);
      if (!check.ok) {
        reject({ reason: 'unsolvable', detail: check.reason ?? `oracle value ${check.value ?? '?'}`, params: p, round });
        continue;
      }
      seen.add(key);
      const { added } = addToLibrary(library, [task], {
        source: 'llm',
        model: reply.model || client.model,
        promptHash,
        mode: mode.kind,
        ...(mode.kind === 'goal' ? { target: mode.target.params } : {}),
        time: now().toISOString(),
        ...(check.value !== undefined ? { oracleValue: check.value } : {}),
        round,
      });
      out.added.push(...added);
    }
  }
  return out;
}
