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
    /** The wait an HTTP 429/503 answer asked for (Retry-After), in milliseconds. */
    readonly retryAfterMs?: number,
  ) {
    super(message, 'LLM_REQUEST');
  }
  /** The start of the answer body of an HTTP error (to recognise what the endpoint complains about). */
  detail?: string;
}

/** Which request field carries the completion-token limit (newer OpenAI models want `max_completion_tokens`). */
export const MAX_TOKENS_PARAMS = ['auto', 'max_tokens', 'max_completion_tokens'] as const;
export type MaxTokensParam = (typeof MAX_TOKENS_PARAMS)[number];

/**
 * The `llm:` section of a config. No field has a schema default: a field left out is filled by
 * {@link resolveLlmOptions} from a command-line flag, then the environment, then {@link LLM_DEFAULTS}
 * (so a schema default can never hide `ICRL_LLM_TIMEOUT_MS` or a flag).
 */
export const llmConfigSchema = z
  .object({
    /** e.g. http://localhost:8080/v1 (the path up to `/chat/completions`; a bare origin gets `/v1`). */
    baseUrl: z.string().url().optional(),
    model: z.string().min(1).optional(),
    /** The key itself (prefer apiKeyEnv so that keys stay out of config files). */
    apiKey: z.string().optional(),
    /** Name of the environment variable holding the key (default ICRL_LLM_API_KEY, then OPENAI_API_KEY). */
    apiKeyEnv: z.string().optional(),
    /** Limit of one HTTP attempt, from sending the request to the last byte of the answer. */
    timeoutMs: z.number().int().positive().max(3_600_000).optional(),
    maxRetries: z.number().int().min(0).max(20).optional(),
    backoffMs: z.number().positive().max(600_000).optional(),
    maxBackoffMs: z.number().positive().max(600_000).optional(),
    /** Longest wait a `Retry-After` header of an HTTP 429/503 answer is honoured for (longer ones are cut to this). */
    maxRetryAfterMs: z.number().int().min(0).max(3_600_000).optional(),
    /** Largest answer body read, in bytes; a longer answer is aborted and counted as `response-too-large`. */
    maxResponseBytes: z.number().int().min(1024).max(1024 ** 3).optional(),
    concurrency: z.number().int().min(1).max(256).optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.number().int().positive().max(1_000_000).optional(),
    /**
     * Request field of the token limit: `max_tokens`, `max_completion_tokens`, or `auto` (send
     * `max_tokens`; when the endpoint answers HTTP 400 naming `max_completion_tokens`, resend once with
     * the other field and keep it for the client's later requests).
     */
    maxTokensParam: z.enum(MAX_TOKENS_PARAMS).optional(),
    /** Directory of the response cache; omit to disable caching. */
    cacheDir: z.string().optional(),
    /** readwrite: replay hits and store misses; read: replay only; off: no cache. */
    cacheMode: z.enum(['readwrite', 'read', 'off']).optional(),
    /**
     * Also cache requests that failed after all retries (timeout, HTTP 500, ...), so that a rerun
     * replays the failure too and gives exactly the same results; off by default, so that a rerun
     * asks again for what failed (e.g. during an outage).
     */
    cacheFailures: z.boolean().optional(),
    /** Prices in US dollars per million tokens, for cost accounting (0 for a local server). */
    pricePerMillionPrompt: z.number().min(0).optional(),
    pricePerMillionCompletion: z.number().min(0).optional(),
    /** Seed of the backoff jitter stream. */
    seed: z.number().int().min(0).optional(),
  })
  .strict();

export type LlmConfig = z.input<typeof llmConfigSchema>;

/** The value of every setting that neither the config, a flag nor the environment gives. */
export const LLM_DEFAULTS = {
  timeoutMs: 30_000,
  maxRetries: 3,
  backoffMs: 500,
  maxBackoffMs: 8_000,
  maxRetryAfterMs: 60_000,
  maxResponseBytes: 8 * 1024 * 1024,
  concurrency: 4,
  temperature: 0,
  maxTokens: 256,
  maxTokensParam: 'auto' as MaxTokensParam,
  cacheMode: 'readwrite' as 'readwrite' | 'read' | 'off',
  cacheFailures: false,
  pricePerMillionPrompt: 0,
  pricePerMillionCompletion: 0,
  seed: 0,
};

export interface LlmClientOptions {
  baseUrl: string;
  model: string;
  apiKey?: string;
  cacheDir?: string;
  timeoutMs: number;
  maxRetries: number;
  backoffMs: number;
  maxBackoffMs: number;
  maxRetryAfterMs: number;
  maxResponseBytes: number;
  concurrency: number;
  temperature: number;
  maxTokens: number;
  maxTokensParam: MaxTokensParam;
  cacheMode: 'readwrite' | 'read' | 'off';
  cacheFailures: boolean;
  pricePerMillionPrompt: number;
  pricePerMillionCompletion: number;
  seed: number;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Injected for tests; defaults to setTimeout-based sleep. */
  sleep?: (ms: number) => Promise<void>;
}

/** The environment variables read for settings, by field. */
export const LLM_ENV_VARS = { baseUrl: 'ICRL_LLM_BASE_URL', model: 'ICRL_LLM_MODEL', timeoutMs: 'ICRL_LLM_TIMEOUT_MS' } as const;

/**
 * The client settings of a config section. Each field comes from the first of: the config section
 * (`config`, explicit values only), the command-line flags of the command (`flags`), the environment
 * (ICRL_LLM_BASE_URL, ICRL_LLM_MODEL, ICRL_LLM_TIMEOUT_MS; the API key from the variable `apiKeyEnv`
 * names, else ICRL_LLM_API_KEY, else OPENAI_API_KEY), the defaults {@link LLM_DEFAULTS}.
 * Throws a ConfigError naming `source` and the field for a bad value, and when no base URL or model
 * is known.
 */
export function resolveLlmOptions(config: LlmConfig | undefined, env: NodeJS.ProcessEnv = process.env, source = 'llm', flags: LlmConfig = {}): LlmClientOptions {
  const c = validate(config ?? {}, source);
  const f = validate(flags, `${source} (command-line flags)`);
  const fromEnv: LlmConfig = {};
  if (env.ICRL_LLM_BASE_URL) fromEnv.baseUrl = env.ICRL_LLM_BASE_URL;
  if (env.ICRL_LLM_MODEL) fromEnv.model = env.ICRL_LLM_MODEL;
  if (env.ICRL_LLM_TIMEOUT_MS !== undefined && env.ICRL_LLM_TIMEOUT_MS !== '') {
    const t = Number(env.ICRL_LLM_TIMEOUT_MS);
    if (!Number.isInteger(t) || t <= 0 || t > 3_600_000) {
      throw new ConfigError(`ICRL_LLM_TIMEOUT_MS: expected a positive integer of milliseconds (at most 3600000), got ${env.ICRL_LLM_TIMEOUT_MS}`, source, 'timeoutMs');
    }
    fromEnv.timeoutMs = t;
  }
  const pick = <K extends keyof LlmConfig>(k: K): LlmConfig[K] => c[k] ?? f[k] ?? fromEnv[k];
  const baseUrl = pick('baseUrl');
  const model = pick('model');
  if (!baseUrl) throw new ConfigError(`${source}.baseUrl: no LLM endpoint; set it in the config, with --base-url where the command has it, or in ICRL_LLM_BASE_URL`, source, 'baseUrl');
  if (!model) throw new ConfigError(`${source}.model: no model name; set it in the config, with --model where the command has it, or in ICRL_LLM_MODEL`, source, 'model');
  let apiKey = pick('apiKey');
  const apiKeyEnv = pick('apiKeyEnv');
  if (apiKey === undefined) {
    if (apiKeyEnv) {
      apiKey = env[apiKeyEnv];
      if (apiKey === undefined) throw new ConfigError(`${source}.apiKeyEnv: environment variable ${apiKeyEnv} is not set`, source, 'apiKeyEnv');
    } else apiKey = env.ICRL_LLM_API_KEY ?? env.OPENAI_API_KEY;
  }
  const out = { baseUrl, model, apiKey, cacheDir: pick('cacheDir') } as LlmClientOptions;
  for (const k of Object.keys(LLM_DEFAULTS) as (keyof typeof LLM_DEFAULTS)[]) {
    (out as unknown as Record<string, unknown>)[k] = pick(k) ?? LLM_DEFAULTS[k];
  }
  return out;
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
  /** Requests resent with the other token-limit field after an HTTP 400 that named it (`maxTokensParam: auto`). */
  tokenFieldSwitches: number;
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
  return { calls: 0, cacheHits: 0, httpRequests: 0, retries: 0, tokenFieldSwitches: 0, retried: {}, failures: {}, promptTokens: 0, completionTokens: 0, costUsd: 0, liveCostUsd: 0 };
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
  usage?: unknown;
  model?: unknown;
}

/**
 * The wait an HTTP 429/503 answer asks for, in milliseconds, from `retry-after-ms` (OpenAI) or
 * `Retry-After` (seconds or an HTTP date); null when absent or unreadable.
 */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Number(ms);
  const v = headers.get('retry-after');
  if (v === null) return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - now) : null;
}

/** Token counts of a `usage` object: absent counts are 0; a present one must be a non-negative integer. */
export function parseUsage(usage: unknown): ChatUsage | string {
  if (usage === undefined || usage === null) return { promptTokens: 0, completionTokens: 0 };
  if (typeof usage !== 'object' || Array.isArray(usage)) return `usage: expected an object, got ${JSON.stringify(usage)}`;
  const u = usage as Record<string, unknown>;
  const out: ChatUsage = { promptTokens: 0, completionTokens: 0 };
  for (const [wire, key] of [
    ['prompt_tokens', 'promptTokens'],
    ['completion_tokens', 'completionTokens'],
  ] as const) {
    const v = u[wire];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return `usage.${wire}: expected a non-negative integer, got ${JSON.stringify(v)}`;
    out[key] = v;
  }
  return out;
}

/** A 400 answer that names the token-limit field: the endpoint wants the other one. */
function namesTokenField(text: string): boolean {
  return text.includes('max_completion_tokens');
}

type SendResult = { content: string; model: string; usage: ChatUsage };

export class LlmClient {
  readonly options: LlmClientOptions;
  readonly url: string;
  private readonly cache: ResponseCache | null;
  private readonly semaphore: Semaphore;
  private readonly jitter: Rng;
  private readonly occurrences = new Map<string, number>();
  private stats_: LlmClientStats = emptyStats();
  /** The token-limit field sent now (`auto` starts with max_tokens and may switch once an endpoint asks). */
  private tokensField: 'max_tokens' | 'max_completion_tokens';
  /** Largest number of requests in flight at once (for tests of the concurrency limit). */
  peakInFlight = 0;
  private inFlight = 0;

  constructor(options: LlmClientOptions) {
    this.options = options;
    this.url = chatCompletionsUrl(options.baseUrl);
    this.cache = options.cacheDir && options.cacheMode !== 'off' ? new ResponseCache(options.cacheDir) : null;
    this.semaphore = new Semaphore(options.concurrency);
    this.jitter = new Rng(options.seed).split('llm-backoff');
    this.tokensField = options.maxTokensParam === 'max_completion_tokens' ? 'max_completion_tokens' : 'max_tokens';
  }

  /** A client from a config section, the command's flags and the environment (see {@link resolveLlmOptions}). */
  static fromConfig(config: LlmConfig | undefined, env: NodeJS.ProcessEnv = process.env, source = 'llm', flags: LlmConfig = {}): LlmClient {
    return new LlmClient(resolveLlmOptions(config, env, source, flags));
  }

  get model(): string {
    return this.options.model;
  }

  /** The field the token limit is sent in now. */
  get maxTokensField(): 'max_tokens' | 'max_completion_tokens' {
    return this.tokensField;
  }

  stats(): LlmClientStats {
    return { ...this.stats_, failures: { ...this.stats_.failures }, retried: { ...this.stats_.retried } };
  }

  resetStats(): void {
    this.stats_ = emptyStats();
  }

  /**
   * The request for `req` as the cache key is computed from it (always with `max_tokens`, so that the
   * key does not depend on which field an endpoint wants; {@link wireBody} renames it when sending).
   */
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

  /** The body sent over HTTP: {@link body} with the token limit in `field`. */
  wireBody(body: Record<string, unknown>, field: 'max_tokens' | 'max_completion_tokens' = this.tokensField): Record<string, unknown> {
    if (field === 'max_tokens') return body;
    const { max_tokens, ...rest } = body;
    return { ...rest, max_completion_tokens: max_tokens };
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

  private async sendWithRetries(body: Record<string, unknown>): Promise<SendResult & { attempts: number }> {
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let last: LlmRequestError | null = null;
    let switched = false;
    let attempts = 0;
    for (let attempt = 0; attempt <= this.options.maxRetries; attempt++) {
      if (attempt > 0) {
        this.stats_.retries++;
        // the server's Retry-After (HTTP 429/503), cut to maxRetryAfterMs, when longer than our backoff
        const asked = last?.retryAfterMs;
        const wait = Math.max(this.backoff(attempt - 1), asked === undefined ? 0 : Math.min(asked, this.options.maxRetryAfterMs));
        await sleep(wait);
      }
      try {
        attempts++;
        let r: SendResult;
        const sent = this.tokensField;
        try {
          r = await this.sendOnce(this.wireBody(body, sent));
        } catch (e) {
          // auto: an endpoint whose HTTP 400 names the other token-limit field gets the request once more
          // with that field (not counted as a retry), and keeps it for this client's later requests
          if (!(e instanceof LlmRequestError) || switched || e.status !== 400 || this.options.maxTokensParam !== 'auto' || !namesTokenField(e.detail ?? e.message)) throw e;
          switched = true;
          const other = sent === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens';
          this.tokensField = other; // requests in flight at the same time agree on it
          this.stats_.tokenFieldSwitches++;
          attempts++;
          r = await this.sendOnce(this.wireBody(body, other));
        }
        return { ...r, attempts };
      } catch (e) {
        if (!(e instanceof LlmRequestError)) throw e;
        last = new LlmRequestError(e.message, e.reason, e.status, attempts, e.retryAfterMs);
        const retryable = e.reason !== 'http-4xx' && e.reason !== 'response-too-large';
        if (!retryable) break;
        if (attempt < this.options.maxRetries) this.stats_.retried[e.reason] = (this.stats_.retried[e.reason] ?? 0) + 1;
      }
    }
    const err = last ?? new LlmRequestError('LLM request failed', 'network');
    this.fail(err.reason);
    throw err;
  }

  /**
   * One HTTP attempt. The timeout covers the whole attempt, from sending to the last byte of the
   * body, and the body is read as a stream of at most `maxResponseBytes` bytes (a longer answer, or a
   * `content-length` above the limit, is aborted as `response-too-large`).
   */
  private async sendOnce(body: Record<string, unknown>): Promise<SendResult> {
    const doFetch = this.options.fetch ?? fetch;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    this.stats_.httpRequests++;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const limit = this.options.maxResponseBytes;
    let text: string;
    let status: number;
    let resHeaders: Headers;
    try {
      const res = await doFetch(this.url, { method: 'POST', headers, body: JSON.stringify(body), signal: controller.signal });
      status = res.status;
      resHeaders = res.headers;
      const declared = Number(res.headers.get('content-length') ?? NaN);
      if (declared > limit) {
        controller.abort();
        throw new LlmRequestError(`${this.url}: answer of ${declared} bytes (content-length) is above maxResponseBytes ${limit}`, 'response-too-large', status);
      }
      text = await readLimited(res, limit, this.url, status);
    } catch (e) {
      if (e instanceof LlmRequestError) throw e;
      if (controller.signal.aborted) throw new LlmRequestError(`${this.url}: no complete answer within ${this.options.timeoutMs} ms`, 'timeout');
      const c = (e as { cause?: { code?: string; message?: string } }).cause;
      const cause = c?.code ?? c?.message;
      throw new LlmRequestError(`${this.url}: ${(e as Error).message}${cause ? ` (${cause})` : ''}`, 'network');
    } finally {
      clearTimeout(timer);
    }
    if (status < 200 || status >= 300) {
      const reason: LlmFailureReason = status === 429 ? 'http-429' : status >= 500 ? 'http-5xx' : 'http-4xx';
      const wait = status === 429 || status === 503 ? retryAfterMs(resHeaders) : null;
      const err = new LlmRequestError(`${this.url}: HTTP ${status}: ${text.slice(0, 200)}`, reason, status, 1, wait ?? undefined);
      err.detail = text.slice(0, 4000);
      throw err;
    }
    let wire: WireResponse;
    try {
      wire = JSON.parse(text) as WireResponse;
    } catch {
      throw new LlmRequestError(`${this.url}: response body is not JSON: ${text.slice(0, 120)}`, 'bad-response', status);
    }
    const content = wire?.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw new LlmRequestError(`${this.url}: response has no choices[0].message.content`, 'bad-response', status);
    const usage = parseUsage(wire.usage);
    if (typeof usage === 'string') throw new LlmRequestError(`${this.url}: bad token counts in the answer: ${usage}`, 'bad-response', status);
    return { content, model: typeof wire.model === 'string' ? wire.model : this.options.model, usage };
  }
}

/** Reads a response body of at most `limit` bytes, cancelling the stream past it. */
async function readLimited(res: Response, limit: number, url: string, status: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new LlmRequestError(`${url}: answer longer than maxResponseBytes ${limit} bytes; reading stopped`, 'response-too-large', status);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
