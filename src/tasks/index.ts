export * from './taskSpace.js';
export * from './library.js';
export * from './proposer.js';
export * from './pool.js';
