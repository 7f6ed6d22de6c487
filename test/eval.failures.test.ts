import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { registerAgentKind } from '../src/algorithms/index.js';
import { evaluateAndReport as runEvaluation } from '../src/experiments/evaluate.js';
import type { Agent } from '../src/algorithms/agent.js';

// An agent that plays arm 0 for a few steps and then throws, as a crashing model or endpoint would.
registerAgentKind(
  'test-explodes',
  z.object({}).strict(),
  () => {
    let t = 0;
    const agent: Agent = {
      name: 'explodes',
      reset() {
        t = 0;
      },
      act(_obs, out) {
        if (++t > 5) throw new Error('boom at step 6');
        out.fill(0);
      },
      observe() {},
    };
    return agent;
  },
  'test agent that fails after five steps',
);

describe('evaluation runs keep what they finished', () => {
  it('an agent that fails is noted; the agents before and after it are in results.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-evalfail-'));
    const lines: string[] = [];
    const { results, resultsPath } = await runEvaluation(
      {
        name: 'failures',
        seed: 0,
        env: { family: 'bandit', options: { arms: 3, noiseSd: 0.3 } },
        tasks: { heldOut: 8, seed: 0 },
        online: { steps: 20, agents: [{ type: 'ucb', name: 'UCB' }, { type: 'test-explodes', name: 'bad' }, { type: 'greedy', name: 'greedy' }], references: ['oracle'] },
        out: dir,
      },
      { progress: false, log: (l) => lines.push(l), baseDir: dir },
    );
    const names = results.online!.agents.map((a) => a.name);
    expect(names).toEqual(['UCB', 'greedy', 'oracle']);
    expect(results.notes.some((n) => /bad failed: boom at step 6/.test(n))).toBe(true);
    const onDisk = JSON.parse(readFileSync(resultsPath!, 'utf8'));
    expect(onDisk.online.agents.map((a: { name: string }) => a.name)).toEqual(names);
    expect(lines.some((l) => /1 agent\(s\) failed/.test(l))).toBe(true);
  });

  it('a spec that cannot be built fails before any agent runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-evalfail-'));
    const lines: string[] = [];
    await expect(
      runEvaluation(
        {
          name: 'bad-spec',
          seed: 0,
          env: { family: 'bandit', options: { arms: 3 } },
          tasks: { heldOut: 4, seed: 0 },
          online: { steps: 10, agents: [{ type: 'ucb' }, { type: 'no-such-agent' }], references: [] },
          out: dir,
        },
        { progress: false, log: (l) => lines.push(l), baseDir: dir },
      ),
    ).rejects.toThrow(/no-such-agent/);
    expect(lines.filter((l) => l.startsWith('eval:'))).toEqual([]);
  });
});
