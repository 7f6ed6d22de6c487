/**
 * In-context demonstrations for the LLM agent: a source algorithm plays a few other tasks of the same
 * family (drawn from the task space with the agent's seed) and its trajectories are written into the
 * system prompt, so the LLM can imitate (distil) the algorithm. Built-in sources: `oracle` (the
 * environment's optimal action), `ucb` (UCB1, bandits), `random`; any other name is looked up with the
 * factory the caller provides (the algorithms registry).
 */
import { z } from 'zod';
import type { Agent, StepOutcome } from '../../algorithms/agent.js';
import type { ActionArray, BatchedEnv } from '../../envs/types.js';
import { getFamily } from '../../envs/index.js';
import { IcrlError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { newMemory, recordStep, ucbIndices, type InstanceMemory, type PromptKind } from './prompts.js';

export const demonstrationsSchema = z
  .object({
    /** oracle | ucb | random, or an algorithm name known to the algorithms registry. */
    source: z.string().min(1).default('oracle'),
    /** Number of demonstration tasks. */
    tasks: z.number().int().min(1).max(50).default(2),
    /** Pulls per task (bandits). */
    steps: z.number().int().min(1).max(10_000).default(20),
    /** Episodes per task (MDPs). */
    episodes: z.number().int().min(1).max(100).default(1),
    /** Most lines of trajectory shown per task (the last ones). */
    maxLines: z.number().int().min(1).max(10_000).default(40),
  })
  .strict();

export type DemonstrationsSpec = z.output<typeof demonstrationsSchema>;

/** Makes a source agent by name for `env`, or returns null when the name is unknown. */
export type SourceAgentFactory = (name: string, env: BatchedEnv) => Agent | null | Promise<Agent | null>;

class BuiltinSource implements Agent {
  private env!: BatchedEnv;
  private rng!: Rng;
  private mem: InstanceMemory[] = [];
  constructor(readonly name: 'oracle' | 'ucb' | 'random') {}
  reset(env: BatchedEnv, rng: Rng): void {
    this.env = env;
    this.rng = rng;
    this.mem = Array.from({ length: env.numEnvs }, () => newMemory(env.numActions));
  }
  act(_obs: Float32Array, out: ActionArray): void {
    for (let i = 0; i < this.env.numEnvs; i++) {
      if (this.name === 'oracle') out[i] = this.env.oracleAction(i);
      else if (this.name === 'random') out[i] = this.rng.int(this.env.numActions);
      else {
        const idx = ucbIndices(this.mem[i], 1);
        let best = 0;
        for (let a = 1; a < idx.length; a++) if (idx[a] > idx[best]) best = a;
        out[i] = best;
      }
    }
  }
  observe(o: StepOutcome): void {
    for (let i = 0; i < this.env.numEnvs; i++) {
      this.mem[i].t++;
      this.mem[i].counts[o.actions[i]] += 1;
      this.mem[i].sums[o.actions[i]] += o.rewards[i];
    }
  }
}

async function makeSource(name: string, env: BatchedEnv, factory?: SourceAgentFactory): Promise<Agent> {
  if (name === 'oracle' || name === 'ucb' || name === 'random') return new BuiltinSource(name);
  const a = await factory?.(name, env);
  if (!a) throw new IcrlError(`llm agent: demonstrations.source "${name}" is unknown; use oracle, ucb, random${factory ? ' or a registered algorithm' : ''}`);
  return a;
}

/** Runs the source on demonstration tasks and formats their trajectories. */
export async function demonstrationText(env: BatchedEnv, kind: PromptKind, spec: DemonstrationsSpec, rng: Rng, factory?: SourceAgentFactory): Promise<string> {
  const n = spec.tasks;
  const demoEnv = getFamily(env.family).make(n, env.options as Record<string, unknown>, rng.split('env'));
  const tasks = env.taskSpace.sampleMany(rng.split('tasks'), n);
  demoEnv.setTasks(tasks);
  demoEnv.reset(rng.split('reset').nextU32());
  const agent = await makeSource(spec.source, demoEnv, factory);
  const r = agent.reset(demoEnv, rng.split('agent'));
  if (r instanceof Promise) await r;
  const mem = Array.from({ length: n }, () => newMemory(demoEnv.numActions));
  const out = new Int32Array(n);
  const d = demoEnv.obsDim;
  const before = new Float32Array(demoEnv.obs.length);
  const totalSteps = kind === 'mdp' ? spec.episodes * demoEnv.horizon : spec.steps;
  const keep = spec.maxLines;
  for (let t = 0; t < totalSteps; t++) {
    before.set(demoEnv.obs);
    const p = agent.act(demoEnv.obs, out);
    if (p instanceof Promise) await p;
    demoEnv.step(out);
    for (let i = 0; i < n; i++) {
      const ended = demoEnv.terminated[i] === 1 || demoEnv.truncated[i] === 1;
      recordStep(kind, mem[i], before.subarray(i * d, (i + 1) * d), out[i], demoEnv.rewards[i], ended, keep);
    }
    agent.observe({ actions: out, rewards: demoEnv.rewards, obs: demoEnv.obs, terminated: demoEnv.terminated, truncated: demoEnv.truncated });
  }
  const what = kind === 'mdp' ? `${spec.episodes} episode${spec.episodes > 1 ? 's' : ''}` : `${spec.steps} turns`;
  const blocks = mem.map((m, i) => {
    const shown = m.raw.length < m.t ? ` (last ${m.raw.length} of ${m.t} steps)` : '';
    return `Demonstration ${i + 1}: another task of this kind, played by the ${agent.name} algorithm for ${what}${shown}:\n${m.raw.join('\n')}`;
  });
  return `Here is how a good algorithm (${agent.name}) played other tasks of the same kind; the hidden parameters differ in your task, but the way to play is the same.\n\n${blocks.join('\n\n')}`;
}
