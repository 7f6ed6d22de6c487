export * from './taskSpace.js';
