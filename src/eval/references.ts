/**
 * The two reference agents every evaluation is drawn against: random (uniform actions) and the
 * oracle (the environment's optimal action in the current state). They live here rather than in the
 * algorithms registry so that the reference lines of a report never depend on a baseline's settings.
 */
import type { Agent, StepOutcome } from '../algorithms/agent.js';
import type { ActionArray, BatchedEnv } from '../envs/types.js';
import type { Rng } from '../core/rng.js';
import { BoxSpace } from '../core/spaces.js';

export class RandomReferenceAgent implements Agent {
  readonly name = 'random';
  private env: BatchedEnv | null = null;
  private rng: Rng | null = null;
  private low: number[] = [];
  private high: number[] = [];

  reset(env: BatchedEnv, rng: Rng): void {
    this.env = env;
    this.rng = rng;
    if (env.numActions === 0) {
      const space = env.actionSpace;
      if (!(space instanceof BoxSpace)) throw new Error(`random agent: ${env.family} has neither discrete actions nor a box action space`);
      const spec = space.spec;
      this.low = Array.from({ length: env.actDim }, (_, k) => spec.low[spec.low.length === 1 ? 0 : k]);
      this.high = Array.from({ length: env.actDim }, (_, k) => spec.high[spec.high.length === 1 ? 0 : k]);
    }
  }

  act(_obs: Float32Array, out: ActionArray): void {
    const env = this.env!;
    const rng = this.rng!;
    if (env.numActions > 0) {
      for (let i = 0; i < env.numEnvs; i++) out[i] = rng.int(env.numActions);
    } else {
      const d = env.actDim;
      for (let i = 0; i < env.numEnvs; i++) for (let k = 0; k < d; k++) out[i * d + k] = rng.uniformRange(this.low[k], this.high[k]);
    }
  }

  observe(_outcome: StepOutcome): void {}
}

export class OracleReferenceAgent implements Agent {
  readonly name = 'oracle';
  private env: BatchedEnv | null = null;
  private readonly buf = new Float32Array(64);

  reset(env: BatchedEnv): void {
    this.env = env;
  }

  act(_obs: Float32Array, out: ActionArray): void {
    const env = this.env!;
    if (env.numActions > 0) {
      for (let i = 0; i < env.numEnvs; i++) out[i] = env.oracleAction(i);
    } else {
      const d = env.actDim;
      for (let i = 0; i < env.numEnvs; i++) {
        env.oracleAction(i, this.buf);
        for (let k = 0; k < d; k++) out[i * d + k] = this.buf[k];
      }
    }
  }

  observe(_outcome: StepOutcome): void {}
}
