/**
 * DPT pretraining samples (docs/protocols.md): for each task an in-context dataset of T transitions from a
 * roll-in policy, a query state, and the optimal action at the query state.
 *
 * Roll-ins (discrete actions):
 *  - `dirichlet` (bandits, the DPT protocol): arm probabilities p = (1 - w) Dir(1, ..., 1) + w e_best
 *    with the optimal arm's extra weight w drawn from {0, 0.1, ..., 1}; each context pull draws an
 *    arm from p. The policy depends on the task, so pull counts carry information about the label
 *    that no online learner's history carries (a model can learn "most pulled = best").
 *  - `dirichlet-flat`: p = Dir(alpha, ..., alpha) per context with alpha drawn log-uniformly from
 *    [0.1, 10], no weight on the optimal arm: unbalanced pull counts that say nothing of the label.
 *  - `uniform` (MDPs such as Dark Room): uniformly random actions from the start state, episodes
 *    resetting as usual.
 *  - `{ algorithm: spec }`: the context is the play of a source algorithm of the algorithms registry
 *    (e.g. `{ kind: thompson }`), which sees only its own observations: contexts shaped like an online
 *    learner's history (the distribution a DPT meets when it plays), and since the roll-in policy
 *    depends on the task only through the rewards observed, the label's posterior given the context
 *    is the same as under any other task-blind roll-in.
 *  - `{ mixture: [{ weight, rollin }, ...] }`: each context draws one of the above by weight.
 * Query state: bandits have one state (the constant observation). Dark Room: a cell drawn uniformly,
 * labelled by the shortest move toward the goal (through the task's action permutation). Other
 * families: the state reached after a further random number (0..horizon-1) of uniform random steps,
 * labelled by the environment's oracle.
 */
import type { BatchedEnv } from '../envs/types.js';
import type { Task } from '../tasks/taskSpace.js';
import type { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';
import { BoxSpace } from '../core/spaces.js';
import { getFamily } from '../envs/index.js';
import { allocDptDataset, type DptDataset } from './datasets.js';
import { z } from 'zod';
import { makeAgent } from '../algorithms/index.js';
import type { Agent } from '../algorithms/agent.js';

export type RollinKind = 'dirichlet' | 'dirichlet-flat' | 'uniform';
export type RollinComponent = RollinKind | { algorithm: Record<string, unknown> };
export type Rollin = RollinComponent | { mixture: { weight: number; rollin: RollinComponent }[] };

const RollinComponentSchema = z.union([
  z.enum(['dirichlet', 'dirichlet-flat', 'uniform']),
  z.object({ algorithm: z.record(z.string(), z.unknown()) }).strict(),
]);
/** The config schema of a roll-in (shared by `icrl collect` and `icrl train`). */
export const RollinSchema: z.ZodType<Rollin> = z.union([
  RollinComponentSchema,
  z
    .object({ mixture: z.array(z.object({ weight: z.number().positive(), rollin: RollinComponentSchema }).strict()).min(1) })
    .strict(),
]);

/** The protocol's roll-in of a family: Dirichlet arm probabilities for bandit families, uniform actions otherwise. */
export function defaultRollin(family: string): Rollin {
  return getFamily(family).setting === 'bandit' ? 'dirichlet' : 'uniform';
}

/**
 * Generates one DPT sample per instance of `env` (tasks already set, numEnvs = tasks.length) into a
 * new dataset; taskIndex[i] = firstTask + i. Returns also the transitions taken (for throughput).
 */
export function generateDptSamples(env: BatchedEnv, tasks: Task[], T: number, rollin: Rollin, rng: Rng, firstTask: number): DptDataset {
  const n = env.numEnvs;
  if (tasks.length !== n) throw new IcrlError(`DPT: ${tasks.length} tasks for ${n} instances`);
  const d = env.obsDim;
  const K = env.numActions;
  if (K === 0) {
    if (rollin !== 'uniform') throw new IcrlError(`DPT: ${env.family} has continuous actions; its roll-in is uniform in the action box (got ${JSON.stringify(rollin)})`);
    return generateContinuous(env, tasks, T, rng, firstTask);
  }
  const ds = allocDptDataset(n, T, d, K, 0);
  env.setTasks(tasks);
  env.reset(rng.split('env').nextU32());
  const arng = rng.split('actions');
  const roll = prepareRollin(env, rollin, rng.split('policy'));
  const actions = new Int32Array(n);
  const ca = ds.contextActions as Int32Array;
  const cs = ds.contextStates;
  const cx = ds.contextNextStates;
  const cr = ds.contextRewards;
  for (let t = 0; t < T; t++) {
    const obs = env.obs;
    for (let i = 0; i < n; i++) {
      const o = (i * T + t) * d;
      for (let q = 0; q < d; q++) cs[o + q] = obs[i * d + q];
    }
    roll.act(obs, actions, arng);
    env.step(actions);
    const rew = env.rewards;
    const term = env.terminated;
    const trunc = env.truncated;
    const next = env.obs;
    const fin = env.finalObs;
    for (let i = 0; i < n; i++) {
      const r = i * T + t;
      ca[r] = actions[i];
      cr[r] = rew[i];
      const src = term[i] === 1 || trunc[i] === 1 ? fin : next;
      for (let q = 0; q < d; q++) cx[r * d + q] = src[i * d + q];
    }
    roll.observe(actions, rew, next, term, trunc);
  }
  const opt = ds.optimalActions as Int32Array;
  const qrng = rng.split('query');
  if (env.setting === 'bandit') {
    for (let i = 0; i < n; i++) {
      ds.queryStates.set(env.obs.subarray(i * d, i * d + d), i * d);
      opt[i] = env.oracleAction(i);
    }
  } else if (env.queryState) {
    // the family's own query distribution (Dark Room: a uniform cell)
    for (let i = 0; i < n; i++) opt[i] = env.queryState(i, qrng, ds.queryStates.subarray(i * d, i * d + d));
  } else {
    const extra = new Int32Array(n);
    for (let i = 0; i < n; i++) extra[i] = qrng.int(Math.max(1, env.horizon));
    const done = new Uint8Array(n);
    for (let s = 0; ; s++) {
      let pending = 0;
      for (let i = 0; i < n; i++) {
        if (!done[i] && s === extra[i]) {
          ds.queryStates.set(env.obs.subarray(i * d, i * d + d), i * d);
          opt[i] = env.oracleAction(i);
          done[i] = 1;
        }
        if (!done[i]) pending++;
        actions[i] = arng.int(K);
      }
      if (pending === 0) break;
      env.step(actions);
    }
  }
  for (let i = 0; i < n; i++) ds.taskIndex[i] = firstTask + i;
  return ds;
}

interface PreparedRollin {
  act(obs: Float32Array, out: Int32Array, arng: Rng): void;
  observe(actions: Int32Array, rewards: Float32Array, obs: Float32Array, terminated: Uint8Array, truncated: Uint8Array): void;
}

/**
 * Draws each instance's roll-in component and policy (Dirichlet arm probabilities as cumulative
 * sums; one uniform draw per pull) and builds the source algorithms of algorithm components, each
 * reset on the whole batch (it acts for every instance; only its own instances take its actions, but
 * it observes what every instance did, which is what a task-blind agent would see of them).
 */
function prepareRollin(env: BatchedEnv, rollin: Rollin, prng: Rng): PreparedRollin {
  const n = env.numEnvs;
  const K = env.numActions;
  const mix = typeof rollin === 'object' && 'mixture' in rollin ? rollin.mixture : [{ weight: 1, rollin }];
  const comps = mix.map((m) => m.rollin);
  const weights = mix.map((m) => m.weight);
  const compOf = new Int32Array(n);
  if (comps.length > 1) {
    const wrng = prng.split('mixture');
    for (let i = 0; i < n; i++) compOf[i] = wrng.choice(weights);
  }
  const cum = new Float64Array(n * K);
  const agents: (Agent | null)[] = comps.map((c, j) => {
    if (typeof c !== 'object') return null;
    const agent = makeAgent(c.algorithm, 'rollin.algorithm');
    const r = agent.reset(env, prng.split(`agent${j}`));
    if (r instanceof Promise) throw new IcrlError(`DPT roll-in: ${agent.name} resets asynchronously; roll-in algorithms must be synchronous`);
    return agent;
  });
  const ones = new Float64Array(K).fill(1);
  const alpha = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const c = comps[compOf[i]];
    if (c !== 'dirichlet' && c !== 'dirichlet-flat') continue;
    let p: Float64Array;
    let best = -1;
    let w = 0;
    if (c === 'dirichlet') {
      p = prng.dirichlet(ones);
      w = prng.int(11) / 10;
      best = env.oracleAction(i);
    } else {
      alpha.fill(Math.exp(Math.log(0.1) + prng.uniform53() * Math.log(100)));
      p = prng.dirichlet(alpha);
    }
    let acc = 0;
    for (let a = 0; a < K; a++) {
      acc += (1 - w) * p[a] + (a === best ? w : 0);
      cum[i * K + a] = acc;
    }
    cum[i * K + K - 1] = Infinity; // rounding: the last arm takes the remainder
  }
  const agentActions = agents.map((a) => (a ? new Int32Array(n) : null));
  return {
    act(obs, out, arng) {
      agents.forEach((a, j) => {
        if (!a) return;
        const r = a.act(obs, agentActions[j]!);
        if (r instanceof Promise) throw new IcrlError(`DPT roll-in: ${a.name} acts asynchronously; roll-in algorithms must be synchronous`);
      });
      for (let i = 0; i < n; i++) {
        const j = compOf[i];
        const c = comps[j];
        if (c === 'uniform') out[i] = arng.int(K);
        else if (typeof c === 'object') out[i] = agentActions[j]![i];
        else {
          const u = arng.uniform53();
          let a = 0;
          while (u >= cum[i * K + a]) a++;
          out[i] = a;
        }
      }
    },
    observe(actions, rewards, obs, terminated, truncated) {
      for (const a of agents) a?.observe({ actions, rewards, obs, terminated, truncated });
    },
  };
}

/**
 * Continuous actions (e.g. point-robot): uniform random actions in the action box as roll-in, the
 * query state after a further random number of random steps, labelled with the oracle's action.
 */
function generateContinuous(env: BatchedEnv, tasks: Task[], T: number, rng: Rng, firstTask: number): DptDataset {
  const n = env.numEnvs;
  const d = env.obsDim;
  const A = env.actDim;
  const space = env.actionSpace;
  if (!(space instanceof BoxSpace)) throw new IcrlError(`DPT: ${env.family} has neither discrete actions nor a box action space`);
  const lo = Array.from({ length: A }, (_, q) => space.spec.low[space.spec.low.length === 1 ? 0 : q]);
  const hi = Array.from({ length: A }, (_, q) => space.spec.high[space.spec.high.length === 1 ? 0 : q]);
  const ds = allocDptDataset(n, T, d, 0, A);
  env.setTasks(tasks);
  env.reset(rng.split('env').nextU32());
  const arng = rng.split('actions');
  const actions = new Float32Array(n * A);
  const draw = (): void => {
    for (let i = 0; i < n; i++) {
      // rounding to float32 is monotone, so the stored value stays within the float32 bounds the env checks
      for (let q = 0; q < A; q++) actions[i * A + q] = arng.uniformRange(lo[q], hi[q]);
    }
  };
  const ca = ds.contextActions as Float32Array;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < n; i++) for (let q = 0; q < d; q++) ds.contextStates[(i * T + t) * d + q] = env.obs[i * d + q];
    draw();
    env.step(actions);
    for (let i = 0; i < n; i++) {
      const r = i * T + t;
      for (let q = 0; q < A; q++) ca[r * A + q] = actions[i * A + q];
      ds.contextRewards[r] = env.rewards[i];
      const src = env.terminated[i] === 1 || env.truncated[i] === 1 ? env.finalObs : env.obs;
      for (let q = 0; q < d; q++) ds.contextNextStates[r * d + q] = src[i * d + q];
    }
  }
  const qrng = rng.split('query');
  const extra = Int32Array.from({ length: n }, () => qrng.int(Math.max(1, env.horizon)));
  const done = new Uint8Array(n);
  const buf = new Float32Array(Math.max(2, A));
  const opt = ds.optimalActions as Float32Array;
  for (let s = 0; ; s++) {
    let pending = 0;
    for (let i = 0; i < n; i++) {
      if (!done[i] && s === extra[i]) {
        for (let q = 0; q < d; q++) ds.queryStates[i * d + q] = env.obs[i * d + q];
        env.oracleAction(i, buf);
        for (let q = 0; q < A; q++) opt[i * A + q] = buf[q];
        done[i] = 1;
      }
      if (!done[i]) pending++;
    }
    if (pending === 0) break;
    draw();
    env.step(actions);
  }
  for (let i = 0; i < n; i++) ds.taskIndex[i] = firstTask + i;
  return ds;
}
