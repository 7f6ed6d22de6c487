// Reward noise of the bandits comes from bulk RNG fills (Rng.fillU32); these tests pin it to the
// word-at-a-time formulas the environments used before, with either block generator.
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { Rng } from '../src/core/rng.js';
import { getFamily } from '../src/envs/index.js';
import type { BatchedEnv } from '../src/envs/types.js';
import { withBackend } from './helpers/rngBackend.js';


const CASES: [string, Record<string, unknown>, string][] = [
  ['bandit', {}, 'bandit-noise'],
  ['bandit', { reward: 'bernoulli' }, 'bandit-noise'],
  ['linear-bandit', {}, 'linear-bandit-noise'],
];

/** Rewards of 5 steps with random actions; `check` sees each step's actions and rewards. */
function run(family: string, options: Record<string, unknown>, n: number, check?: (env: BatchedEnv, actions: Int32Array) => void): Float32Array {
  const env = getFamily(family).make(n, options, new Rng(11));
  env.reset(5);
  const actRng = new Rng(3);
  const actions = new Int32Array(n);
  const all = new Float32Array(5 * n);
  for (let s = 0; s < 5; s++) {
    actRng.fillInt(actions, env.numActions);
    env.step(actions);
    check?.(env, actions);
    all.set(env.rewards, s * n);
  }
  return all;
}

const hash = (a: Float32Array): string => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex').slice(0, 16);

describe('bandit reward noise from bulk RNG fills', () => {
  for (const [family, options, stream] of CASES) {
    const label = `${family} ${JSON.stringify(options)}`;
    it(`${label}: the word-at-a-time formulas, with either backend`, () => {
      for (const backend of ['wasm', 'reference'] as const) {
        for (const n of [1, 7, 4097, 9000]) {
          // the old stepping loop, one rng.uniform() per uniform, on its own copy of the noise stream
          const noise = new Rng(5).split(stream);
          withBackend(backend, () =>
            run(family, options, n, (env, actions) => {
              const means = (env as unknown as { means: Float64Array }).means;
              const k = env.numActions;
              const sd = 0.3;
              const r = env.rewards;
              if (options.reward === 'bernoulli') {
                for (let i = 0; i < n; i++) expect(r[i]).toBe(noise.uniform() < means[i * k + actions[i]] ? 1 : 0);
                return;
              }
              const expected = new Float32Array(n);
              let i = 0;
              for (; i + 1 < n; i += 2) {
                const u1 = 1 - noise.uniform();
                const u2 = noise.uniform();
                const rr = sd * Math.sqrt(-2 * Math.log(u1));
                const th = 2 * Math.PI * u2;
                expected[i] = means[i * k + actions[i]] + rr * Math.cos(th);
                expected[i + 1] = means[(i + 1) * k + actions[i + 1]] + rr * Math.sin(th);
              }
              if (i < n) {
                const u1 = 1 - noise.uniform();
                const u2 = noise.uniform();
                expected[i] = means[i * k + actions[i]] + sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
              }
              expect(r).toEqual(expected);
            }),
          );
        }
      }
    });
  }

  it('rewards are pinned (values recorded before the bulk fills, on Node.js 20)', () => {
    const pinned: Record<string, string> = {
      'bandit{}n1': '9b3394f36b0e7ce9',
      'bandit{}n7': 'cae14ad27f9a7cb0',
      'bandit{}n4097': 'bccdf9d88a55ff7e',
      'bandit{"reward":"bernoulli"}n1': 'c7d099d28bab4d49',
      'bandit{"reward":"bernoulli"}n7': '0c233d4429f775d1',
      'bandit{"reward":"bernoulli"}n4097': '065095b0da0dd61d',
      'linear-bandit{}n1': '66d1d938adb7bf83',
      'linear-bandit{}n7': 'e181b7fd444e7a0d',
      'linear-bandit{}n4097': '916c90eae129a1f9',
    };
    for (const backend of ['wasm', 'reference'] as const) {
      withBackend(backend, () => {
        for (const [family, options] of CASES) {
          for (const n of [1, 7, 4097]) expect(hash(run(family, options, n))).toBe(pinned[`${family}${JSON.stringify(options)}n${n}`]);
        }
      });
    }
  });
});
