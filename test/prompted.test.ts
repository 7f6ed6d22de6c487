// PromptedAgent: an agent whose first episodes another agent plays, and the `prompt` option of an
// evaluation's model agent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PromptedAgent, type Agent } from '../src/algorithms/index.js';
import { play } from '../src/algorithms/play.js';
import { makeBatchedEnv } from '../src/envs/index.js';
import { Rng } from '../src/core/rng.js';
import { makeEvalAgent } from '../src/eval/index.js';
import { trainFromConfig } from '../src/train/index.js';

function fixed(action: number, calls: { act: number; observe: number }): Agent {
  return {
    name: `always-${action}`,
    reset: () => {},
    act: (_o, out) => {
      calls.act++;
      out.fill(action);
    },
    observe: () => void calls.observe++,
  };
}

describe('PromptedAgent', () => {
  it("takes the prompter's actions for the first episodes of each instance, then the agent's; the agent observes all", async () => {
    const env = makeBatchedEnv('darkroom', 3, {}, new Rng(0));
    const H = env.horizon;
    const inner = { act: 0, observe: 0 };
    const pr = { act: 0, observe: 0 };
    const agent = new PromptedAgent(fixed(0, inner), fixed(3, pr), 2);
    expect(agent.name).toBe('always-0');
    const taken: number[][] = [];
    await play(env, agent, 3 * H + 5, new Rng(1), (t) => taken.push(Array.from(t.actions)));
    for (let t = 0; t < taken.length; t++) expect(taken[t], `step ${t}`).toEqual(Array(3).fill(t < 2 * H ? 3 : 0));
    expect(inner.observe).toBe(3 * H + 5);
    expect(inner.act).toBe(3 * H + 5);
    // the prompter is asked only while some instance is in its prompt
    expect(pr.act).toBe(2 * H);
    expect(() => new PromptedAgent(fixed(0, inner), fixed(1, pr), 0)).toThrow(/positive integer/);
  });

  it("is an evaluation model agent's `prompt` option, with a clear error for a bad one", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-prompt-'));
    try {
      const out = join(dir, 'dpt');
      await trainFromConfig(
        {
          name: 'tiny',
          out,
          model: { kind: 'dpt', layers: 1, dModel: 8, heads: 2 },
          data: { family: 'bandit', envOptions: { arms: 3 }, split: { seed: 0, heldOut: 4, train: 16 }, dpt: { samples: 32, contextLength: 4 } },
          optim: { steps: 2, batchSize: 4, lr: 0.001 },
        } as never,
        { outDir: out, progressBar: false },
      );
      const ctx = { source: 'eval.yaml: online.agents[0]', family: 'bandit', envOptions: { arms: 3 }, baseDir: '.', name: 'DPT' };
      const a = await makeEvalAgent({ type: 'model', checkpoint: out, prompt: { episodes: 1, agent: { type: 'oracle' } } }, ctx);
      expect(a).toBeInstanceOf(PromptedAgent);
      expect(a.name).toBe('DPT');
      const env = makeBatchedEnv('bandit', 2, { arms: 3 }, new Rng(0));
      await play(env, a, 3, new Rng(1));
      expect(await makeEvalAgent({ type: 'model', checkpoint: out }, ctx)).not.toBeInstanceOf(PromptedAgent);
      for (const bad of [{ episodes: 0, agent: { type: 'oracle' } }, { episodes: 1 }, { episodes: 1, agent: { type: 'oracle' }, extra: 1 }]) {
        await expect(makeEvalAgent({ type: 'model', checkpoint: out, prompt: bad }, ctx)).rejects.toThrow(/online\.agents\[0\]\.prompt: expected \{ episodes/);
      }
      await expect(makeEvalAgent({ type: 'model', checkpoint: out, prompt: { episodes: 1, agent: { type: 'nope' } } }, ctx)).rejects.toThrow(/prompt\.agent/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
