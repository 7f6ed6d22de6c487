export * from './agent.js';
export * from './prompts.js';
export * from './demonstrations.js';
export * from './scriptedPolicy.js';
export * from './evalEntry.js';
