/**
 * The agents an evaluation config can name. An agent spec is a small JSON object: `type` picks the
 * kind, `name` (optional) is the label in the report, the other keys are the kind's options, e.g.
 * `{ type: ucb, c: 1.0 }`, `{ type: model, checkpoint: runs/dpt/checkpoint }`, `{ type: llm, ... }`.
 *
 * There is one registry of agent kinds (`agentKinds` of src/algorithms: ucb, thompson, greedy, lcb,
 * random, oracle, ...); this file adds the evaluation-only kinds `llm` and `model`, loaded lazily (an
 * evaluation only loads what it uses). `kind` is accepted as an alias of `type`.
 */
import { z } from 'zod';
import type { Agent } from '../algorithms/agent.js';
import { PromptedAgent, listAgentKinds, makeAgentFrom, registerAgentKind, type AgentContext } from '../algorithms/index.js';
import { ConfigError } from '../core/errors.js';

export type { AgentContext } from '../algorithms/index.js';

export interface AgentSpec {
  type: string;
  name?: string;
  [option: string]: unknown;
}

/** Agent types an evaluation can name, sorted by name. */
export function listAgentTypes(): { type: string; description: string }[] {
  return listAgentKinds().map((k) => ({ type: k.kind, description: k.description }));
}

/** Label of an agent in results and reports: its `name`, else the type with its options. */
export function agentLabel(spec: AgentSpec): string {
  if (spec.name) return spec.name;
  const opts = Object.entries(spec)
    .filter(([k]) => k !== 'type' && k !== 'name')
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return opts.length > 0 && opts.join(',').length <= 30 ? `${spec.type}(${opts.join(',')})` : spec.type;
}

/** Builds the agent of `spec`; an unknown type is an error that names the spec and lists the known types. */
export async function makeEvalAgent(spec: AgentSpec, ctx: AgentContext): Promise<Agent> {
  return makeAgentFrom(spec, ctx, 'type');
}

// The options of these two kinds are validated by their own (lazily loaded) strict schemas.
const checkedByFactory = z.record(z.string(), z.unknown());
/** A model agent's `prompt`: its first episodes played by another agent (PromptedAgent). */
const promptSchema = z.object({ episodes: z.number().int().min(1), agent: z.record(z.string(), z.unknown()) }).strict();
registerAgentKind(
    'llm',
    checkedByFactory,
    async (options, ctx) => (await import('./llm/evalEntry.js')).makeLlmEvalAgent({ type: 'llm', ...(ctx.name !== undefined ? { name: ctx.name } : {}), ...options }, ctx),
  'an LLM playing through text on an OpenAI-compatible endpoint (see docs/llm.md)',
  { evaluationOnly: true },
);
registerAgentKind(
    'model',
    checkedByFactory,
    async ({ prompt, ...options }, ctx) => {
      const model = (await import('../models/load.js')).modelAgentFromSpec({ type: 'model', ...(ctx.name !== undefined ? { name: ctx.name } : {}), ...options }, { baseDir: ctx.baseDir ?? '.', source: ctx.source, family: ctx.family, envOptions: ctx.envOptions });
      if (prompt === undefined) return model;
      // prompt: the model's first episodes played by another agent, which the model observes
      const field = `${ctx.source}.prompt`;
      const p = promptSchema.safeParse(prompt);
      if (!p.success) throw new ConfigError(`${field}: expected { episodes: <positive integer>, agent: <agent spec> } (the first episodes played by that agent, observed by the model), got ${JSON.stringify(prompt)}`, ctx.source, 'prompt');
      const prompter = await makeEvalAgent(p.data.agent as AgentSpec, { source: `${field}.agent`, family: ctx.family, envOptions: ctx.envOptions, baseDir: ctx.baseDir });
      return new PromptedAgent(model, prompter, p.data.episodes);
    },
  'a trained in-context model (DPT, AD, T2MIR): { checkpoint: <training run or model folder>, actionSelection: sample | greedy, temperature, context: steps | episodes (DPT), prompt: { episodes, agent } (its first episodes played by that agent, e.g. an expert, with the model observing them) }',
  { evaluationOnly: true },
);
