/**
 * Batched deep-RL learners on the engine (SAC; PPO): N independent learners trained in one
 * program, each with its own networks, optimizer state, data and random stream. Importing this
 * module registers the `sac` and `ppo` kinds of the algorithm registry (src/algorithms cannot import the
 * engine: it sits below src/nn in the layer order), and the evaluation-only `sac-policy` and
 * `ppo-policy` (final SAC / PPO policies played, rl/policyAgent.ts). See docs/rl.md.
 */
import { z } from 'zod';
import { registerAgentKind } from '../algorithms/index.js';
import { SacAgent, sacOptionsSchema } from './sac.js';
import { PpoAgent, ppoOptionsSchema } from './ppo.js';
import { makePpoPolicyAgent, makeSacPolicyAgent, ppoPolicyOptionsSchema, sacPolicyOptionsSchema } from './policyAgent.js';

export * from './nets.js';
export * from './sac.js';
export * from './ppo.js';
export * from './curves.js';
export * from './collect.js';
export * from './student.js';
export * from './histories.js';
export * from './collectKinds.js';
export * from './tracking.js';
export * from './policyAgent.js';

registerAgentKind('sac', sacOptionsSchema as z.ZodType<Partial<z.output<typeof sacOptionsSchema>>>, (s) => new SacAgent(s), 'Soft Actor-Critic (CleanRL defaults), one learner per instance, all trained at once');
registerAgentKind('ppo', ppoOptionsSchema, (s) => new PpoAgent(s), 'PPO with GAE (CleanRL defaults; categorical or Gaussian policy), one learner per instance, all trained at once');
registerAgentKind('sac-policy', sacPolicyOptionsSchema, (o, ctx) => makeSacPolicyAgent(o, ctx.baseDir), 'the final greedy policies of a SAC checkpoint of collectSacHistories, each task played by its own learner: { checkpoint, match: exact | nearest }', { evaluationOnly: true });
registerAgentKind('ppo-policy', ppoPolicyOptionsSchema, (o, ctx) => makePpoPolicyAgent(o, ctx.baseDir), 'the final greedy policies of a ppo collection folder (continuous actions: the mean clipped to the box), each task played by its own learner: { checkpoint, match: exact | nearest }', { evaluationOnly: true });
