import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { getFamily } from '../src/envs/index.js';
import { evaluateOnline, type EpisodeRecord, type StepRecord } from '../src/eval/evaluator.js';
import { LlmAgent, makeLlmEvalAgent, parseAction, scriptedPolicyResponder, type LlmAgentSpec } from '../src/eval/llm/index.js';
import { makeEvalAgent } from '../src/eval/agents.js';
import { startFakeOpenAI } from '../src/core/llm/index.js';
import { lastUserMessage, startScripted, type FakeReply, type FakeServer } from './helpers/fakeOpenAI.js';

const servers: FakeServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function banditSetup(n: number, seed = 1) {
  const env = getFamily('bandit').make(n, { arms: 4, noiseSd: 0 }, new Rng(seed));
  const tasks = env.taskSpace.sampleMany(new Rng(seed).split('tasks'), n);
  return { env, tasks };
}

const agentSpec = (url: string, extra: Partial<LlmAgentSpec> = {}): LlmAgentSpec => ({
  // generous timeout: the machine may be loaded; the tests that need timeouts set their own
  llm: { baseUrl: url, model: 'scripted', maxRetries: 0, timeoutMs: 20_000, backoffMs: 1, concurrency: 4 },
  ...extra,
});

describe('parseAction', () => {
  it('reads JSON, fenced JSON and bare integers, and names each failure', () => {
    expect(parseAction('{"action": 2}', 4)).toEqual({ action: 2 });
    expect(parseAction('```json\n{"arm": 1}\n```', 4)).toEqual({ action: 1 });
    expect(parseAction('I pick {"action": 3} because...', 4)).toEqual({ action: 3 });
    expect(parseAction('0', 4)).toEqual({ action: 0 });
    expect(parseAction('{"action": "2"}', 4)).toEqual({ action: 2 });
    expect(parseAction('arm two please', 4)).toMatchObject({ failure: 'not-json' });
    expect(parseAction('I choose arm 2', 4)).toMatchObject({ failure: 'not-json' });
    expect(parseAction('I choose arm 2', 4, true)).toEqual({ action: 2 });
    expect(parseAction('{"action": 4}', 4)).toMatchObject({ failure: 'out-of-range' });
    expect(parseAction('{"action": -1}', 4)).toMatchObject({ failure: 'out-of-range' });
    expect(parseAction('{"action": 1.5}', 4)).toMatchObject({ failure: 'no-action' });
    expect(parseAction('{"thoughts": "hmm"}', 4)).toMatchObject({ failure: 'no-action' });
  });
});

describe('LLM agent', () => {
  it('plays bandits through a scripted UCB endpoint, with tokens counted', async () => {
    const server = await startFakeOpenAI(scriptedPolicyResponder({ policy: 'ucb', seed: 0 }));
    servers.push(server);
    const { env, tasks } = banditSetup(6);
    const agent = new LlmAgent(agentSpec(server.url, { history: 'summary' }));
    const rec = (await evaluateOnline(agent, env, tasks, { steps: 40, seed: 3, progress: false })) as StepRecord;
    const d = agent.diagnostics();
    expect(d.decisions).toBe(240);
    expect(d.llmDecisions).toBe(240);
    expect(d.fallbacks).toBe(0);
    expect(d.promptTokens).toBeGreaterThan(0);
    expect(d.completionTokens).toBeGreaterThan(0);
    // UCB from the prompt's statistics: every arm is tried first, and the best arm dominates later on
    for (let i = 0; i < 6; i++) {
      expect(new Set(rec.actions[i].slice(0, 4))).toEqual(new Set([0, 1, 2, 3]));
      const means = tasks[i].params.means as number[];
      const best = means.indexOf(Math.max(...means));
      const late = Array.from(rec.actions[i].slice(20)).filter((a) => a === best).length;
      expect(late).toBeGreaterThan(5);
    }
    expect(agent.name).toBe('llm:scripted');
  });

  it('counts not-JSON, out-of-range, HTTP 500 and timeout, falls back, and never stops the run', async () => {
    // one bandit, so requests arrive in a fixed order; the reply depends on the turn in the prompt
    const byTurn: Record<number, FakeReply[]> = {
      1: [{ content: 'the second arm, obviously' }, { content: '{"action": 1}' }],
      2: [{ content: '{"action": 9}' }, { content: '{"action": 7}' }],
      3: [{ status: 500 }],
      4: [{ hang: true }],
      5: [{ content: '{"action": 3}' }],
    };
    const seen: Record<number, number> = {};
    const server = await startScripted((req) => {
      const turn = Number(/Turn (\d+)\./.exec(String(req.body?.messages?.[1]?.content))![1]);
      const k = seen[turn] ?? 0;
      seen[turn] = k + 1;
      return byTurn[turn][Math.min(k, byTurn[turn].length - 1)];
    });
    servers.push(server);
    const { env, tasks } = banditSetup(1);
    const agent = new LlmAgent({ ...agentSpec(server.url, { fallback: 'ucb', maxAttempts: 2 }), llm: { baseUrl: server.url, model: 'scripted', maxRetries: 0, timeoutMs: 1000 } });
    const rec = (await evaluateOnline(agent, env, tasks, { steps: 5, seed: 0, progress: false })) as StepRecord;
    expect(rec.steps).toBe(5);
    expect(rec.actions[0][0]).toBe(1);
    expect(rec.actions[0][4]).toBe(3);
    const d = agent.diagnostics();
    expect(d.invalid).toEqual({ 'not-json': 1, 'out-of-range': 2, 'http-5xx': 1, timeout: 1 });
    expect(d).toMatchObject({ decisions: 5, llmDecisions: 2, fallbacks: 3, attempts: 7 });
    expect(d.invalidRate).toBeCloseTo(5 / 7, 10);
    expect(d.fallbackRate).toBeCloseTo(3 / 5, 10);
    // the re-ask carries the bad answer and a correction
    const reask = server.requests.find((r) => r.body?.messages?.length === 4)!;
    expect(lastUserMessage(reask)).toMatch(/invalid \(not-json/);
    // UCB fallback: the arms not yet pulled (0 and 1 were; then 2, then 3)
    expect(Array.from(rec.actions[0].slice(1, 4)).sort()).toEqual([0, 2, 3]);
  });

  it('falls back when the endpoint is down and stops calling it after repeated failures', async () => {
    const warnings: string[] = [];
    const { env, tasks } = banditSetup(3);
    const down = await startScripted([{ content: '{"action": 0}' }]);
    await down.close(); // nothing listens on its port any more
    const agent = new LlmAgent(
      { llm: { baseUrl: down.url, model: 'm', maxRetries: 0, timeoutMs: 300 }, maxConsecutiveFailures: 4, fallback: 'greedy' },
      { warn: (m) => warnings.push(m) },
    );
    const rec = (await evaluateOnline(agent, env, tasks, { steps: 10, seed: 0, progress: false })) as StepRecord;
    expect(rec.steps).toBe(10);
    const d = agent.diagnostics();
    expect(d.fallbacks).toBe(30);
    expect(d.invalid.network).toBeGreaterThanOrEqual(4);
    expect((d.invalid.network ?? 0) + (d.invalid['circuit-open'] ?? 0)).toBe(30);
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toMatch(/4 consecutive failed requests/);
  });

  it('replays a rerun exactly from the response cache', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-llm-agent-cache-'));
    dirs.push(dir);
    const server = await startFakeOpenAI(scriptedPolicyResponder({ policy: 'ucb', seed: 5, faults: { notJson: 0.2, outOfRange: 0.1 } }));
    servers.push(server);
    const run = async () => {
      const { env, tasks } = banditSetup(3, 9);
      const agent = new LlmAgent(agentSpec(server.url, { history: 'raw', llm: { baseUrl: server.url, model: 'scripted', maxRetries: 0, cacheDir: dir } }));
      const rec = (await evaluateOnline(agent, env, tasks, { steps: 15, seed: 4, progress: false })) as StepRecord;
      return { actions: rec.actions.map((a) => Array.from(a)), d: agent.diagnostics() };
    };
    const a = await run();
    const requestsAfterFirst = server.requests.length;
    const b = await run();
    expect(b.actions).toEqual(a.actions);
    expect(server.requests.length).toBe(requestsAfterFirst);
    expect(b.d.httpRequests).toBe(0);
    expect(b.d.cacheHits).toBe(a.d.attempts);
    expect(b.d.invalid).toEqual(a.d.invalid);
    expect(a.d.invalid['not-json']).toBeGreaterThan(0);
    expect(b.d.promptTokens).toBe(a.d.promptTokens);
  });

  it('puts UCB hints and demonstrations in the prompt', async () => {
    const server = await startScripted([{ content: '{"action": 0}' }]);
    servers.push(server);
    const { env, tasks } = banditSetup(1);
    const agent = new LlmAgent(agentSpec(server.url, { hints: 'ucb', demonstrations: { source: 'ucb', tasks: 2, steps: 6 } }));
    await evaluateOnline(agent, env, tasks, { steps: 3, seed: 0, progress: false });
    const sys = String(server.requests[2].body?.messages?.[0].content);
    expect(sys).toContain('Demonstration 2');
    expect(sys).toMatch(/played by the ucb algorithm for 6 turns/);
    expect(sys.match(/^\d+: arm \d -> /gm)?.length).toBe(12);
    const user = lastUserMessage(server.requests[2]);
    expect(user).toMatch(/arm 0: UCB index [\d.]+/);
    expect(user).toContain('arm 1: UCB index infinite (never pulled)');
  });

  it('plays Dark Room over several in-context episodes', async () => {
    const server = await startFakeOpenAI(scriptedPolicyResponder({ seed: 2 }));
    servers.push(server);
    const env = getFamily('darkroom').make(2, { size: 3, horizon: 6 }, new Rng(0));
    const tasks = [
      { family: 'darkroom', params: { goalX: 1, goalY: 0 } },
      { family: 'darkroom', params: { goalX: 2, goalY: 2 } },
    ];
    const agent = new LlmAgent(agentSpec(server.url, { history: 'summary', demonstrations: { source: 'oracle', tasks: 1, episodes: 1 } }));
    const rec = (await evaluateOnline(agent, env, tasks, { episodes: 2, seed: 0, progress: false })) as EpisodeRecord;
    expect(rec.returns.length).toBe(2);
    expect(agent.diagnostics().decisions).toBe(2 * 2 * 6);
    const prompts = server.requests.map((r) => lastUserMessage(r));
    expect(prompts.some((p) => p.includes('Episode 2, step 1 of 6'))).toBe(true);
    expect(prompts[0]).toContain('Your position now: (0, 0)');
    const sys = String(server.requests[0].body?.messages?.[0].content);
    expect(sys).toContain('dark 3 x 3 grid room');
    expect(sys).toMatch(/played by the oracle algorithm for 1 episode/);
  });

  it('shows a linear bandit\'s arm features in the prompt', async () => {
    const server = await startFakeOpenAI(scriptedPolicyResponder({ seed: 1 }));
    servers.push(server);
    const env = getFamily('linear-bandit').make(2, { arms: 4, dim: 2, noiseSd: 0 }, new Rng(0));
    const tasks = env.taskSpace.sampleMany(new Rng(1), 2);
    const agent = new LlmAgent(agentSpec(server.url));
    const means = (env as unknown as { means: Float64Array }).means; // numEnvs x arms
    const expectedReward = (i: number, a: number) => means[i * 4 + a];
    const rec = (await evaluateOnline(agent, env, tasks, { steps: 6, seed: 0, progress: false, expectedReward })) as StepRecord;
    expect(rec.steps).toBe(6);
    expect(agent.diagnostics().llmDecisions).toBe(12);
    const sys = String(server.requests[0].body?.messages?.[0].content);
    expect(sys).toContain('linear bandit');
    expect(sys).toMatch(/arm 3: \(-?\d\.\d{3}, -?\d\.\d{3}\)/);
  });

  it('is the eval registry\'s llm type; demonstrations can come from any eval agent type; keys stay out of configs', async () => {
    const server = await startScripted([{ content: '{"action": 1}' }]);
    servers.push(server);
    const ctx = { family: 'bandit', envOptions: {}, baseDir: process.cwd(), source: 'cfg.yaml: online.agents[0]' };
    const agent = await makeEvalAgent({ type: 'llm', name: 'L', llm: { baseUrl: server.url, model: 'm' }, demonstrations: { source: 'thompson', tasks: 1, steps: 5 } }, ctx);
    expect(agent).toBeInstanceOf(LlmAgent);
    const { env, tasks } = banditSetup(1);
    await evaluateOnline(agent, env, tasks, { steps: 2, seed: 0, progress: false });
    expect(String(server.requests[0].body?.messages?.[0].content)).toMatch(/played by the thompson algorithm for 5 turns/);
    expect(() => makeLlmEvalAgent({ type: 'llm', llm: { baseUrl: server.url, model: 'm', apiKey: 'sk-x' } }, ctx)).toThrow(/online\.agents\[0\]\.llm\.apiKey/);
    expect(() => makeLlmEvalAgent({ type: 'llm', llm: { baseUrl: server.url, model: 'm' }, histroy: 'raw' }, ctx)).toThrow(/histroy/);
  });
});
