// The threaded MuJoCo environment (src/envs/mujoco/threaded.ts; its workers run the compiled dist/,
// which test/globalSetup.ts builds) and the evaluation of MuJoCo families without an exact oracle.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Rng } from '../src/core/rng.js';
import { ThreadedMujocoEnv, getFamily, prepareFamily, sliceSizes, type BatchedEnv } from '../src/envs/index.js';
import { runEvaluation } from '../src/eval/run.js';
import type { EpisodeSummary } from '../src/eval/metrics.js';
import { renderReport } from '../src/report/index.js';

beforeAll(async () => {
  await prepareFamily('cheetah-vel');
});

/**
 * Everything a consumer sees of a run, one hash per step (observations, rewards, episode ends, final
 * observations, extra arrays; a mismatch names the step), and how many episodes ended.
 */
function trajectory(env: BatchedEnv, steps: number, seed: number, extra: string[] = [], expert = false): { rows: string[]; ends: number } {
  const rng = new Rng(seed).split('actions');
  const a = new Float32Array(env.numEnvs * env.actDim);
  const out = new Float32Array(env.actDim);
  const rows: string[] = [];
  let ends = 0;
  const rec = (): void => {
    const e = env as unknown as Record<string, ArrayLike<number>>;
    const text = [env.obs, env.rewards, env.terminated, env.truncated, env.finalObs, env.episodeStep, ...extra.map((k) => e[k])].map((x) => Array.from(x).join(',')).join(';');
    rows.push(createHash('sha256').update(text).digest('hex').slice(0, 16));
    for (let i = 0; i < env.numEnvs; i++) ends += env.terminated[i] | env.truncated[i];
  };
  for (let s = 0; s < steps; s++) {
    if (s === 7) env.setTask!(env.numEnvs - 1, env.getTask!(0));
    if (s === 11) env.reset(seed + 1);
    if (expert) {
      for (let i = 0; i < env.numEnvs; i++) {
        env.expertAction!(i, out);
        a.set(out, i * env.actDim);
      }
    } else for (let k = 0; k < a.length; k++) a[k] = rng.uniformRange(-1, 1);
    env.step(a);
    rec();
  }
  return { rows, ends };
}

describe('threaded MuJoCo environments', () => {
  it('splits the batch into contiguous slices', () => {
    expect(sliceSizes(7, 3)).toEqual([3, 2, 2]);
    expect(sliceSizes(4, 2)).toEqual([2, 2]);
  });

  it('gives bit-identical trajectories whatever the thread count (resets, setTask, reseeding, terminations)', () => {
    // ant-dir with a short horizon: truncations, falls (terminated) and the contact cost all happen
    const runs = [1, 2, 3].map((threads) => {
      const env = getFamily('ant-dir').make(5, { threads, horizon: 15 }, new Rng(42));
      if (threads > 1) {
        expect(env).toBeInstanceOf(ThreadedMujocoEnv);
        expect((env as ThreadedMujocoEnv).threads).toBe(threads);
      }
      env.reset(3);
      const t = trajectory(env, 40, 5, ['direction', 'blewUp']);
      (env as unknown as { close(): void }).close();
      return t;
    });
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    // episodes did end in these 40 steps (horizon 15), so the automatic resets were compared too
    expect(runs[0].ends).toBeGreaterThanOrEqual(5);
  });

  it('reach on 2 threads: the scripted expert and the success flags match one thread', () => {
    const runs = [1, 2].map((threads) => {
      const env = getFamily('reach').make(4, { threads, horizon: 30 }, new Rng(1));
      const t = trajectory(env, 35, 2, ['success', 'episodeSuccess', 'finalEpisodeSuccess'], true);
      (env as unknown as { close(): void }).close();
      return t;
    });
    expect(runs[1]).toEqual(runs[0]);
  });

  it('names the instance of a bad action and refuses instance() of a worker slice and use after close', () => {
    const env = getFamily('cheetah-vel').make(4, { threads: 2 }, new Rng(0)) as ThreadedMujocoEnv;
    const a = new Float32Array(24);
    a[3 * 6 + 2] = Number.NaN;
    expect(() => env.step(a)).toThrow(/instance 3/);
    expect(env.instance(1).data.qpos.length).toBe(9);
    expect(() => env.instance(2)).toThrow(/worker thread/);
    expect(env.expertAction).toBeUndefined();
    env.close();
    expect(() => env.step(new Float32Array(24))).toThrow(/closed/);
  });

  it('one thread (the default) or one instance makes the plain environment', () => {
    expect(getFamily('cheetah-vel').make(3, {}, new Rng(0))).not.toBeInstanceOf(ThreadedMujocoEnv);
    expect(getFamily('cheetah-vel').make(1, { threads: 4 }, new Rng(0))).not.toBeInstanceOf(ThreadedMujocoEnv);
    expect(() => getFamily('cheetah-vel').make(2, { threads: 0 })).toThrow(/threads/);
  });
});

describe('evaluation on a MuJoCo family (no exact oracle)', () => {
  it('reach: the scripted expert against random, end to end, with no oracle line or ratio', async () => {
    const lines: string[] = [];
    const run = await runEvaluation(
      { name: 'reach', env: { family: 'reach', options: { horizon: 40 } }, tasks: { heldOut: 3, seed: 0 }, online: { episodes: 2, references: ['oracle', 'expert', 'random'] } },
      { write: false, progress: false, log: (l) => lines.push(l) },
    );
    const agents = run.results.online!.agents;
    expect(agents.map((a) => a.name)).toEqual(['expert', 'random']);
    const [expert, random] = agents.map((a) => a.summary as EpisodeSummary);
    expect(expert.oracle).toBeNull();
    expect(expert.lastOverOracle).toBeNull();
    expect(expert.returns.mean[1]).toBeGreaterThan(random.returns.mean[1] + 50);
    expect(run.results.notes.join(' ')).toMatch(/reach has no exact oracle.*expert/);
    expect(lines.join('\n')).toMatch(/expert: return, last episode/);
    // the report has no oracle line and no ratio column, and says why
    const html = renderReport(run.results);
    expect(html).toContain('reach has no exact oracle, so there is no oracle line and no ratio to it (references: expert, random)');
    expect(html).not.toMatch(/<th[^>]*>last \/ oracle/);
    expect(html).toMatch(/<th[^>]*>return, episode 2/);
  });

  it('the expert reference on a family without one fails with a message naming the family', async () => {
    const run = await runEvaluation(
      { name: 'cheetah', env: { family: 'cheetah-vel', options: { horizon: 5 } }, tasks: { heldOut: 2, seed: 0 }, online: { episodes: 1, references: ['expert', 'random'] } },
      { write: false, progress: false, log: () => undefined },
    );
    expect(run.results.online!.agents.map((a) => a.name)).toEqual(['random']);
    expect(run.results.notes.join(' ')).toMatch(/cheetah-vel has no scripted expert/);
  });
});
