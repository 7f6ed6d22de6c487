/**
 * Scale-out on BullMQ (Redis): the coordinators of `icrl collect | eval | sweep --queue`, the
 * worker of `icrl worker`, the job payloads and their validation, and Redis URLs (masked in
 * everything printed). See docs/cluster.md.
 */
export * from './redis.js';
export * from './jobs.js';
export * from './execute.js';
export * from './worker.js';
export * from './coordinator.js';
