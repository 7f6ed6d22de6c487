/**
 * In-context evaluation: the batched online evaluator (bandit steps, MDP in-context episodes), the
 * offline bandit protocol, metrics with 95% intervals, the agent registry of evaluation configs, the
 * results file and the config runner. LLM agents are in ./llm (loaded by the registry on demand).
 */
export * from './stats.js';
export * from './evaluator.js';
export * from './metrics.js';
export * from './offline.js';
export * from './agents.js';
export * from './config.js';
export * from './results.js';
export * from './run.js';
export * from './summary.js';
