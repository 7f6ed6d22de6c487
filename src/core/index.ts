export * from './errors.js';
export * from './rng.js';
export * from './spaces.js';
export * from './config.js';
export * from './registry.js';
export * from './progress.js';
export * from './llm/index.js';
