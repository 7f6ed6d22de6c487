/**
 * The agents an evaluation config can name. An agent spec is a small JSON object: `type` picks the
 * factory, `name` (optional) is the label in the report, the other keys are the factory's options,
 * e.g. `{ type: ucb, c: 1.0 }`, `{ type: model, checkpoint: runs/dpt/checkpoint }`, `{ type: llm, ... }`.
 *
 * Built in here: the references `random` and `oracle`, and lazily loaded entries for LLM agents and
 * trained models (an evaluation only loads what it uses). Any other type is looked up in the
 * algorithms registry (`makeAgent` of src/algorithms: ucb, thompson, greedy, lcb, ...); `kind` is
 * accepted as an alias of `type`.
 */
import type { Agent } from '../algorithms/agent.js';
import { listAgentKinds, makeAgent } from '../algorithms/index.js';
import { UnknownNameError, ConfigError } from '../core/errors.js';
import { OracleReferenceAgent, RandomReferenceAgent } from './references.js';

export interface AgentSpec {
  type: string;
  name?: string;
  [option: string]: unknown;
}

/** What a factory may need besides its spec. */
export interface AgentContext {
  /** Environment family and options of the evaluation. */
  family: string;
  envOptions: Record<string, unknown>;
  /** Folder that relative paths in the spec (checkpoints) resolve against. */
  baseDir: string;
  /** Where the spec comes from, for error messages (e.g. "configs/eval.yaml: online.agents[2]"). */
  source: string;
}

export type AgentFactory = (spec: AgentSpec, ctx: AgentContext) => Agent | Promise<Agent>;

interface Entry {
  factory: AgentFactory;
  description: string;
}

const registry = new Map<string, Entry>();

/** Adds (or replaces) the factory of agent `type`. */
export function registerAgent(type: string, factory: AgentFactory, description: string): void {
  registry.set(type, { factory, description });
}

/** Agent types an evaluation can name (this registry and the algorithms registry), sorted by name. */
export function listAgentTypes(): { type: string; description: string }[] {
  const all = new Map<string, string>();
  for (const k of listAgentKinds()) all.set(k.kind, k.description);
  for (const [type, e] of registry) all.set(type, e.description);
  return [...all.entries()].map(([type, description]) => ({ type, description })).sort((a, b) => a.type.localeCompare(b.type));
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
  const e = registry.get(spec.type);
  if (e) return e.factory(spec, ctx);
  // Everything else comes from the algorithms registry (classical baselines, source algorithms).
  if (listAgentKinds().some((k) => k.kind === spec.type)) {
    const { type, name: _name, ...options } = spec;
    return makeAgent({ kind: type, ...options }, ctx.source);
  }
  const err = new UnknownNameError('agent type', spec.type, listAgentTypes().map((t) => t.type));
  throw new ConfigError(`${ctx.source}.type: ${err.message}`, ctx.source.split(':')[0], 'type');
}

function noOptions(spec: AgentSpec, ctx: AgentContext): void {
  const extra = Object.keys(spec).filter((k) => k !== 'type' && k !== 'name');
  if (extra.length > 0) throw new ConfigError(`${ctx.source}.${extra[0]}: agent type "${spec.type}" takes no options`, ctx.source);
}

registerAgent(
  'random',
  (spec, ctx) => {
    noOptions(spec, ctx);
    return new RandomReferenceAgent();
  },
  'reference: uniformly random actions',
);
registerAgent(
  'oracle',
  (spec, ctx) => {
    noOptions(spec, ctx);
    return new OracleReferenceAgent();
  },
  "reference: the environment's optimal action (knows the task)",
);
registerAgent(
  'llm',
  async (spec, ctx) => (await import('./llm/evalEntry.js')).makeLlmEvalAgent(spec, ctx),
  'an LLM playing through text on an OpenAI-compatible endpoint (see docs/llm.md)',
);
registerAgent(
  'model',
  async (spec, ctx) => (await import('../models/agents.js')).modelAgentFromSpec(spec, { baseDir: ctx.baseDir, source: ctx.source, family: ctx.family }),
  'a trained in-context model (DPT, AD, T2MIR): { checkpoint: <training run or model folder>, actionSelection: sample | greedy, temperature }',
);
