/**
 * Experiments that join the layers: an evaluation with its report, the quick start (train, evaluate,
 * report), and curricula in the loop (a teacher choosing the tasks of a learning agent).
 */
export * from './evaluate.js';
export * from './quickstart.js';
export * from './curriculum.js';
export * from './sweep.js';
