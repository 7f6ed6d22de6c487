/**
 * Random search, then the goal: uniformly random actions on each instance until its first positive
 * reward, then the environment's optimal action for the rest of the run (every later episode). For
 * a sparse-reward family whose reward marks the goal (Dark Room), it is an idealised in-context
 * learner: it explores without memory until it has found the goal once, then walks straight to it.
 * As a distillation source (docs/long-context.md) its switch is triggered by an event the context
 * shows (the first reward), not by the step count, and its exploring actions are plain uniform
 * draws.
 */
import type { Agent, StepOutcome } from './agent.js';
import type { ActionArray, BatchedEnv } from '../envs/types.js';
import type { Rng } from '../core/rng.js';
import { IcrlError } from '../core/errors.js';

export class RandomUntilRewardAgent implements Agent {
  readonly name = 'random-until-reward';
  private env!: BatchedEnv;
  private rng!: Rng;
  /** 1 once instance i has received a positive reward. */
  found = new Uint8Array(0);

  reset(env: BatchedEnv, rng: Rng): void {
    if (env.numActions < 1) throw new IcrlError(`random-until-reward: needs discrete actions; ${env.family} has continuous actions`);
    if (env.exactOracle === false) throw new IcrlError(`random-until-reward: ${env.family} has no exact oracle action`);
    this.env = env;
    this.rng = rng;
    this.found = new Uint8Array(env.numEnvs);
  }

  act(_obs: Float32Array, out: ActionArray): void {
    const env = this.env;
    for (let i = 0; i < env.numEnvs; i++) out[i] = this.found[i] === 1 ? env.oracleAction(i) : this.rng.int(env.numActions);
  }

  observe(o: StepOutcome): void {
    for (let i = 0; i < this.env.numEnvs; i++) if (o.rewards[i] > 0) this.found[i] = 1;
  }
}
