/**
 * An agent whose first episodes are played by another one (a prompt): for each instance, until it
 * has finished `episodes` episodes, the prompter's action is taken; the agent itself acts too (so
 * that whatever it keeps per step stays in step) but its action is not used, and it observes every
 * transition, the prompter's included. From then on it plays alone, with the prompt's episodes in
 * its history: a trained in-context model given a context played by an expert (DPT's offline
 * setting) instead of its own first episodes. The returns of the prompt's episodes are the
 * prompter's.
 */
import type { ActionArray, BatchedEnv } from '../envs/types.js';
import type { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';
import type { Agent, StepOutcome } from './agent.js';

export class PromptedAgent implements Agent {
  readonly name: string;
  private done = new Int32Array(0);
  private tmp: ActionArray = new Float32Array(0);
  private width = 1;

  constructor(
    readonly inner: Agent,
    readonly prompter: Agent,
    readonly episodes: number,
    name?: string,
  ) {
    if (!Number.isInteger(episodes) || episodes < 1) throw new IcrlError(`prompt: episodes must be a positive integer, got ${episodes}`);
    this.name = name ?? inner.name;
  }

  async reset(env: BatchedEnv, rng: Rng): Promise<void> {
    await this.prompter.reset(env, rng.split('prompt'));
    await this.inner.reset(env, rng);
    this.done = new Int32Array(env.numEnvs);
    this.width = env.numActions > 0 ? 1 : env.actDim;
    this.tmp = env.numActions > 0 ? new Int32Array(env.numEnvs) : new Float32Array(env.numEnvs * env.actDim);
  }

  async act(obs: Float32Array, out: ActionArray): Promise<void> {
    await this.inner.act(obs, out);
    if (!this.done.some((d) => d < this.episodes)) return;
    await this.prompter.act(obs, this.tmp);
    const w = this.width;
    for (let i = 0; i < this.done.length; i++) if (this.done[i] < this.episodes) for (let c = 0; c < w; c++) out[i * w + c] = this.tmp[i * w + c];
  }

  observe(o: StepOutcome): void {
    this.inner.observe(o);
    this.prompter.observe(o);
    for (let i = 0; i < this.done.length; i++) if (o.terminated[i] === 1 || o.truncated[i] === 1) this.done[i]++;
  }
}
