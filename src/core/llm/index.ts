export * from './client.js';
export * from './cache.js';
export * from './fakeServer.js';
