/**
 * Trained models as agents: `modelAgent` (the model kind's own agent), `loadModelAgent` (a model or
 * training run directory), and the `model` entry of the evaluation agents (`modelAgentFromSpec`).
 */
import { isAbsolute, resolve } from 'node:path';
import type { Agent } from '../algorithms/agent.js';
import { ConfigError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { makeBatchedEnv } from '../envs/index.js';
import { loadInContextModel } from './io.js';
import { modelKinds } from './kinds.js';
import type { ModelAgentOptions } from './agents.js';
import type { InContextModel } from './types.js';

/** An agent for a loaded model. */
export function modelAgent(model: InContextModel, opts: ModelAgentOptions = {}): Agent {
  return modelKinds.get(model.kind).agent(model, opts);
}

/** Loads a model directory (or a training run directory) and wraps it as an agent. */
export function loadModelAgent(path: string, opts: ModelAgentOptions = {}): Agent {
  return modelAgent(loadInContextModel(path).model, opts);
}

/**
 * Factory for the evaluation registry: `{ type: model, checkpoint: <dir>, actionSelection?: sample |
 * greedy, temperature?: number, context?: steps | episodes }` (context: DPT's online context, see
 * DPTAgent); `checkpoint` is a model directory or a training run directory,
 * relative to `baseDir`.
 */
export function modelAgentFromSpec(spec: Record<string, unknown>, ctx: { baseDir: string; source: string; family?: string; envOptions?: Record<string, unknown> }): Agent {
  const allowed = new Set(['type', 'name', 'checkpoint', 'actionSelection', 'temperature', 'context']);
  for (const k of Object.keys(spec)) if (!allowed.has(k)) throw new ConfigError(`${ctx.source}.${k}: unknown option of a model agent (known: checkpoint, actionSelection, temperature, context, name)`, ctx.source);
  const ck = spec.checkpoint;
  if (typeof ck !== 'string' || ck.length === 0) throw new ConfigError(`${ctx.source}.checkpoint: a model agent needs the path of a trained model (e.g. runs/dpt-bandit)`, ctx.source);
  const sel = spec.actionSelection ?? 'sample';
  if (sel !== 'sample' && sel !== 'greedy') throw new ConfigError(`${ctx.source}.actionSelection: must be "sample" or "greedy", got ${JSON.stringify(sel)}`, ctx.source);
  const temperature = spec.temperature ?? 1;
  if (typeof temperature !== 'number' || !(temperature > 0)) throw new ConfigError(`${ctx.source}.temperature: must be a positive number`, ctx.source);
  const context = spec.context ?? 'steps';
  if (context !== 'steps' && context !== 'episodes') throw new ConfigError(`${ctx.source}.context: must be "steps" or "episodes", got ${JSON.stringify(context)}`, ctx.source);
  const path = isAbsolute(ck) ? ck : resolve(ctx.baseDir, ck);
  const { model } = loadInContextModel(path);
  if (ctx.family && model.dims.family !== ctx.family) throw new ConfigError(`${ctx.source}.checkpoint: the model at ${ck} was trained on ${model.dims.family}, the evaluation runs ${ctx.family}`, ctx.source);
  if (context === 'episodes' && model.kind !== 'dpt') throw new ConfigError(`${ctx.source}.context: "episodes" is an option of DPT models; the model at ${ck} is ${model.kind}`, ctx.source);
  if (ctx.family && ctx.envOptions) {
    // the evaluation's environments must have the shapes the model was built for (checked before any agent runs)
    const env = makeBatchedEnv(ctx.family, 1, ctx.envOptions, new Rng(0));
    const d = model.dims;
    for (const [what, m, e] of [
      ['observation size', d.obsDim, env.obsDim],
      ['number of actions', d.numActions, env.numActions],
      ['action size', d.actDim, env.actDim],
    ] as const) {
      if (m !== e) throw new ConfigError(`${ctx.source}.checkpoint: the model at ${ck} was trained with ${what} ${m} (${d.family} ${JSON.stringify(d.envOptions)}), the evaluation's environment has ${e} (${ctx.family} ${JSON.stringify(ctx.envOptions)})`, ctx.source);
    }
  }
  return modelAgent(model, { actionSelection: sel, temperature, context, name: typeof spec.name === 'string' ? spec.name : undefined });
}
