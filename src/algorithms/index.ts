/**
 * Source algorithms and classical baselines behind the shared {@link Agent} interface, and the
 * registry `makeAgent(spec)`: a spec is a small JSON object whose `kind` picks the algorithm (the
 * alias `type` is accepted, and a `name` label is ignored), validated by a strict zod schema so that
 * a typo names the field, e.g. `{ kind: 'ucb', c: 1 }`, `{ kind: 'q-learning', initQ: 1 }`,
 * `{ kind: 'noisy', epsilon: [0, 0.5], base: { kind: 'q-learning' } }`. Other parts of the project
 * add kinds with `registerAgentKind`.
 */
import { z } from 'zod';
import type { Agent } from './agent.js';
import { validateConfig } from '../core/config.js';
import { ConfigError, UnknownNameError } from '../core/errors.js';
import { Registry, type RegistryEntry } from '../core/registry.js';
import {
  BetaThompsonAgent,
  EpsilonGreedyAgent,
  GaussianThompsonAgent,
  GreedyAgent,
  LcbAgent,
  OracleAgent,
  ExpertAgent,
  RandomAgent,
  UcbAgent,
} from './bandits.js';
import { LinThompsonAgent, LinUcbAgent } from './linear.js';
import { NoisyAgent, QLearningAgent, Q_LEARNING_DEFAULTS } from './qlearning.js';
import { RmaxAgent, RMAX_DEFAULTS } from './rmax.js';
import { RandomUntilRewardAgent } from './explore.js';

export * from './agent.js';
export * from './bandits.js';
export * from './linear.js';
export * from './qlearning.js';
export * from './rmax.js';
export * from './explore.js';
export * from './prompted.js';
export * from './posterior.js';

export type AgentSpec = { kind: string } & Record<string, unknown>;

/** What a factory may need besides its options (evaluation agents: the family, where paths resolve). */
export interface AgentContext {
  /** Where the spec comes from, for error messages (e.g. "configs/eval.yaml: online.agents[2]"). */
  source: string;
  /** Environment family and options the agent will play (evaluation). */
  family?: string;
  envOptions?: Record<string, unknown>;
  /** Folder that relative paths in the spec (checkpoints, caches) resolve against. */
  baseDir?: string;
  /**
   * The spec's `name` label. Agents whose name seeds their random stream (trained models, LLM agents)
   * take it, so that a labelled agent draws the same numbers wherever it is built.
   */
  name?: string;
}

/**
 * A registry entry of an agent kind: a source algorithm, a classical baseline, a reference, or an
 * evaluation-only agent (a trained model, an LLM), whose factory may be asynchronous.
 */
export interface AgentEntry<S extends z.ZodType = z.ZodType> extends RegistryEntry {
  readonly options: S;
  make(options: z.output<S>, ctx: AgentContext): Agent | Promise<Agent>;
  /** Built asynchronously, for evaluations only (trained models, LLM agents): not a collection source. */
  readonly evaluationOnly?: boolean;
}

/** The one registry of agent kinds (`kind` in collection configs, `type` in evaluation configs). */
export const agentKinds = new Registry<AgentEntry>('agent kind');

/** Registers an agent kind: a strict zod object schema of its options (without `kind`) and a factory. A taken name is an error. */
export function registerAgentKind<S extends z.ZodType>(
  kind: string,
  schema: S,
  make: (spec: z.output<S>, ctx: AgentContext) => Agent | Promise<Agent>,
  description: string,
  opts: { evaluationOnly?: boolean } = {},
): void {
  agentKinds.register({ name: kind, description, options: schema, make: make as AgentEntry['make'], evaluationOnly: opts.evaluationOnly });
}

/** Registered kinds with their descriptions, sorted; `sourcesOnly` leaves out the evaluation-only kinds. */
export function listAgentKinds(opts: { sourcesOnly?: boolean } = {}): { kind: string; description: string }[] {
  return agentKinds
    .list()
    .filter((e) => !(opts.sourcesOnly && e.evaluationOnly))
    .map((e) => ({ kind: e.name, description: e.description }))
    .sort((a, b) => a.kind.localeCompare(b.kind));
}

/**
 * Splits a spec into its kind (`kind`, or its alias `type`), its `name` label (passed to the factory
 * in the context) and its options, validates the options, and calls the factory; `source` names the
 * spec in errors.
 */
export function makeAgentFrom(spec: unknown, ctx: AgentContext, field: 'kind' | 'type' = 'kind'): Agent | Promise<Agent> {
  const source = ctx.source;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new ConfigError(`${source}: expected an object like { ${field}: ucb, c: 1 }, got ${JSON.stringify(spec)}`, source);
  const { kind: k0, type, name, ...rest } = spec as Record<string, unknown>;
  const kind = k0 ?? type;
  if (typeof name === 'string') ctx = { ...ctx, name };
  const known = () => agentKinds.names().sort();
  if (typeof kind !== 'string') throw new ConfigError(`${source}.${field}: missing (one of ${known().join(', ')})`, source, field);
  if (!agentKinds.has(kind)) throw new ConfigError(`${source}.${field}: ${new UnknownNameError(field === 'type' ? 'agent type' : 'algorithm', kind, known()).message}`, source.split(':')[0], field);
  const e = agentKinds.get(kind);
  const opts = validateConfig(e.options, rest, `${source} (${kind})`);
  return e.make(opts, ctx);
}

/**
 * Builds an agent from its spec; `source` names where the spec comes from (e.g. "configs/x.yaml:
 * algorithm") in errors. Kinds whose factory is asynchronous (trained models, LLM agents) are built
 * by the evaluation's `makeEvalAgent`.
 */
export function makeAgent(spec: unknown, source = 'agent spec'): Agent {
  const k = typeof spec === 'object' && spec !== null ? ((spec as Record<string, unknown>).kind ?? (spec as Record<string, unknown>).type) : undefined;
  if (typeof k === 'string' && agentKinds.has(k) && agentKinds.get(k).evaluationOnly) {
    throw new ConfigError(`${source}: agent kind ${JSON.stringify(k)} is built asynchronously (an evaluation agent); use it in an evaluation config`, source);
  }
  const a = makeAgentFrom(spec, { source });
  if (a instanceof Promise) {
    a.catch(() => undefined); // started but not awaited: its failure is not this caller's
    throw new ConfigError(`${source}: agent kind ${JSON.stringify((spec as Record<string, unknown>).kind ?? (spec as Record<string, unknown>).type)} is built asynchronously (an evaluation agent); use it in an evaluation config`, source);
  }
  return a;
}

const num = z.number().finite();
const prob = z.number().min(0).max(1);

registerAgentKind('ucb', z.object({ c: num.min(0).default(1) }).strict(), (s) => new UcbAgent(s.c), 'bandit UCB: mean + c sqrt(2 ln t / n)');
registerAgentKind('lcb', z.object({ c: num.min(0).default(0.8) }).strict(), (s) => new LcbAgent(s.c), 'bandit LCB (offline pessimism): mean - c sqrt(1 / n)');
registerAgentKind(
  'thompson',
  z.object({ priorMean: num.default(0.5), priorVar: num.positive().default(1 / 12), noiseSd: num.min(0).default(0.3) }).strict(),
  (s) => new GaussianThompsonAgent(s.priorMean, s.priorVar, s.noiseSd),
  'bandit Gaussian Thompson sampling (prior N(0.5, 1/12))',
);
registerAgentKind(
  'thompson-beta',
  z.object({ alpha: num.positive().default(1), beta: num.positive().default(1) }).strict(),
  (s) => new BetaThompsonAgent(s.alpha, s.beta),
  'bandit Beta-Bernoulli Thompson sampling',
);
registerAgentKind('epsilon-greedy', z.object({ epsilon: prob.default(0.1) }).strict(), (s) => new EpsilonGreedyAgent(s.epsilon), 'bandit epsilon-greedy on empirical means');
registerAgentKind('greedy', z.object({}).strict(), () => new GreedyAgent(), 'bandit greedy empirical mean');
registerAgentKind('random', z.object({}).strict(), () => new RandomAgent(), 'uniformly random actions (discrete, or uniform in the action box)');
registerAgentKind('oracle', z.object({}).strict(), () => new OracleAgent(), "the environment's optimal action");
registerAgentKind('expert', z.object({}).strict(), () => new ExpertAgent(), "the family's scripted expert (reach, push)");
registerAgentKind('random-until-reward', z.object({}).strict(), () => new RandomUntilRewardAgent(), "uniformly random actions until the first reward, then the environment's optimal action (an idealised explore-then-exploit learner)");
registerAgentKind(
  'linucb',
  z.object({ alpha: num.min(0).default(1), lambda: num.positive().default(1) }).strict(),
  (s) => new LinUcbAgent(s.alpha, s.lambda),
  'linear bandit LinUCB',
);
registerAgentKind(
  'lin-thompson',
  z.object({ v: num.positive().default(0.3), lambda: num.positive().default(1) }).strict(),
  (s) => new LinThompsonAgent(s.v, s.lambda),
  'linear bandit Thompson sampling',
);
const d = Q_LEARNING_DEFAULTS;
const qSchema = z
  .object({
    alpha: num.gt(0).max(1).default(d.alpha),
    gamma: num.min(0).max(1).default(d.gamma),
    epsilon: prob.default(d.epsilon),
    epsilonEnd: prob.default(d.epsilonEnd),
    epsilonDecaySteps: z.number().int().min(0).default(d.epsilonDecaySteps),
    initQ: num.default(d.initQ),
  })
  .strict();
registerAgentKind('q-learning', qSchema, (s) => new QLearningAgent(s), 'tabular Q-learning, epsilon-greedy (optimistic with initQ > 0)');
const rd = RMAX_DEFAULTS;
registerAgentKind(
  'rmax',
  z
    .object({
      gamma: num.min(0).lt(1).default(rd.gamma),
      optimism: num.min(0).default(rd.optimism),
      knownAfter: z.number().int().min(1).default(rd.knownAfter),
      tolerance: num.positive().default(rd.tolerance),
    })
    .strict(),
  (s) => new RmaxAgent(s),
  'tabular model-based R-max: plans on its learned model, unknown pairs valued optimistically',
);
registerAgentKind(
  'noisy',
  z
    .object({
      epsilon: z.union([prob, z.tuple([prob, prob]).refine((r) => r[0] <= r[1], 'range must be [low, high]')]),
      /** Linear decay of epsilon to epsilonEnd over decaySteps steps (AD-epsilon noise distillation); both or neither. */
      epsilonEnd: prob.optional(),
      decaySteps: z.number().int().min(1).optional(),
      base: z.record(z.string(), z.unknown()),
    })
    .strict()
    .refine((s) => (s.epsilonEnd === undefined) === (s.decaySteps === undefined), { message: 'epsilonEnd and decaySteps go together (a linear decay of epsilon)', path: ['decaySteps'] }),
  (s) =>
    new NoisyAgent(
      makeAgent(s.base, 'noisy.base'),
      s.epsilon as number | [number, number],
      s.decaySteps !== undefined ? { epsilonEnd: s.epsilonEnd ?? 0, steps: s.decaySteps } : undefined,
    ),
  'action noise: a random action with probability epsilon (or per task from [low, high]), optionally decaying linearly to epsilonEnd over decaySteps (AD-epsilon)',
);
