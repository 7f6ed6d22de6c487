// The LLM client's limits: where each setting comes from (config > flag > environment > default),
// timeouts that cover the whole answer, a bounded streamed read of the body, validated token counts,
// Retry-After on HTTP 429/503, and the max_tokens / max_completion_tokens switch.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlmClient, LLM_DEFAULTS, resolveLlmOptions, retryAfterMs, parseUsage, ResponseCache, startFakeOpenAI, type LlmConfig } from '../src/core/llm/index.js';
import { ConfigError } from '../src/core/errors.js';
import { LlmAgent, llmAgentSpecSchema } from '../src/eval/llm/agent.js';
import { scriptedPolicyResponder } from '../src/eval/llm/scriptedPolicy.js';
import { getFamily } from '../src/envs/index.js';
import { evaluateOnline } from '../src/eval/evaluator.js';
import { Rng } from '../src/core/rng.js';
import { replies, startScripted, type FakeServer, type Script } from './helpers/fakeOpenAI.js';

const servers: FakeServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

async function serve(script: Script): Promise<FakeServer> {
  const s = await startScripted(script);
  servers.push(s);
  return s;
}

/** A client on `server` whose sleeps are recorded (and not waited). */
function client(server: FakeServer, cfg: Partial<LlmConfig> = {}) {
  const slept: number[] = [];
  const c = new LlmClient({
    ...resolveLlmOptions({ baseUrl: server.url, model: 'test-model', backoffMs: 1, maxBackoffMs: 2, timeoutMs: 2000, ...cfg }, {}),
    sleep: async (ms: number) => {
      slept.push(ms);
    },
  });
  return { c, slept };
}

const msg = (content: string) => ({ messages: [{ role: 'user' as const, content }] });

describe('LLM client settings: config > flag > environment > default', () => {
  const env = { ICRL_LLM_BASE_URL: 'http://env:1/v1', ICRL_LLM_MODEL: 'env-model', ICRL_LLM_TIMEOUT_MS: '300' };

  it('takes each field from the first layer that gives it', () => {
    expect(resolveLlmOptions(undefined, env).timeoutMs).toBe(300);
    expect(resolveLlmOptions({}, {}, 'llm', { baseUrl: 'http://flag', model: 'm' }).timeoutMs).toBe(LLM_DEFAULTS.timeoutMs);
    expect(resolveLlmOptions(undefined, env, 'llm', { timeoutMs: 200 }).timeoutMs).toBe(200);
    expect(resolveLlmOptions({ timeoutMs: 100 }, env, 'llm', { timeoutMs: 200 }).timeoutMs).toBe(100);
    const o = resolveLlmOptions({ model: 'cfg-model' }, env, 'llm', { model: 'flag-model', baseUrl: 'http://flag:2/v1' });
    expect([o.baseUrl, o.model]).toEqual(['http://flag:2/v1', 'cfg-model']);
    expect(resolveLlmOptions(undefined, env).maxResponseBytes).toBe(LLM_DEFAULTS.maxResponseBytes);
  });

  it('fills no default in the agent schema, so the environment still reaches an eval agent', () => {
    const spec = llmAgentSpecSchema.parse({ type: 'llm' });
    expect(spec.llm).toEqual({});
    expect(Object.keys(llmAgentSpecSchema.parse({ llm: { concurrency: 2 } }).llm)).toEqual(['concurrency']);
  });

  it('names a bad environment value, a bad flag and a bad config field', () => {
    expect(() => resolveLlmOptions(undefined, { ...env, ICRL_LLM_TIMEOUT_MS: '0.5' })).toThrow(/ICRL_LLM_TIMEOUT_MS: expected a positive integer/);
    expect(() => resolveLlmOptions(undefined, env, 'icrl llm ask', { maxTokensParam: 'max_tokenz' as never })).toThrow(/icrl llm ask \(command-line flags\)\.maxTokensParam/);
    expect(() => resolveLlmOptions({ maxResponseBytes: 10 }, env, 'cfg.yaml: llm')).toThrow(ConfigError);
    expect(() => resolveLlmOptions({ timeoutMs: 1e12 }, env, 'cfg.yaml: llm')).toThrow(/cfg.yaml: llm.timeoutMs/);
  });

  it('an eval agent built from a spec without timeoutMs times out after ICRL_LLM_TIMEOUT_MS and finishes its evaluation', async () => {
    const server = await serve([replies.hang()]);
    const agent = new LlmAgent(
      { llm: { maxRetries: 0 }, maxAttempts: 1, maxConsecutiveFailures: 0 },
      { env: { ICRL_LLM_BASE_URL: server.url, ICRL_LLM_MODEL: 'm', ICRL_LLM_TIMEOUT_MS: '150' }, warn: () => {} },
    );
    const env2 = getFamily('bandit').make(2, { arms: 3, noiseSd: 0 }, new Rng(1));
    const tasks = env2.taskSpace.sampleMany(new Rng(1).split('tasks'), 2);
    const t0 = Date.now();
    await evaluateOnline(agent, env2, tasks, { steps: 3, seed: 3, progress: false });
    // 6 decisions, two at a time, one 150 ms attempt each; with the 30 s default this takes 90 s
    expect(Date.now() - t0).toBeLessThan(15_000);
    const d = agent.diagnostics();
    expect(d.invalid.timeout).toBe(6);
    expect(d.fallbacks).toBe(6);
  });
});

describe('LLM client limits', () => {
  it('times out an answer whose body never ends (the timeout covers the whole answer)', async () => {
    const server = await serve([{ stream: { chunkBytes: 16, intervalMs: 40 } }]);
    const { c } = client(server, { timeoutMs: 200, maxRetries: 0 });
    await expect(c.chat(msg('x'))).rejects.toMatchObject({ reason: 'timeout', message: expect.stringMatching(/no complete answer within 200 ms/) });
  });

  it('stops reading an endless chunked answer past maxResponseBytes and counts it, without retrying', async () => {
    const server = await serve([{ stream: { chunkBytes: 65_536 } }]);
    const { c } = client(server, { maxResponseBytes: 256 * 1024, maxRetries: 3 });
    await expect(c.chat(msg('x'))).rejects.toMatchObject({ reason: 'response-too-large', message: expect.stringMatching(/maxResponseBytes 262144/) });
    expect(server.requests.length).toBe(1);
    expect(c.stats().failures).toEqual({ 'response-too-large': 1 });
  });

  it('refuses a declared content-length above the limit, and reads a large answer within it', async () => {
    const server = await serve([{ stream: { chunkBytes: 100_000, chunks: 30, contentLength: true } }, replies.ok('y'.repeat(300_000))]);
    const { c } = client(server, { maxResponseBytes: 1024 * 1024, maxRetries: 0 });
    await expect(c.chat(msg('a'))).rejects.toMatchObject({ reason: 'response-too-large', message: expect.stringMatching(/3000000 bytes \(content-length\)/) });
    expect((await c.chat(msg('b'))).content.length).toBe(300_000);
    const { c: small } = client(server, { maxResponseBytes: 100 * 1024, maxRetries: 0 });
    await expect(small.chat(msg('c'))).rejects.toMatchObject({ reason: 'response-too-large' });
  });

  it('validates the token counts of an answer', async () => {
    expect(parseUsage(undefined)).toEqual({ promptTokens: 0, completionTokens: 0 });
    expect(parseUsage({ prompt_tokens: 3 })).toEqual({ promptTokens: 3, completionTokens: 0 });
    for (const bad of [-5, 1.5, '7', 1e300]) expect(parseUsage({ prompt_tokens: 1, completion_tokens: bad })).toMatch(/usage.completion_tokens: expected a non-negative integer/);
    expect(parseUsage([1])).toMatch(/usage: expected an object/);
    const server = await serve([{ content: 'ok', usage: { prompt_tokens: -5, completion_tokens: 2 } }, { content: 'fine', usage: { prompt_tokens: 5, completion_tokens: 2 } }]);
    const { c } = client(server, { maxRetries: 1 });
    const r = await c.chat(msg('x'));
    expect(r.content).toBe('fine');
    expect(c.stats().retried).toEqual({ 'bad-response': 1 });
    expect(c.stats().promptTokens).toBe(5);
    const { c: c0 } = client(await serve([{ content: 'ok', usage: { prompt_tokens: -5, completion_tokens: 2 } }]), { maxRetries: 0 });
    await expect(c0.chat(msg('x'))).rejects.toMatchObject({ reason: 'bad-response', message: expect.stringMatching(/usage.prompt_tokens: expected a non-negative integer, got -5/) });
  });

  it('treats a cache entry with bad token counts as a miss', () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-llm-limits-'));
    dirs.push(dir);
    const cache = new ResponseCache(dir);
    cache.put('ab12', { content: 'x', model: 'm', usage: { promptTokens: 1, completionTokens: 2 }, request: {}, time: '' });
    expect(cache.get('ab12')?.content).toBe('x');
    const p = cache.path('ab12');
    writeFileSync(p, readFileSync(p, 'utf8').replace('"promptTokens":1', '"promptTokens":-5'));
    expect(cache.get('ab12')).toBeNull();
  });

  it('honours Retry-After on HTTP 429 and 503 up to maxRetryAfterMs', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '2' }), now)).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeNull();
    const server = await serve([
      { status: 429, headers: { 'retry-after': '2' } },
      { status: 503, headers: { 'retry-after': '3600' } },
      { status: 500, headers: { 'retry-after': '7' } },
      replies.ok('done'),
    ]);
    const { c, slept } = client(server, { maxRetries: 3, maxRetryAfterMs: 5000 });
    expect((await c.chat(msg('x'))).content).toBe('done');
    expect(slept[0]).toBe(2000);
    expect(slept[1]).toBe(5000); // 3600 s asked, cut to the cap
    expect(slept[2]).toBeLessThan(10); // HTTP 500: our own backoff only
    expect(c.stats().retried).toEqual({ 'http-429': 1, 'http-5xx': 2 });
  });

  it('resends once with max_completion_tokens when the endpoint asks for it (auto), and keeps it', async () => {
    const wantsNew = (req: { body: Record<string, unknown> | null }) =>
      req.body && 'max_tokens' in req.body
        ? {
            status: 400,
            body: JSON.stringify({
              error: { message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", type: 'invalid_request_error', param: 'max_tokens', code: 'unsupported_parameter' },
            }),
          }
        : replies.ok(`limit ${String(req.body?.max_completion_tokens)}`);
    const server = await serve(wantsNew);
    const { c } = client(server, { maxTokens: 33 });
    const r = await c.chat(msg('x'));
    expect(r.content).toBe('limit 33');
    expect(r.attempts).toBe(2);
    expect(c.stats()).toMatchObject({ tokenFieldSwitches: 1, retries: 0, httpRequests: 2 });
    expect(c.maxTokensField).toBe('max_completion_tokens');
    await c.chat(msg('y'));
    expect(server.requests.length).toBe(3);
    expect(server.requests[2].body).not.toHaveProperty('max_tokens');
    // concurrent requests that all meet the 400 agree on the field
    const { c: c2 } = client(server, { maxTokens: 5 });
    const all = await Promise.all(Array.from({ length: 4 }, (_, i) => c2.chat(msg(`q${i}`))));
    expect(all.map((a) => a.content)).toEqual(new Array(4).fill('limit 5'));
    expect(c2.maxTokensField).toBe('max_completion_tokens');
    // fixed field: no switch
    const { c: fixed } = client(server, { maxTokensParam: 'max_tokens', maxTokens: 7 });
    await expect(fixed.chat(msg('z'))).rejects.toMatchObject({ reason: 'http-4xx', status: 400 });
    const { c: direct } = client(server, { maxTokensParam: 'max_completion_tokens', maxTokens: 7 });
    const before = server.requests.length;
    expect((await direct.chat(msg('w'))).content).toBe('limit 7');
    expect(server.requests.length - before).toBe(1);
    // the cache key does not depend on the field sent
    expect(direct.body(msg('w'))).toEqual(fixed.body(msg('w')));
  });

  it('switches back to max_tokens for an endpoint that does not know max_completion_tokens', async () => {
    // the first answer asks for max_completion_tokens; from then on the endpoint refuses it
    const server = await serve((req) => {
      if (req.index === 0) return { status: 400, body: '{"error":{"message":"Use max_completion_tokens instead."}}' };
      if (req.body && 'max_completion_tokens' in req.body) return { status: 400, body: '{"error":{"message":"Unrecognized request argument supplied: max_completion_tokens"}}' };
      return replies.ok(`old ${String(req.body?.max_tokens)}`);
    });
    const { c } = client(server, { maxRetries: 0 });
    // one switch per request: the resend with max_completion_tokens fails
    await expect(c.chat(msg('x'))).rejects.toMatchObject({ reason: 'http-4xx' });
    expect(c.maxTokensField).toBe('max_completion_tokens');
    expect((await c.chat(msg('y'))).content).toBe(`old ${LLM_DEFAULTS.maxTokens}`);
    expect(c.maxTokensField).toBe('max_tokens');
    expect(c.stats().tokenFieldSwitches).toBe(2);
  });
});

describe('the scripted endpoint injects the new faults', () => {
  it('HTTP 429 with Retry-After, endless bodies and bad token counts are counted by the agent, and the run finishes', async () => {
    const server = await startFakeOpenAI(scriptedPolicyResponder({ seed: 4, retryAfterS: 0, faults: { http429: 0.2, endlessBody: 0.15, badUsage: 0.15 } }));
    servers.push(server);
    const agent = new LlmAgent({ llm: { baseUrl: server.url, model: 'm', maxRetries: 1, backoffMs: 1, maxResponseBytes: 128 * 1024, timeoutMs: 20_000 }, maxAttempts: 1 }, { warn: () => {} });
    const env = getFamily('bandit').make(4, { arms: 3, noiseSd: 0 }, new Rng(2));
    await evaluateOnline(agent, env, env.taskSpace.sampleMany(new Rng(2).split('tasks'), 4), { steps: 10, seed: 1, progress: false });
    const d = agent.diagnostics();
    expect(d.decisions).toBe(40);
    expect(d.invalid['response-too-large']).toBeGreaterThan(0);
    expect(d.retried['http-429']).toBeGreaterThan(0);
    expect(d.retried['bad-response']).toBeGreaterThan(0);
    expect(d.llmDecisions + d.fallbacks).toBe(40);
    expect(d.promptTokens).toBeGreaterThan(0);
  });
});
