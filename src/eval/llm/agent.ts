/**
 * An agent that plays through a chat LLM (EVOLvE-style): every decision of every instance is one
 * chat request with the task described in text. Bad output never stops a run: an answer that is not
 * JSON, has no action or an out-of-range one is re-asked (with a correction) up to `maxAttempts`
 * times, then the decision falls back to a configured policy (random, UCB or greedy); a request that
 * fails after the client's own retries (HTTP 500, timeout, refused connection) falls back at once.
 * Every failure is counted with its reason, and tokens, cost and cache hits are counted too; the
 * evaluator reads them through `diagnostics()`.
 */
import { z } from 'zod';
import type { Agent, StepOutcome } from '../../algorithms/agent.js';
import type { ActionArray, BatchedEnv } from '../../envs/types.js';
import { Rng } from '../../core/rng.js';
import { IcrlError } from '../../core/errors.js';
import { LlmClient, LlmRequestError, llmConfigSchema, type ChatClientLike, type ChatMessage, type LlmFailureReason } from '../../core/llm/index.js';
import {
  decisionPrompt,
  newMemory,
  parseAction,
  promptKind,
  recordReward,
  recordStep,
  systemPrompt,
  ucbIndices,
  type InstanceMemory,
  type PromptKind,
  type PromptOptions,
} from './prompts.js';
import { demonstrationText, demonstrationsSchema, type SourceAgentFactory } from './demonstrations.js';

export const llmAgentSpecSchema = z
  .object({
    type: z.literal('llm').optional(),
    /** Name shown in the report (default "llm:<model>"). */
    name: z.string().min(1).optional(),
    /** Endpoint, model, timeouts, retries, concurrency, cache: see the LLM client. */
    llm: llmConfigSchema.default({} as never),
    /** History as raw text (the last maxHistory steps) or as summary statistics. */
    history: z.enum(['raw', 'summary']).default('summary'),
    maxHistory: z.number().int().min(1).max(10_000).default(50),
    /** Algorithm-guided hints in the prompt: UCB indices per arm (bandits). */
    hints: z.enum(['none', 'ucb']).default('none'),
    hintC: z.number().min(0).default(1),
    /** In-context demonstrations from a source algorithm playing other tasks of the family. */
    demonstrations: demonstrationsSchema.optional(),
    /** Requests per decision before falling back (1 = no re-ask after an invalid answer). */
    maxAttempts: z.number().int().min(1).max(10).default(2),
    /** Policy used when the LLM gives no valid action. */
    fallback: z.enum(['random', 'ucb', 'greedy']).default('random'),
    fallbackC: z.number().min(0).default(1),
    /** Also accept the last integer of a plain-text answer (counted as valid). */
    lenient: z.boolean().default(false),
    /** After this many consecutive failed requests, stop calling the endpoint and fall back for the rest of the run (0 = never). */
    maxConsecutiveFailures: z.number().int().min(0).default(50),
  })
  .strict();

export type LlmAgentSpec = z.input<typeof llmAgentSpecSchema>;
export type LlmAgentSettings = z.output<typeof llmAgentSpecSchema>;

/** Why a decision attempt did not give a valid action. */
export type InvalidReason = 'not-json' | 'no-action' | 'out-of-range' | LlmFailureReason | 'error' | 'circuit-open';

/** Counters of an LLM agent, as the evaluator and the report show them. */
export interface LlmAgentDiagnostics {
  decisions: number;
  /** Decisions taken from a valid LLM answer. */
  llmDecisions: number;
  /** Decisions made by the fallback policy. */
  fallbacks: number;
  /** Requests made for decisions (first asks and re-asks). */
  attempts: number;
  /** Attempts that gave no valid action, by reason. */
  invalid: Partial<Record<InvalidReason, number>>;
  /** invalid attempts / attempts (0 when none). */
  invalidRate: number;
  /** fallbacks / decisions. */
  fallbackRate: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  cacheHits: number;
  httpRequests: number;
  /** Model names the endpoint reported in its answers (at most 5). */
  servedModels: string[];
  /** HTTP attempts the client retried (HTTP 500/429, timeouts, refused connections), by reason; the decision may still have succeeded. */
  retried: Record<string, number>;
  model: string;
}

/** Agents that expose counters for the report (LLM agents; any agent may implement it). */
export interface DiagnosticsSource {
  diagnostics(): Record<string, unknown>;
}

export function hasDiagnostics(agent: unknown): agent is DiagnosticsSource {
  return typeof (agent as { diagnostics?: unknown })?.diagnostics === 'function';
}

export interface LlmAgentDeps {
  /** A client to use instead of one built from `spec.llm` and the environment (tests, sharing). */
  client?: ChatClientLike & { stats?: LlmClient['stats'] };
  /** Environment variables for the client (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Makes source agents for demonstrations by name (e.g. the algorithms registry). */
  sourceAgents?: SourceAgentFactory;
  /** Where warnings go (default stderr). */
  warn?: (msg: string) => void;
  /** Where the spec comes from, for error messages (e.g. "configs/llm-bandit.yaml: online.agents[0]"). */
  source?: string;
}

export class LlmAgent implements Agent {
  readonly name: string;
  readonly settings: LlmAgentSettings;
  private readonly client: ChatClientLike & { stats?: LlmClient['stats'] };
  private readonly deps: LlmAgentDeps;
  private env: BatchedEnv | null = null;
  private kind: PromptKind = 'bandit';
  private system = '';
  private mem: InstanceMemory[] = [];
  private rngs: Rng[] = [];
  private lastObs: Float32Array = new Float32Array(0);
  private promptOpts!: PromptOptions;
  private consecutiveFailures = 0;
  private circuitOpen = false;
  private counters = { decisions: 0, llmDecisions: 0, fallbacks: 0, attempts: 0 };
  private invalid: Partial<Record<InvalidReason, number>> = {};
  private readonly servedModels = new Set<string>();

  constructor(spec: LlmAgentSpec, deps: LlmAgentDeps = {}) {
    this.settings = llmAgentSpecSchema.parse(spec);
    this.deps = deps;
    this.client = deps.client ?? LlmClient.fromConfig(this.settings.llm, deps.env ?? process.env, `${deps.source ?? 'llm agent'}.llm`);
    this.name = this.settings.name ?? `llm:${this.client.model}`;
  }

  async reset(env: BatchedEnv, rng: Rng): Promise<void> {
    if (env.numActions === 0) throw new IcrlError(`llm agent: ${env.family} has continuous actions; the LLM agent plays discrete actions only`);
    this.env = env;
    this.kind = promptKind(env);
    this.mem = Array.from({ length: env.numEnvs }, () => newMemory(env.numActions));
    this.rngs = Array.from({ length: env.numEnvs }, (_, i) => rng.split(`instance:${i}`));
    this.lastObs = new Float32Array(env.obs.length);
    this.consecutiveFailures = 0;
    this.circuitOpen = false;
    const demos = this.settings.demonstrations ? await demonstrationText(env, this.kind, this.settings.demonstrations, rng.split('demonstrations'), this.deps.sourceAgents) : '';
    this.promptOpts = { history: this.settings.history, maxHistory: this.settings.maxHistory, hints: this.settings.hints, hintC: this.settings.hintC, demonstrations: demos };
    this.system = systemPrompt(env, this.kind, this.promptOpts);
  }

  async act(obs: Float32Array, out: ActionArray): Promise<void> {
    const env = this.env;
    if (!env) throw new Error('llm agent: act before reset');
    this.lastObs.set(obs);
    const d = env.obsDim;
    await Promise.all(
      this.mem.map(async (_m, i) => {
        out[i] = await this.decide(i, obs.subarray(i * d, (i + 1) * d));
      }),
    );
  }

  observe(o: StepOutcome): void {
    const env = this.env!;
    const d = env.obsDim;
    for (let i = 0; i < this.mem.length; i++) {
      const ended = o.terminated[i] === 1 || o.truncated[i] === 1;
      const before = this.lastObs.subarray(i * d, (i + 1) * d);
      const r = o.rewards[i];
      if (this.kind === 'mdp') recordReward(this.mem[i], ended ? env.finalObs.subarray(i * d, (i + 1) * d) : o.obs.subarray(i * d, (i + 1) * d), r);
      recordStep(this.kind, this.mem[i], before, o.actions[i], r, ended, Math.max(this.settings.maxHistory, 10));
    }
  }

  private count(reason: InvalidReason): void {
    this.invalid[reason] = (this.invalid[reason] ?? 0) + 1;
  }

  /** One decision of instance i: ask, re-ask on invalid output, fall back; never throws. */
  private async decide(i: number, obs: Float32Array): Promise<number> {
    const env = this.env!;
    this.counters.decisions++;
    const messages: ChatMessage[] = [
      { role: 'system', content: this.system },
      { role: 'user', content: decisionPrompt(env, this.kind, this.mem[i], obs, this.promptOpts) },
    ];
    for (let attempt = 0; attempt < this.settings.maxAttempts; attempt++) {
      if (this.circuitOpen) {
        this.count('circuit-open');
        break;
      }
      this.counters.attempts++;
      let content: string;
      try {
        const r = await this.client.chat({ messages: [...messages], json: true, cacheTag: `instance:${i}` });
        content = r.content;
        if (this.servedModels.size < 5) this.servedModels.add(r.model);
        this.consecutiveFailures = 0;
      } catch (e) {
        const reason: InvalidReason = e instanceof LlmRequestError ? e.reason : 'error';
        this.count(reason);
        this.consecutiveFailures++;
        const limit = this.settings.maxConsecutiveFailures;
        if (limit > 0 && this.consecutiveFailures >= limit && !this.circuitOpen) {
          this.circuitOpen = true;
          (this.deps.warn ?? ((m: string) => process.stderr.write(`${m}\n`)))(
            `llm agent ${this.name}: ${limit} consecutive failed requests (last: ${(e as Error).message}); using the ${this.settings.fallback} fallback for the rest of the run`,
          );
        }
        break; // the client already retried the request; fall back now
      }
      const p = parseAction(content, env.numActions, this.settings.lenient);
      if ('action' in p) {
        this.counters.llmDecisions++;
        return p.action;
      }
      this.count(p.failure);
      messages.push({ role: 'assistant', content }, { role: 'user', content: `That answer is invalid (${p.failure}: ${p.detail}). Answer with JSON only: {"action": N} with N an integer from 0 to ${env.numActions - 1}.` });
    }
    this.counters.fallbacks++;
    return this.fallbackAction(i);
  }

  private fallbackAction(i: number): number {
    const m = this.mem[i];
    const k = this.env!.numActions;
    const rng = this.rngs[i];
    const mode = this.kind === 'mdp' ? 'random' : this.settings.fallback;
    if (mode === 'random') return rng.int(k);
    const scores = mode === 'ucb' ? ucbIndices(m, this.settings.fallbackC) : Array.from(m.counts, (n, a) => (n === 0 ? Infinity : m.sums[a] / n));
    let best = -Infinity;
    const ties: number[] = [];
    for (let a = 0; a < k; a++) {
      if (scores[a] > best) {
        best = scores[a];
        ties.length = 0;
        ties.push(a);
      } else if (scores[a] === best) ties.push(a);
    }
    return ties[ties.length === 1 ? 0 : rng.int(ties.length)];
  }

  diagnostics(): LlmAgentDiagnostics {
    const s = this.client.stats?.();
    const invalidTotal = Object.values(this.invalid).reduce((a, b) => a + (b ?? 0), 0) - (this.invalid['circuit-open'] ?? 0);
    return {
      ...this.counters,
      invalid: { ...this.invalid },
      invalidRate: this.counters.attempts ? invalidTotal / this.counters.attempts : 0,
      fallbackRate: this.counters.decisions ? this.counters.fallbacks / this.counters.decisions : 0,
      promptTokens: s?.promptTokens ?? 0,
      completionTokens: s?.completionTokens ?? 0,
      costUsd: s?.costUsd ?? 0,
      cacheHits: s?.cacheHits ?? 0,
      httpRequests: s?.httpRequests ?? 0,
      retried: { ...(s?.retried ?? {}) } as Record<string, number>,
      servedModels: [...this.servedModels],
      model: this.client.model,
    };
  }
}
