/** Learning-history store, collection, LHF and dataset builders. */
export * from './h5.js';
export * from './store.js';
export * from './datasets.js';
export * from './dpt.js';
export * from './collect.js';
export * from './lhf.js';
export * from './windows.js';
