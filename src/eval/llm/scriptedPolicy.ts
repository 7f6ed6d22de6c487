/**
 * The responder behind `icrl llm serve-fake`: a rule-based stand-in for a language model, NOT a
 * language model. It reads the per-arm statistics (or the raw pull history) out of the LLM agent's
 * bandit prompt and answers {"action": k} with the UCB1 (or greedy, or random) choice; on prompts it
 * cannot read (Dark Room, contextual bandits) it answers a random valid action. A configurable share
 * of answers is deliberately broken (not JSON, action out of range, HTTP 500, no answer at all, HTTP 429
 * with Retry-After, a body that never ends, negative token counts) so that
 * the agent's error handling can be watched. To task-proposal prompts (`icrl tasks propose`) it
 * answers parameters drawn uniformly from the spaces listed in the prompt (a random proposer, not a
 * reasoned one), plus one out-of-range task with the outOfRange probability; to xland proposal prompts
 * the seeded ruleset writer of scriptedRulesets.ts answers. Every answer is a function
 * of the seed, the request body and how often that body was seen before, so the arrival order of
 * different requests does not matter; identical requests from several tasks at once, and client
 * timeouts on a loaded machine, can still make two live runs differ (the response cache makes reruns
 * exact).
 */
import { z } from 'zod';
import { Rng } from '../../core/rng.js';
import { requestHash } from '../../core/llm/cache.js';
import type { FakeReply, FakeRequest, FakeResponder } from '../../core/llm/fakeServer.js';
import { writeRulesets } from './scriptedRulesets.js';

export const scriptedPolicySchema = z
  .object({
    policy: z.enum(['ucb', 'greedy', 'random']).default('ucb'),
    c: z.number().min(0).default(1),
    seed: z.number().int().min(0).default(0),
    /** Shares of deliberately bad answers (each in [0, 1], summing to at most 1). */
    faults: z
      .object({
        notJson: z.number().min(0).max(1).default(0),
        outOfRange: z.number().min(0).max(1).default(0),
        http500: z.number().min(0).max(1).default(0),
        timeout: z.number().min(0).max(1).default(0),
        /** HTTP 429 with `Retry-After: retryAfterS`. */
        http429: z.number().min(0).max(1).default(0),
        /** A chunked body that never ends (the client must stop reading at its size limit). */
        endlessBody: z.number().min(0).max(1).default(0),
        /** A good answer whose usage reports -5 prompt tokens (the client must refuse the counts). */
        badUsage: z.number().min(0).max(1).default(0),
      })
      .strict()
      .default({ notJson: 0, outOfRange: 0, http500: 0, timeout: 0, http429: 0, endlessBody: 0, badUsage: 0 }),
    /** Seconds of the Retry-After header of the scripted HTTP 429 answers. */
    retryAfterS: z.number().int().min(0).max(3600).default(1),
    /** Delay of every good answer in ms (to imitate a slow server). */
    delayMs: z.number().int().min(0).default(0),
  })
  .strict();

export type ScriptedPolicyOptions = z.input<typeof scriptedPolicySchema>;

interface ArmStats {
  k: number;
  counts: number[];
  sums: number[];
}

/** Reads the number of actions and the per-arm statistics from a bandit prompt; null stats when absent. */
export function readBanditPrompt(text: string): { k: number | null; stats: ArmStats | null } {
  const km = /from 0 to (\d+)/.exec(text);
  const k = km ? Number(km[1]) + 1 : null;
  if (k === null) return { k, stats: null };
  const counts = new Array<number>(k).fill(0);
  const sums = new Array<number>(k).fill(0);
  let found = false;
  for (const m of text.matchAll(/arm (\d+): (\d+) pulls(?:, mean reward (-?[\d.]+))?/g)) {
    const a = Number(m[1]);
    if (a >= k) continue;
    found = true;
    counts[a] = Number(m[2]);
    sums[a] = m[3] ? Number(m[3]) * counts[a] : 0;
  }
  if (!found) {
    for (const m of text.matchAll(/^\d+: arm (\d+) -> (-?[\d.]+)$/gm)) {
      const a = Number(m[1]);
      if (a >= k) continue;
      found = true;
      counts[a] += 1;
      sums[a] += Number(m[2]);
    }
  }
  const isBandit = /multi-armed bandit|Statistics so far|No history yet/.test(text) && !/Context now/.test(text);
  return { k, stats: found || isBandit ? { k, counts, sums } : null };
}

function choose(stats: ArmStats, policy: 'ucb' | 'greedy', c: number, rng: Rng): number {
  const t = Math.max(1, stats.counts.reduce((a, b) => a + b, 0));
  let best = -Infinity;
  const ties: number[] = [];
  for (let a = 0; a < stats.k; a++) {
    const n = stats.counts[a];
    const v = n === 0 ? Infinity : stats.sums[a] / n + (policy === 'ucb' ? c * Math.sqrt(Math.log(t) / n) : 0);
    if (v > best) {
      best = v;
      ties.length = 0;
      ties.push(a);
    } else if (v === best) ties.push(a);
  }
  return ties.length === 1 ? ties[0] : ties[rng.int(ties.length)];
}

/** The model name the scripted endpoint puts in its answers, so that reports can tell. */
export const SCRIPTED_MODEL_NAME = 'icrl-scripted-endpoint (not a language model)';

export function scriptedPolicyResponder(options: ScriptedPolicyOptions = {}): FakeResponder {
  const o = scriptedPolicySchema.parse(options);
  const f = o.faults;
  if (f.notJson + f.outOfRange + f.http500 + f.timeout + f.http429 + f.endlessBody + f.badUsage > 1) throw new RangeError('scripted policy: fault shares sum to more than 1');
  const root = new Rng(o.seed);
  // how often each exact request was seen: a retry of the same request gets a fresh draw, and the
  // answers stay a function of (seed, request, repetition) whatever the arrival order
  const seen = new Map<string, number>();
  return (req: FakeRequest): FakeReply => ({ ...answer(req), model: SCRIPTED_MODEL_NAME });
  function answer(req: FakeRequest): FakeReply {
    const h = requestHash(req.body);
    const rep = seen.get(h) ?? 0;
    seen.set(h, rep + 1);
    const rng = root.split(`${h}:${rep}`);
    const msgs = req.body?.messages ?? [];
    const user = msgs.find((m) => m.role === 'user');
    const text = `${msgs.find((m) => m.role === 'system')?.content ?? ''}\n${user?.content ?? ''}`;
    if (/^Task family: /m.test(String(user?.content ?? ''))) return proposalReply(String(user?.content), rng, f.outOfRange, o.delayMs);
    const { k, stats } = readBanditPrompt(String(text));
    const u = rng.uniform();
    let acc = f.notJson;
    if (u < acc) return { content: 'Let me think about which lever looks luckiest today.', delayMs: o.delayMs };
    if (u < (acc += f.outOfRange)) return { content: JSON.stringify({ action: (k ?? 2) + 3 }), delayMs: o.delayMs };
    if (u < (acc += f.http500)) return { status: 500 };
    if (u < (acc += f.timeout)) return { hang: true };
    if (u < (acc += f.http429)) return { status: 429, headers: { 'retry-after': String(o.retryAfterS) } };
    if (u < (acc += f.endlessBody)) return { stream: { chunkBytes: 65_536 } };
    const usage = u < acc + f.badUsage ? { usage: { prompt_tokens: -5, completion_tokens: 3 } } : {};
    if (k === null) return { content: JSON.stringify({ action: 0 }), delayMs: o.delayMs, ...usage };
    const a = stats && o.policy !== 'random' ? choose(stats, o.policy, o.c, rng) : rng.int(k);
    return { content: JSON.stringify({ action: a }), delayMs: o.delayMs, ...usage };
  }
}

/** Parses the parameter lines of a proposal prompt ("- name: box 3-d [0,0,0]..[1,1,1] (...)") and samples them. */
function sampleParam(spec: string, rng: Rng): unknown {
  let m = /^box \[(-?[\d.e+-]+), (-?[\d.e+-]+)\]/.exec(spec);
  if (m) return Number(rng.uniformRange(Number(m[1]), Number(m[2])).toFixed(3));
  m = /^box (\d+)-d \[([^\]]*)\]\.\.\[([^\]]*)\]/.exec(spec);
  if (m) {
    const lo = m[2].split(',').map(Number);
    const hi = m[3].split(',').map(Number);
    return lo.map((l, i) => Number(rng.uniformRange(l, hi[i]).toFixed(3)));
  }
  m = /^discrete \{(-?\d+)\.\.(-?\d+)\}/.exec(spec);
  if (m) return rng.intRange(Number(m[1]), Number(m[2]));
  m = /^categorical \{(.*)\}/.exec(spec);
  if (m) {
    const values = JSON.parse(`[${m[1]}]`) as unknown[];
    return values[rng.int(values.length)];
  }
  return null;
}

function proposalReply(prompt: string, rng: Rng, outOfRange: number, delayMs: number): FakeReply {
  const n = Number(/Propose (\d+) new tasks/.exec(prompt)?.[1] ?? 1);
  // xland prompts carry the ruleset format: the ruleset writer answers them
  const rulesets = writeRulesets(prompt, n, rng);
  if (rulesets !== null) return { content: rulesets, delayMs };
  // the parameter lines sit between "Parameters" and the first blank line (later "- " lines are feedback)
  const section = /Parameters[^\n]*\n([\s\S]*?)(?:\n\n|$)/.exec(prompt)?.[1] ?? '';
  const params = [...section.matchAll(/^- (\w+): (.*)$/gm)].map((m) => ({ name: m[1], spec: m[2] }));
  const tasks: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) tasks.push(Object.fromEntries(params.map((p) => [p.name, sampleParam(p.spec, rng)])));
  // the broken proposal comes first, so that it is always examined (and rejected)
  if (params.length && rng.uniform() < outOfRange) tasks.unshift(Object.fromEntries(params.map((p) => [p.name, 1e9])));
  return { content: JSON.stringify({ tasks }), delayMs };
}
