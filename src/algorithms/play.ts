/**
 * The loop that plays an agent against a batched environment: act, step, observe. `onStep` sees every
 * transition before the agent observes it (collection records histories from it).
 */
import type { Agent, StepOutcome } from './agent.js';
import type { BatchedEnv } from '../envs/types.js';
import type { Rng } from '../core/rng.js';

export interface Transition extends StepOutcome {
  /** Step number (0-based) since the start of play. */
  step: number;
  /** Observations the actions were taken from. */
  prevObs: Float32Array;
  /** State indices the actions were taken from (tabular families; empty otherwise). */
  prevState: Int32Array;
}

/**
 * Resets `agent` on `env` (its tasks already set; the environment is reset here with `envSeed`) and
 * plays `steps` steps. Returns nothing: use `onStep` to record.
 */
export async function play(env: BatchedEnv, agent: Agent, steps: number, rng: Rng, onStep?: (t: Transition) => void, envSeed?: number): Promise<void> {
  env.reset(envSeed);
  await agent.reset(env, rng);
  const actions = env.numActions > 0 ? new Int32Array(env.numEnvs) : new Float32Array(env.numEnvs * env.actDim);
  const prevObs = new Float32Array(env.obs.length);
  const prevState = new Int32Array(env.numStates > 0 ? env.numEnvs : 0);
  for (let t = 0; t < steps; t++) {
    prevObs.set(env.obs);
    if (prevState.length > 0) prevState.set(env.stateIndex);
    const r = agent.act(env.obs, actions);
    if (r instanceof Promise) await r;
    env.step(actions);
    const outcome: Transition = { step: t, actions, rewards: env.rewards, obs: env.obs, terminated: env.terminated, truncated: env.truncated, prevObs, prevState };
    onStep?.(outcome);
    agent.observe(outcome);
  }
}
