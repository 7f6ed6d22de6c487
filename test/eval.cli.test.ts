import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'icrl-evalcli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function icrl(...args: string[]) {
  return spawnSync(process.execPath, [join(process.cwd(), 'bin', 'icrl.js'), ...args], { cwd: dir, encoding: 'utf8' });
}

describe('icrl eval / icrl report', () => {
  it('runs a config and writes results and report; icrl report redraws it', () => {
    const cfg = join(dir, 'e.yaml');
    writeFileSync(
      cfg,
      ['env: { family: bandit, options: { arms: 3 } }', 'tasks: { heldOut: 6 }', 'online:', '  steps: 30', '  agents: [{ type: ucb }, { kind: thompson, name: TS }]', 'out: out1'].join('\n'),
    );
    const r = icrl('eval', cfg, '--no-progress');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/report: .*out1[/\\]report\.html/);
    const res = JSON.parse(readFileSync(join(dir, 'out1', 'results.json'), 'utf8'));
    expect(res.online.agents.map((a: { name: string }) => a.name)).toEqual(['ucb', 'TS', 'oracle', 'random']);
    const r2 = icrl('report', join(dir, 'out1', 'results.json'), '-o', join(dir, 'again.html'));
    expect(r2.status, r2.stderr).toBe(0);
    expect(existsSync(join(dir, 'again.html'))).toBe(true);
  });

  it('a bad config names the file and the field', () => {
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, ['env: { family: bandit }', 'tasks: { heldOut: 6 }', 'online: { steps: 10, agents: [], refs: [] }'].join('\n'));
    const r = icrl('eval', cfg);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('bad.yaml');
    expect(r.stderr).toContain('online.refs');
    const cfg2 = join(dir, 'bad2.yaml');
    writeFileSync(cfg2, ['env: { family: bandit }', 'tasks: { heldOut: 6 }', 'online: { steps: 10, agents: [{ type: ucbx }] }'].join('\n'));
    const r2 = icrl('eval', cfg2);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/bad2\.yaml: online\.agents\[0\]\.type: unknown agent type "ucbx"; known: .*ucb/);
    const r3 = icrl('report', join(dir, 'bad.yaml'));
    expect(r3.status).toBe(2);
    expect(r3.stderr).toContain('not JSON');
  });

  it('prints its summary on stdout; --json prints one JSON document with every headline and its interval', () => {
    const cfg = join(dir, 'j.yaml');
    writeFileSync(cfg, ['env: { family: bandit, options: { arms: 3 } }', 'tasks: { heldOut: 5 }', 'online: { steps: 20, agents: [{ type: ucb }] }', 'out: outj'].join('\n'));
    const text = icrl('eval', cfg, '--no-progress');
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ucb +regret at t=20: [\d.]+ \[[\d.-]+, [\d.]+\]$/m);
    expect(text.stdout).toMatch(/^random \(reference\) +regret at t=20/m);
    const r = icrl('eval', cfg, '--no-progress', '--json');
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { results: string; report: string; headlines: { agent: string; metric: string; mean: number; lo: number; hi: number }[] };
    expect(doc.results).toMatch(/outj[/\\]results\.json$/);
    expect(doc.headlines.map((h) => h.agent)).toEqual(['ucb', 'oracle', 'random']);
    const res = JSON.parse(readFileSync(doc.results, 'utf8'));
    expect(doc.headlines[0].mean).toBe(res.online.agents[0].summary.finalRegret.mean);
    expect(doc.headlines[0].lo).toBeLessThanOrEqual(doc.headlines[0].mean);
  });
});
