import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlmClient, LlmRequestError, chatCompletionsUrl, resolveLlmOptions, type LlmConfig } from '../src/core/llm/index.js';
import { ConfigError } from '../src/core/errors.js';
import { replies, startScripted, type FakeServer } from './helpers/fakeOpenAI.js';

const servers: FakeServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

async function setup(script: Parameters<typeof startScripted>[0], cfg: Partial<LlmConfig> = {}) {
  const server = await startScripted(script);
  servers.push(server);
  const client = LlmClient.fromConfig({ baseUrl: server.url, model: 'test-model', backoffMs: 1, maxBackoffMs: 2, timeoutMs: 2000, ...cfg }, {});
  return { server, client };
}

const msg = (content: string) => ({ messages: [{ role: 'user' as const, content }] });

describe('LlmClient', () => {
  it('builds the chat-completions URL from a base URL', () => {
    expect(chatCompletionsUrl('http://h:1/v1')).toBe('http://h:1/v1/chat/completions');
    expect(chatCompletionsUrl('http://h:1/v1/')).toBe('http://h:1/v1/chat/completions');
    expect(chatCompletionsUrl('http://h:1')).toBe('http://h:1/v1/chat/completions');
    expect(chatCompletionsUrl('http://h:1/api/v1')).toBe('http://h:1/api/v1/chat/completions');
  });

  it('takes endpoint, model and key from the environment, and names the missing field', () => {
    const o = resolveLlmOptions(undefined, { ICRL_LLM_BASE_URL: 'http://x:2/v1', ICRL_LLM_MODEL: 'm', OPENAI_API_KEY: 'k1' });
    expect([o.baseUrl, o.model, o.apiKey]).toEqual(['http://x:2/v1', 'm', 'k1']);
    expect(resolveLlmOptions({ model: 'c' }, { ICRL_LLM_BASE_URL: 'http://x', ICRL_LLM_API_KEY: 'k2', OPENAI_API_KEY: 'k1' }).apiKey).toBe('k2');
    expect(() => resolveLlmOptions({ model: 'm' }, {}, 'cfg.yaml:llm')).toThrow(/cfg.yaml:llm.baseUrl/);
    expect(() => resolveLlmOptions({ baseUrl: 'http://x', model: 'm', apiKeyEnv: 'NOPE' }, {})).toThrow(ConfigError);
    expect(() => resolveLlmOptions({ baseUrl: 'http://x', model: 'm', concurrency: 0 } as LlmConfig, {})).toThrow(/concurrency/);
  });

  it('sends the request with the key and accounts tokens and cost from usage', async () => {
    const { server, client } = await setup([{ content: 'hello', usage: { prompt_tokens: 1000, completion_tokens: 10 } }], {
      apiKey: 'sk-test',
      pricePerMillionPrompt: 2,
      pricePerMillionCompletion: 10,
    });
    const r = await client.chat({ ...msg('hi'), json: true });
    expect(r.content).toBe('hello');
    expect(r.cached).toBe(false);
    expect(server.requests[0].headers.authorization).toBe('Bearer sk-test');
    expect(server.requests[0].body?.model).toBe('test-model');
    expect(server.requests[0].body?.response_format).toEqual({ type: 'json_object' });
    const s = client.stats();
    expect(s.promptTokens).toBe(1000);
    expect(s.completionTokens).toBe(10);
    expect(s.costUsd).toBeCloseTo(0.0021, 10);
  });

  it('retries HTTP 500, 429 and a non-JSON body, then succeeds', async () => {
    const { server, client } = await setup([replies.http500(), replies.http429(), replies.garbageBody(), replies.ok('fine')], { maxRetries: 3 });
    const r = await client.chat(msg('x'));
    expect(r.content).toBe('fine');
    expect(r.attempts).toBe(4);
    expect(server.requests.length).toBe(4);
    expect(client.stats().retries).toBe(3);
  });

  it('gives up after the retries with the reason; does not retry a 400', async () => {
    const { client } = await setup([replies.http500()], { maxRetries: 2 });
    await expect(client.chat(msg('x'))).rejects.toMatchObject({ reason: 'http-5xx', attempts: 3 });
    const { server: s2, client: c2 } = await setup([replies.http400()], { maxRetries: 5 });
    await expect(c2.chat(msg('x'))).rejects.toBeInstanceOf(LlmRequestError);
    expect(s2.requests.length).toBe(1);
    expect(c2.stats().failures).toEqual({ 'http-4xx': 1 });
  });

  it('times out a request that never answers', async () => {
    const { client } = await setup([replies.hang()], { timeoutMs: 100, maxRetries: 1 });
    const t0 = Date.now();
    await expect(client.chat(msg('x'))).rejects.toMatchObject({ reason: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(client.stats().failures.timeout).toBe(1);
  });

  it('reports a refused connection as a network failure', async () => {
    const s = await startScripted([replies.ok('x')]);
    await s.close(); // nothing listens on its port any more
    const client = LlmClient.fromConfig({ baseUrl: s.url, model: 'm', maxRetries: 0 }, {});
    await expect(client.chat(msg('x'))).rejects.toMatchObject({ reason: 'network', message: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const { client } = await setup(() => ({ content: 'ok', delayMs: 30 }), { concurrency: 3 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => client.chat(msg(`q${i}`))));
    expect(client.peakInFlight).toBe(3);
  });

  it('replays a rerun exactly from the on-disk cache, repeated prompts included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-llm-cache-'));
    dirs.push(dir);
    let n = 0;
    const { server, client } = await setup(() => ({ content: `answer ${n++}` }), { cacheDir: dir });
    const first = [await client.chat(msg('a')), await client.chat(msg('a')), await client.chat(msg('b'))].map((r) => r.content);
    expect(first).toEqual(['answer 0', 'answer 1', 'answer 2']);
    expect(readdirSync(dir).length).toBeGreaterThan(0);
    const again = LlmClient.fromConfig({ baseUrl: server.url, model: 'test-model', cacheDir: dir }, {});
    const second = [await again.chat(msg('a')), await again.chat(msg('a')), await again.chat(msg('b'))];
    expect(second.map((r) => r.content)).toEqual(first);
    expect(second.every((r) => r.cached)).toBe(true);
    expect(server.requests.length).toBe(3);
    expect(again.stats().promptTokens).toBe(client.stats().promptTokens);
    // a different model is a different request
    const other = LlmClient.fromConfig({ baseUrl: server.url, model: 'other', cacheDir: dir }, {});
    expect((await other.chat(msg('a'))).cached).toBe(false);
  });

  it('keys the cache by tag without sending the tag', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-llm-cache-'));
    dirs.push(dir);
    let n = 0;
    const { server } = await setup(() => ({ content: `answer ${n++}` }));
    const make = () => LlmClient.fromConfig({ baseUrl: server.url, model: 'test-model', cacheDir: dir }, {});
    const c1 = make();
    // interleaved tags: each tag's repeats are numbered on their own
    const first = [];
    for (const tag of ['t2', 't1', 't1', 't2']) first.push((await c1.chat({ ...msg('same'), cacheTag: tag })).content);
    expect(server.requests.every((r) => !('cacheTag' in (r.body ?? {})))).toBe(true);
    const c2 = make();
    const second = [];
    for (const tag of ['t1', 't1', 't2', 't2']) second.push((await c2.chat({ ...msg('same'), cacheTag: tag })).content);
    expect(second).toEqual([first[1], first[2], first[0], first[3]]);
    expect(c2.stats().cacheHits).toBe(4);
  });

  it('replays failures too with cacheFailures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-llm-cache-'));
    dirs.push(dir);
    const { server } = await setup([replies.http500(), replies.ok('later fine')], { cacheDir: dir, cacheFailures: true, maxRetries: 0 });
    const make = (cacheFailures: boolean) => LlmClient.fromConfig({ baseUrl: server.url, model: 'test-model', cacheDir: dir, cacheFailures, maxRetries: 0 }, {});
    await expect(make(true).chat(msg('q'))).rejects.toMatchObject({ reason: 'http-5xx' });
    const again = make(true);
    await expect(again.chat(msg('q'))).rejects.toMatchObject({ reason: 'http-5xx', attempts: 0 });
    expect(again.stats()).toMatchObject({ cacheHits: 1, httpRequests: 0, failures: { 'http-5xx': 1 } });
    expect(server.requests.length).toBe(1);
  });
});
