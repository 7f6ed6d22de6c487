/**
 * A small client for OpenAI-compatible chat endpoints (`POST {baseUrl}/chat/completions`): OpenAI,
 * a local llama.cpp server, vLLM or Ollama all answer the same request. It adds what a long
 * experiment needs: a timeout per request, retries with exponential backoff (jitter from the seeded
 * Rng), a limit on concurrent requests, token and cost accounting from `usage`, and an on-disk
 * response cache keyed by a hash of the request so that a rerun replays exactly.
 */
import { z } from 'zod';
import { IcrlError, ConfigError } from '../errors.js';
import { Rng } from '../rng.js';
import { ResponseCache, requestHash, type CachedResponse } from './cache.js';
import type { ChatUsage, LlmFailureReason } from './types.js';

export type { ChatUsage, LlmFailureReason } from './types.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  /** Ask for a JSON object (`response_format: {type: "json_object"}`); not every server honours it. */
  json?: boolean;
  /** Sampling seed passed to servers that accept one. */
  seed?: number;
  /**
   * Not sent: separates the cache keys of callers that may send identical requests concurrently (the
   * LLM agent tags each task's requests), so that each caller's repeats are numbered in its own order.
   */
  cacheTag?: string;
}

/** The part of a client that callers need (an LlmClient, or anything that answers the same way). */
export interface ChatClientLike {
  readonly model: string;
  chat(req: ChatRequest): Promise<ChatResult>;
}


export interface ChatResult {
  content: string;
  model: string;
  usage: ChatUsage;
  /** True when the answer was replayed from the response cache. */
  cached: boolean;
  /** HTTP attempts made (0 for a cache hit). */
  attempts: number;
  /** The request hash that keys the cache entry. */
  key: string;
}


export class LlmRequestError extends IcrlError {
  constructor(
    message: string,
    readonly reason: LlmFailureReason,
    readonly status?: number,
    readonly attempts = 1,
  ) {
    super(message, 'LLM_REQUEST');
  }
}

/** The `llm:` section of a config. Every field may also come from the environment (see {@link resolveLlmOptions}). */
export const llmConfigSchema = z
  .object({
    /** e.g. http://localhost:8080/v1 (the path up to `/chat/completions`; a bare origin gets `/v1`). */
    baseUrl: z.string().url().optional(),
    model: z.string().min(1).optional(),
    /** The key itself (prefer apiKeyEnv so that keys stay out of config files). */
    apiKey: z.string().optional(),
    /** Name of the environment variable holding the key (default ICRL_LLM_API_KEY, then OPENAI_API_KEY). */
    apiKeyEnv: z.string().optional(),
    timeoutMs: z.number().int().positive().default(30_000),
    maxRetries: z.number().int().min(0).max(20).default(3),
    backoffMs: z.number().positive().default(500),
    maxBackoffMs: z.number().positive().default(8_000),
    concurrency: z.number().int().min(1).max(256).default(4),
    temperature: z.number().min(0).max(2).default(0),
    maxTokens: z.number().int().positive().default(256),
    /** Directory of the response cache; omit to disable caching. */
    cacheDir: z.string().optional(),
    /** readwrite: replay hits and store misses; read: replay only; off: no cache. */
    cacheMode: z.enum(['readwrite', 'read', 'off']).default('readwrite'),
    /**
     * Also cache requests that failed after all retries (timeout, HTTP 500, ...), so that a rerun
     * replays the failure too and gives exactly the same results; off by default, so that a rerun
     * asks again for what failed (e.g. during an outage).
     */
    cacheFailures: z.boolean().default(false),
    /** Prices in US dollars per million tokens, for cost accounting (0 for a local server). */
    pricePerMillionPrompt: z.number().min(0).default(0),
    pricePerMillionCompletion: z.number().min(0).default(0),
    /** Seed of the backoff jitter stream. */
    seed: z.number().int().min(0).default(0),
  })
  .strict();

export type LlmConfig = z.input<typeof llmConfigSchema>;

export interface LlmClientOptions extends Required<Omit<z.output<typeof llmConfigSchema>, 'apiKey' | 'apiKeyEnv' | 'cacheDir' | 'baseUrl' | 'model'>> {
  baseUrl: string;
  model: string;
  apiKey?: string;
  cacheDir?: string;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Injected for tests; defaults to setTimeout-based sleep. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Merges a config section with the environment: ICRL_LLM_BASE_URL, ICRL_LLM_MODEL, ICRL_LLM_TIMEOUT_MS
 * and the API key variable (apiKeyEnv, else ICRL_LLM_API_KEY, else OPENAI_API_KEY). Values in the config win over the
 * environment, except that an explicit ICRL_LLM_BASE_URL/ICRL_LLM_MODEL fills what the config leaves out.
 * Throws a ConfigError naming `source` when no base URL or model is known.
 */
export function resolveLlmOptions(config: LlmConfig | undefined, env: NodeJS.ProcessEnv = process.env, source = 'llm'): LlmClientOptions {
  const c = validate(config ?? {}, source);
  if (config?.timeoutMs === undefined && env.ICRL_LLM_TIMEOUT_MS !== undefined) {
    const t = Number(env.ICRL_LLM_TIMEOUT_MS);
    if (!Number.isInteger(t) || t <= 0) throw new ConfigError(`ICRL_LLM_TIMEOUT_MS: expected a positive integer of milliseconds, got ${env.ICRL_LLM_TIMEOUT_MS}`, source, 'timeoutMs');
    c.timeoutMs = t;
  }
  const baseUrl = c.baseUrl ?? env.ICRL_LLM_BASE_URL;
  const model = c.model ?? env.ICRL_LLM_MODEL;
  if (!baseUrl) throw new ConfigError(`${source}.baseUrl: no LLM endpoint; set it in the config or in ICRL_LLM_BASE_URL`, source, 'baseUrl');
  if (!model) throw new ConfigError(`${source}.model: no model name; set it in the config or in ICRL_LLM_MODEL`, source, 'model');
  let apiKey = c.apiKey;
  if (apiKey === undefined) {
    if (c.apiKeyEnv) {
      apiKey = env[c.apiKeyEnv];
      if (apiKey === undefined) throw new ConfigError(`${source}.apiKeyEnv: environment variable ${c.apiKeyEnv} is not set`, source, 'apiKeyEnv');
    } else apiKey = env.ICRL_LLM_API_KEY ?? env.OPENAI_API_KEY;
  }
  const { apiKeyEnv: _e, apiKey: _k, ...rest } = c;
  return { ...rest, baseUrl, model, apiKey, cacheDir: c.cacheDir };
}

function validate(config: LlmConfig, source: string): z.output<typeof llmConfigSchema> {
  const r = llmConfigSchema.safeParse(config);
  if (r.success) return r.data;
  const first = r.error.issues[0];
  const field = first.path.join('.');
  throw new ConfigError(`${source}.${field}: ${first.message}`, source, field);
}

/** URL of the chat completions route for a base URL (`.../v1` or a bare origin). */
export function chatCompletionsUrl(baseUrl: string): string {
  const u = new URL(baseUrl);
  let path = u.pathname.replace(/\/+$/, '');
  if (path.endsWith('/chat/completions')) return u.toString();
  if (path === '') path = '/v1';
  u.pathname = `${path}/chat/completions`;
  return u.toString();
}

/** Counters of a client since it was created (or since `resetStats`). */
export interface LlmClientStats {
  /** Chat calls made by callers. */
  calls: number;
  /** Calls answered from the cache. */
  cacheHits: number;
  /** HTTP requests sent (including retries). */
  httpRequests: number;
  /** Attempts that failed and were retried. */
  retries: number;
  /** Retried attempts by the reason they failed (the request may still have succeeded later). */
  retried: Partial<Record<LlmFailureReason, number>>;
  /** Calls that failed after all retries, by reason. */
  failures: Partial<Record<LlmFailureReason, number>>;
  /** Tokens reported by the server's `usage` (cached answers count with their recorded usage, so a replay reports the same figures). */
  promptTokens: number;
  completionTokens: number;
  /** Cost in US dollars of all answers at the configured prices. */
  costUsd: number;
  /** Cost of the answers actually fetched over HTTP in this process. */
  liveCostUsd: number;
}

function emptyStats(): LlmClientStats {
  return { calls: 0, cacheHits: 0, httpRequests: 0, retries: 0, retried: {}, failures: {}, promptTokens: 0, completionTokens: 0, costUsd: 0, liveCostUsd: 0 };
}

/** Counting semaphore: at most `limit` holders at once, served in arrival order. */
class Semaphore {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }
  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.active--;
  }
}

interface WireResponse {
  choices?: { message?: { content?: unknown } }[];
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
  model?: unknown;
}

export class LlmClient {
  readonly options: LlmClientOptions;
  readonly url: string;
  private readonly cache: ResponseCache | null;
  private readonly semaphore: Semaphore;
  private readonly jitter: Rng;
  private readonly occurrences = new Map<string, number>();
  private stats_: LlmClientStats = emptyStats();
  /** Largest number of requests in flight at once (for tests of the concurrency limit). */
  peakInFlight = 0;
  private inFlight = 0;

  constructor(options: LlmClientOptions) {
    this.options = options;
    this.url = chatCompletionsUrl(options.baseUrl);
    this.cache = options.cacheDir && options.cacheMode !== 'off' ? new ResponseCache(options.cacheDir) : null;
    this.semaphore = new Semaphore(options.concurrency);
    this.jitter = new Rng(options.seed).split('llm-backoff');
  }

  /** A client from a config section and the environment. */
  static fromConfig(config: LlmConfig | undefined, env: NodeJS.ProcessEnv = process.env, source = 'llm'): LlmClient {
    return new LlmClient(resolveLlmOptions(config, env, source));
  }

  get model(): string {
    return this.options.model;
  }

  stats(): LlmClientStats {
    return { ...this.stats_, failures: { ...this.stats_.failures }, retried: { ...this.stats_.retried } };
  }

  resetStats(): void {
    this.stats_ = emptyStats();
  }

  /** The body sent for `req` (also what the cache key is computed from, minus nothing secret). */
  body(req: ChatRequest): Record<string, unknown> {
    const b: Record<string, unknown> = {
      model: this.options.model,
      messages: req.messages,
      temperature: req.temperature ?? this.options.temperature,
      max_tokens: req.maxTokens ?? this.options.maxTokens,
    };
    if (req.json) b.response_format = { type: 'json_object' };
    if (req.seed !== undefined) b.seed = req.seed;
    return b;
  }

  /**
   * Sends one chat request (or replays it from the cache). The cache key is the hash of the request
   * body plus the number of identical requests this client made before, so that repeated identical
   * prompts (e.g. the empty history at step 0 on many tasks) each keep their own sampled answer.
   * Throws {@link LlmRequestError} once retries are exhausted.
   */
  async chat(req: ChatRequest): Promise<ChatResult> {
    const body = this.body(req);
    const base = req.cacheTag === undefined ? requestHash(body) : requestHash({ body, tag: req.cacheTag });
    const n = this.occurrences.get(base) ?? 0;
    this.occurrences.set(base, n + 1);
    const key = n === 0 ? base : `${base}-${n}`;
    this.stats_.calls++;
    if (this.cache) {
      const hit = this.cache.get(key);
      if (hit?.failure) {
        this.stats_.cacheHits++;
        const err = new LlmRequestError(`${hit.failure.message} (replayed from the cache)`, hit.failure.reason, hit.failure.status, 0);
        this.fail(err.reason);
        throw err;
      }
      if (hit) {
        this.stats_.cacheHits++;
        this.account(hit.usage, false);
        return { content: hit.content, model: hit.model, usage: hit.usage, cached: true, attempts: 0, key };
      }
      if (this.options.cacheMode === 'read') {
        const err = new LlmRequestError(`LLM cache miss for request ${key} in read-only cache ${this.options.cacheDir}`, 'network', undefined, 0);
        this.fail(err.reason);
        throw err;
      }
    }
    await this.semaphore.acquire();
    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    try {
      let result: Awaited<ReturnType<LlmClient['sendWithRetries']>>;
      try {
        result = await this.sendWithRetries(body);
      } catch (e) {
        if (this.cache && this.options.cacheFailures && e instanceof LlmRequestError) {
          const failure = { reason: e.reason, message: e.message, ...(e.status !== undefined ? { status: e.status } : {}) };
          this.cache.put(key, { content: '', model: this.options.model, usage: { promptTokens: 0, completionTokens: 0 }, request: body, time: new Date().toISOString(), failure });
        }
        throw e;
      }
      this.account(result.usage, true);
      if (this.cache) {
        const entry: CachedResponse = { content: result.content, model: result.model, usage: result.usage, request: body, time: new Date().toISOString() };
        this.cache.put(key, entry);
      }
      return { ...result, cached: false, key };
    } finally {
      this.inFlight--;
      this.semaphore.release();
    }
  }

  private account(usage: ChatUsage, live: boolean): void {
    this.stats_.promptTokens += usage.promptTokens;
    this.stats_.completionTokens += usage.completionTokens;
    const cost = (usage.promptTokens * this.options.pricePerMillionPrompt + usage.completionTokens * this.options.pricePerMillionCompletion) / 1e6;
    this.stats_.costUsd += cost;
    if (live) this.stats_.liveCostUsd += cost;
  }

  private fail(reason: LlmFailureReason): void {
    this.stats_.failures[reason] = (this.stats_.failures[reason] ?? 0) + 1;
  }

  private backoff(attempt: number): number {
    const exp = Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** attempt);
    // "equal jitter": half fixed, half random, so retries of many callers spread out
    return exp / 2 + (exp / 2) * this.jitter.uniform();
  }

  private async sendWithRetries(body: Record<string, unknown>): Promise<{ content: string; model: string; usage: ChatUsage; attempts: number }> {
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let last: LlmRequestError | null = null;
    for (let attempt = 0; attempt <= this.options.maxRetries; attempt++) {
      if (attempt > 0) {
        this.stats_.retries++;
        await sleep(this.backoff(attempt - 1));
      }
      try {
        const r = await this.sendOnce(body);
        return { ...r, attempts: attempt + 1 };
      } catch (e) {
        if (!(e instanceof LlmRequestError)) throw e;
        last = new LlmRequestError(e.message, e.reason, e.status, attempt + 1);
        const retryable = e.reason !== 'http-4xx';
        if (!retryable) break;
        if (attempt < this.options.maxRetries) this.stats_.retried[e.reason] = (this.stats_.retried[e.reason] ?? 0) + 1;
      }
    }
    const err = last ?? new LlmRequestError('LLM request failed', 'network');
    this.fail(err.reason);
    throw err;
  }

  private async sendOnce(body: Record<string, unknown>): Promise<{ content: string; model: string; usage: ChatUsage }> {
    const doFetch = this.options.fetch ?? fetch;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    this.stats_.httpRequests++;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    let text: string;
    let status: number;
    try {
      const res = await doFetch(this.url, { method: 'POST', headers, body: JSON.stringify(body), signal: controller.signal });
      status = res.status;
      text = await res.text();
    } catch (e) {
      if (controller.signal.aborted) throw new LlmRequestError(`${this.url}: no answer within ${this.options.timeoutMs} ms`, 'timeout');
      const c = (e as { cause?: { code?: string; message?: string } }).cause;
      const cause = c?.code ?? c?.message;
      throw new LlmRequestError(`${this.url}: ${(e as Error).message}${cause ? ` (${cause})` : ''}`, 'network');
    } finally {
      clearTimeout(timer);
    }
    if (status < 200 || status >= 300) {
      const reason: LlmFailureReason = status === 429 ? 'http-429' : status >= 500 ? 'http-5xx' : 'http-4xx';
      throw new LlmRequestError(`${this.url}: HTTP ${status}: ${text.slice(0, 200)}`, reason, status);
    }
    let wire: WireResponse;
    try {
      wire = JSON.parse(text) as WireResponse;
    } catch {
      throw new LlmRequestError(`${this.url}: response body is not JSON: ${text.slice(0, 120)}`, 'bad-response', status);
    }
    const content = wire.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw new LlmRequestError(`${this.url}: response has no choices[0].message.content`, 'bad-response', status);
    const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
    return {
      content,
      model: typeof wire.model === 'string' ? wire.model : this.options.model,
      usage: { promptTokens: num(wire.usage?.prompt_tokens), completionTokens: num(wire.usage?.completion_tokens) },
    };
  }
}
