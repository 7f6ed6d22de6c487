import { describe, it, expect } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { getFamily } from '../src/envs/index.js';
import { splitTasks } from '../src/tasks/taskSpace.js';
import { evaluateOnline, type StepRecord, type EpisodeRecord } from '../src/eval/evaluator.js';
import { summarizeSteps, summarizeEpisodes, cumulativeRegret } from '../src/eval/metrics.js';
import { meanCi, tQuantile975, bandOverTasks } from '../src/eval/stats.js';
import { OracleAgent as OracleReferenceAgent, RandomAgent as RandomReferenceAgent } from '../src/algorithms/index.js';
import { makeOfflineDataset, evaluateOffline } from '../src/eval/offline.js';
import type { Agent, StepOutcome } from '../src/algorithms/agent.js';
import type { ActionArray, BatchedEnv } from '../src/envs/types.js';

function banditTasks(n: number, seed = 3) {
  const space = getFamily('bandit').taskSpace({ arms: 5 });
  return splitTasks(space, { seed, heldOut: n, train: 0 }).heldOut;
}

/** A minimal UCB written for this test only (counts and sums per arm, ties to the lowest arm). */
class TestUcb implements Agent {
  readonly name = 'test-ucb';
  private n!: Float64Array;
  private s!: Float64Array;
  private t = 0;
  private A = 0;
  private N = 0;
  reset(env: BatchedEnv): void {
    this.A = env.numActions;
    this.N = env.numEnvs;
    this.n = new Float64Array(this.N * this.A);
    this.s = new Float64Array(this.N * this.A);
    this.t = 0;
  }
  act(_obs: Float32Array, out: ActionArray): void {
    for (let i = 0; i < this.N; i++) {
      let best = 0;
      let bv = -Infinity;
      for (let a = 0; a < this.A; a++) {
        const c = this.n[i * this.A + a];
        const v = c === 0 ? Infinity : this.s[i * this.A + a] / c + Math.sqrt((2 * Math.log(this.t + 1)) / c);
        if (v > bv) {
          bv = v;
          best = a;
        }
      }
      out[i] = best;
    }
  }
  observe(o: StepOutcome): void {
    for (let i = 0; i < this.N; i++) {
      this.n[i * this.A + o.actions[i]] += 1;
      this.s[i * this.A + o.actions[i]] += o.rewards[i];
    }
    this.t++;
  }
}

/** An agent that answers asynchronously (as LLM agents do). */
class AsyncRandom implements Agent {
  // Same name as the synchronous random agent, so it gets the same random stream.
  readonly name = 'random';
  private inner = new RandomReferenceAgent();
  reset(env: BatchedEnv, rng: Rng): Promise<void> {
    return Promise.resolve().then(() => this.inner.reset(env, rng));
  }
  act(obs: Float32Array, out: ActionArray): Promise<void> {
    return new Promise((r) => setTimeout(() => r(this.inner.act(obs, out)), 0));
  }
  observe(o: StepOutcome): void {
    this.inner.observe(o);
  }
}

describe('stats', () => {
  it('t quantiles and intervals', () => {
    expect(tQuantile975(1)).toBeCloseTo(12.706, 3);
    expect(tQuantile975(200)).toBeCloseTo(1.97190, 3);
    const m = meanCi([1, 2, 3, 4]);
    expect(m.mean).toBe(2.5);
    // sd = 1.29099, half = 3.182 * 1.29099 / 2
    expect(m.hi - m.mean).toBeCloseTo((3.182 * Math.sqrt(5 / 3)) / 2, 3);
    const b = bandOverTasks([new Float64Array([1, 5]), new Float64Array([3, 5])]);
    expect(b.mean).toEqual([2, 5]);
    expect(b.lo[1]).toBe(5);
  });
});

describe('online evaluator (bandits)', () => {
  it("regret equals a direct computation from the arm means, with the agent's own actions", async () => {
    const tasks = banditTasks(16);
    const env = getFamily('bandit').make(16, { arms: 5, noiseSd: 0.3 });
    const rec = (await evaluateOnline(new TestUcb(), env, tasks, { steps: 200, seed: 7, progress: false })) as StepRecord;
    // Independent replay: the same UCB on its own loop, rewards from the recorded samples.
    for (let i = 0; i < 16; i++) {
      const means = tasks[i].params.means as number[];
      const best = Math.max(...means);
      let regret = 0;
      for (let t = 0; t < 200; t++) regret += best - means[rec.actions[i][t]];
      expect(cumulativeRegret(rec.expected[i], rec.best[i])[199]).toBeCloseTo(regret, 9);
    }
    const s = summarizeSteps(rec);
    const direct = tasks.map((t, i) => {
      const m = t.params.means as number[];
      return Array.from(rec.actions[i]).reduce((acc, a) => acc + Math.max(...m) - m[a], 0);
    });
    expect(s.finalRegret.mean).toBeCloseTo(direct.reduce((a, b) => a + b) / 16, 9);
    // UCB beats random: sublinear regret.
    const rnd = summarizeSteps((await evaluateOnline(new RandomReferenceAgent(), getFamily('bandit').make(16, { arms: 5 }), tasks, { steps: 200, seed: 7, progress: false })) as StepRecord);
    expect(s.finalRegret.mean).toBeLessThan(rnd.finalRegret.mean / 2);
    expect(s.cumRegret.mean[199] - s.cumRegret.mean[99]).toBeLessThan(s.cumRegret.mean[99]);
  });

  it('the oracle has zero regret; the same seed gives the same record', async () => {
    const tasks = banditTasks(8);
    const make = () => getFamily('bandit').make(8, { arms: 5 });
    const o = summarizeSteps((await evaluateOnline(new OracleReferenceAgent(), make(), tasks, { steps: 50, seed: 1, progress: false })) as StepRecord);
    expect(o.finalRegret.mean).toBe(0);
    expect(o.optimalFraction).toBe(1);
    const a = (await evaluateOnline(new RandomReferenceAgent(), make(), tasks, { steps: 50, seed: 2, progress: false })) as StepRecord;
    const b = (await evaluateOnline(new RandomReferenceAgent(), make(), tasks, { steps: 50, seed: 2, progress: false })) as StepRecord;
    expect(Array.from(a.actions[3])).toEqual(Array.from(b.actions[3]));
    expect(Array.from(a.rewards[5])).toEqual(Array.from(b.rewards[5]));
  });

  it('awaits asynchronous agents', async () => {
    const tasks = banditTasks(4);
    const rec = (await evaluateOnline(new AsyncRandom(), getFamily('bandit').make(4, { arms: 5 }), tasks, { steps: 20, seed: 0, progress: false })) as StepRecord;
    expect(rec.actions[0].length).toBe(20);
    const sync = (await evaluateOnline(new RandomReferenceAgent(), getFamily('bandit').make(4, { arms: 5 }), tasks, { steps: 20, seed: 0, progress: false })) as StepRecord;
    // Recorded actions are the ones the agent wrote after its promise resolved.
    for (let i = 0; i < 4; i++) expect(Array.from(rec.actions[i])).toEqual(Array.from(sync.actions[i]));
  });

  it('rejects a task count that does not match the environment', async () => {
    await expect(evaluateOnline(new RandomReferenceAgent(), getFamily('bandit').make(3, {}), banditTasks(4), { steps: 5, seed: 0, progress: false })).rejects.toThrow(/3 instances but 4 tasks/);
  });
});

describe('online evaluator (MDPs)', () => {
  it('records the return of each in-context episode; the oracle reaches its value', async () => {
    const fam = getFamily('darkroom');
    const tasks = splitTasks(fam.taskSpace({}), { seed: 0, heldOut: 20 }).heldOut.slice(0, 6);
    const rec = (await evaluateOnline(new OracleReferenceAgent(), fam.make(6, {}), tasks, { episodes: 3, seed: 0, progress: false })) as EpisodeRecord;
    expect(rec.returns[0].length).toBe(3);
    for (let i = 0; i < 6; i++) for (let k = 0; k < 3; k++) expect(rec.returns[i][k]).toBeCloseTo(rec.oracle![i], 6);
    const s = summarizeEpisodes(rec);
    expect(s.lastOverOracle).toBeCloseTo(1, 6);
    const rnd = summarizeEpisodes((await evaluateOnline(new RandomReferenceAgent(), fam.make(6, {}), tasks, { episodes: 2, seed: 0, progress: false })) as EpisodeRecord);
    expect(rnd.returns.mean[1]).toBeLessThan(s.returns.mean[1]);
  });
});

describe('offline evaluator', () => {
  it('feeds the logged pulls and scores the chosen arm against the arm means', async () => {
    const tasks = banditTasks(10);
    const data = makeOfflineDataset(getFamily('bandit').make(10, { noiseSd: 0.3 }), tasks, 50, 4);
    /** Picks the arm with the highest empirical mean so far (no pessimism). */
    class Emp implements Agent {
      readonly name = 'emp';
      n = new Float64Array(50);
      s = new Float64Array(50);
      reset(): void {}
      act(_o: Float32Array, out: ActionArray): void {
        for (let i = 0; i < 10; i++) {
          let b = 0;
          for (let a = 1; a < 5; a++) if ((this.n[i * 5 + a] ? this.s[i * 5 + a] / this.n[i * 5 + a] : -1) > (this.n[i * 5 + b] ? this.s[i * 5 + b] / this.n[i * 5 + b] : -1)) b = a;
          out[i] = b;
        }
      }
      observe(o: StepOutcome): void {
        for (let i = 0; i < 10; i++) {
          this.n[i * 5 + o.actions[i]]++;
          this.s[i * 5 + o.actions[i]] += o.rewards[i];
        }
      }
    }
    const rec = await evaluateOffline(new Emp(), getFamily('bandit').make(10, { noiseSd: 0 }), tasks, data, [0, 5, 50], { seed: 0, progress: false });
    for (let i = 0; i < 10; i++) {
      const m = tasks[i].params.means as number[];
      // direct: empirical means over the first 50 logged pulls
      const n = new Array(5).fill(0);
      const s = new Array(5).fill(0);
      for (let t = 0; t < 50; t++) {
        n[data.actions[i][t]]++;
        s[data.actions[i][t]] += data.rewards[i][t];
      }
      const emp = n.map((c, a) => (c ? s[a] / c : -1));
      const pick = emp.indexOf(Math.max(...emp));
      expect(rec.chosen[i][2]).toBe(pick);
      expect(rec.subopt[i][2]).toBeCloseTo(Math.max(...m) - m[pick], 9);
    }
  });
});

describe('classical baselines: evaluator regret equals a direct computation', async () => {
  const { makeAgent } = await import('../src/algorithms/index.js');
  const { play } = await import('../src/algorithms/play.js');
  const specs = [{ kind: 'ucb', c: 1 }, { kind: 'thompson' }, { kind: 'greedy' }, { kind: 'epsilon-greedy', epsilon: 0.1 }];
  for (const spec of specs) {
    it(`${spec.kind}: same actions and regret as the algorithm played on its own loop`, async () => {
      const N = 24;
      const T = 150;
      const seed = 11;
      const tasks = banditTasks(N, 5);
      const evalAgent = makeAgent(spec);
      const rec = (await evaluateOnline(evalAgent, getFamily('bandit').make(N, { arms: 5, noiseSd: 0.3 }), tasks, { steps: T, seed, progress: false })) as StepRecord;
      const s = summarizeSteps(rec);
      // Direct: the algorithms module's own play loop on a fresh environment with the same streams,
      // regret summed from the task parameters.
      const env = getFamily('bandit').make(N, { arms: 5, noiseSd: 0.3 });
      env.setTasks(tasks);
      const root = new Rng(seed);
      const regret = new Float64Array(N);
      const curve: number[][] = Array.from({ length: N }, () => []);
      await play(env, makeAgent(spec), T, root.split(`agent:${evalAgent.name}`), (tr) => {
        for (let i = 0; i < N; i++) {
          const m = tasks[i].params.means as number[];
          regret[i] += Math.max(...m) - m[tr.actions[i]];
          curve[i].push(regret[i]);
        }
      }, root.split('env').nextU32());
      for (let i = 0; i < N; i++) expect(s.perTaskFinalRegret[i]).toBeCloseTo(regret[i], 9);
      const meanCurve = (t: number) => curve.reduce((a, c) => a + c[t], 0) / N;
      for (const t of [0, 9, 49, T - 1]) expect(s.cumRegret.mean[t]).toBeCloseTo(meanCurve(t), 9);
      expect(s.finalRegret.mean).toBeCloseTo(regret.reduce((a, b) => a + b, 0) / N, 9);
    });
  }
});
