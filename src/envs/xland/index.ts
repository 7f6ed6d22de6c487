/** The `xland` family: rule-based gridworld, rulesets as data, benchmark generator, exact solver. */
export * from './constants.js';
export * from './layout.js';
export * from './ruleset.js';
export * from './core.js';
export * from './solver.js';
export * from './generate.js';
export * from './mutate.js';
export * from './env.js';
export * from './svg.js';
export * from './propose.js';
