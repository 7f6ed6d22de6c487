import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { noGrad, tidy } from '../src/nn/index.js';
import { makeBatchedEnv } from '../src/envs/index.js';
import { ModelConfigSchema } from '../src/train/config.js';
import { DPTModel, DPTAgent, envDims, writeDptToken, writeObs, modelAgentFromSpec } from '../src/models/index.js';

describe("DPT's online context of whole past episodes (context: episodes)", () => {
  it('plays each episode from the earlier episodes only, equal to a recomputation from them', () => {
    const opts = { size: 3, horizon: 4 };
    const N = 2;
    const env = makeBatchedEnv('darkroom', N, opts, new Rng(1));
    const dims = envDims(env, opts);
    const model = new DPTModel(ModelConfigSchema.parse({ kind: 'dpt', layers: 2, dModel: 16, heads: 2 }), dims, 8, new Rng(2));
    const agent = new DPTAgent(model, { actionSelection: 'greedy', context: 'episodes' });
    env.reset(3);
    agent.reset(env, new Rng(4));
    const ts = model.tokenSize;
    const qs = model.querySize;
    const done: number[][] = Array.from({ length: N }, () => []); // tokens of the finished episodes
    const running: number[][] = Array.from({ length: N }, () => []);
    const actions = new Int32Array(N);
    const tok = new Float32Array(ts);
    for (let t = 0; t < 12; t++) {
      const obs = env.obs.slice();
      agent.act(obs, actions);
      // the agent's context is the finished episodes: 0, 4, 8 transitions
      expect(agent.contextSize).toBe(4 * Math.floor(t / 4));
      const T = done[0].length / ts;
      const packed = new Float32Array(N * T * ts);
      for (let i = 0; i < N; i++) packed.set(done[i], i * T * ts);
      const q = new Float32Array(N * qs);
      for (let i = 0; i < N; i++) writeObs(dims, obs, i * env.obsDim, q, i * qs);
      const pred = noGrad(() => tidy(() => model.predictNaive(packed, N, T, q).toArray()));
      for (let i = 0; i < N; i++) {
        let best = 0;
        for (let a = 1; a < dims.numActions; a++) if (pred[i * dims.numActions + a] > pred[i * dims.numActions + best]) best = a;
        expect(actions[i]).toBe(best);
      }
      env.step(actions);
      const ended = env.truncated[0] === 1 || env.terminated[0] === 1;
      for (let i = 0; i < N; i++) {
        writeDptToken(dims, obs, i * env.obsDim, actions, i, env.rewards[i], ended ? env.finalObs : env.obs, i * env.obsDim, tok, 0);
        running[i].push(...tok);
        if (ended) done[i].push(...running[i].splice(0));
      }
      agent.observe({ actions, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated });
    }
    expect(agent.contextSize).toBe(12);
  });

  it('is an option of DPT model agents only, named in the error', () => {
    expect(() => modelAgentFromSpec({ type: 'model', checkpoint: 'x', context: 'all' }, { baseDir: '.', source: 'eval.yaml: online.agents[0]' })).toThrow(/online\.agents\[0\]\.context: must be "steps" or "episodes", got "all"/);
  });
});
