// End to end through the compiled CLI (dist/, built by the global setup): `icrl llm serve-fake --run`
// around `icrl eval` with an LLM agent and around `icrl tasks propose`.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'icrl-llm-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanEnv = () => {
  const env = { ...process.env };
  for (const k of ['ICRL_LLM_BASE_URL', 'ICRL_LLM_MODEL', 'ICRL_LLM_API_KEY', 'OPENAI_API_KEY', 'ICRL_LLM_TIMEOUT_MS']) delete env[k];
  return env;
};

function icrl(args: string[]) {
  return spawnSync(process.execPath, ['bin/icrl.js', ...args], { encoding: 'utf8', env: cleanEnv(), timeout: 120_000 });
}

const evalConfig = (out: string) => `
name: llm-cli-test
seed: 0
env: { family: bandit, options: { arms: 3, noiseSd: 0 } }
tasks: { heldOut: 4, seed: 0 }
online:
  steps: 12
  agents:
    - { type: ucb, name: UCB, c: 1.0 }
    - { type: llm, name: LLM, maxAttempts: 1, llm: { maxRetries: 1, backoffMs: 1, concurrency: 4 } }
  references: [random]
out: ${out}
`;

describe('icrl llm / icrl eval with an LLM agent / icrl tasks propose', () => {
  it('runs icrl eval with an LLM agent against the scripted endpoint; bad answers are counted and reported', () => {
    const out = join(dir, 'eval');
    const cfg = join(dir, 'llm-eval.yaml');
    writeFileSync(cfg, evalConfig(out));
    const r = icrl(['llm', 'serve-fake', '--port', '0', '--seed', '1', '--not-json', '0.2', '--out-of-range', '0.1', '--http-500', '0.1', '--run', `"${process.execPath}" bin/icrl.js eval ${cfg} --no-progress`]);
    expect(r.stderr).toContain('not a language model');
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    const names = res.online.agents.map((a: { name: string }) => a.name);
    expect(names).toEqual(['UCB', 'LLM', 'random']);
    const llm = res.online.agents[1];
    expect(llm.summary.finalRegret.mean).toBeGreaterThanOrEqual(0);
    const d = llm.diagnostics;
    expect(d.decisions).toBe(48);
    expect(d.invalid['not-json']).toBeGreaterThan(0);
    expect(d.llmDecisions + d.fallbacks).toBe(48);
    expect(d.retried['http-5xx']).toBeGreaterThan(0);
    expect(d.promptTokens).toBeGreaterThan(0);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('LLM agents: answers, failures and tokens');
    expect(html).toContain('scripted-ucb');
    expect(html).toContain('NOT by a language model');
    expect(d.servedModels).toEqual(['icrl-scripted-endpoint (not a language model)']);
  });

  it('serve-fake --client-timeout-ms reaches icrl eval: against an endpoint that never answers, the eval finishes', () => {
    const out = join(dir, 'eval-hang');
    const cfg = join(dir, 'llm-eval-hang.yaml');
    writeFileSync(
      cfg,
      evalConfig(out)
        .replace('steps: 12', 'steps: 3')
        .replace('maxAttempts: 1, llm: { maxRetries: 1, backoffMs: 1, concurrency: 4 }', 'maxAttempts: 1, maxConsecutiveFailures: 0, llm: { maxRetries: 0, concurrency: 4 }'),
    );
    const t0 = Date.now();
    const r = icrl(['llm', 'serve-fake', '--port', '0', '--timeout', '1', '--client-timeout-ms', '200', '--run', `"${process.execPath}" bin/icrl.js eval ${cfg} --no-progress`]);
    expect(r.status, r.stderr).toBe(0);
    // 12 decisions of one 200 ms attempt, 4 at a time; the 30 s default would need 90 s
    expect(Date.now() - t0).toBeLessThan(60_000);
    const d = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).online.agents[1].diagnostics;
    expect(d.decisions).toBe(12);
    expect(d.invalid).toEqual({ timeout: 12 });
    expect(d.fallbacks).toBe(12);
  });

  it('names the missing endpoint field when no LLM endpoint is configured', () => {
    const cfg = join(dir, 'llm-eval-noenv.yaml');
    writeFileSync(cfg, evalConfig(join(dir, 'noenv')));
    const r = icrl(['eval', cfg, '--no-progress']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/online\.agents\[1\]\.llm\.baseUrl: no LLM endpoint/);
  });

  it('proposes tasks into a library, rejecting the out-of-space ones', () => {
    const lib = join(dir, 'lib', 'darkroom.json');
    const r = icrl(['llm', 'serve-fake', '--port', '0', '--out-of-range', '1', '--run', `"${process.execPath}" bin/icrl.js tasks propose -f darkroom -l ${lib} -n 4`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/4 added, rejected out-of-space: 1/);
    const doc = JSON.parse(readFileSync(lib, 'utf8'));
    expect(doc.entries.length).toBe(4);
    expect(doc.entries[0].provenance).toMatchObject({ source: 'llm', model: 'icrl-scripted-endpoint (not a language model)', mode: 'explore' });
    const show = icrl(['tasks', 'show', lib]);
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).toContain('4 darkroom tasks');
  });
});
