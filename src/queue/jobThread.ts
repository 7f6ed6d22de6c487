/**
 * A worker thread of `icrl worker` (core/pool.ts JobThreads): runs validated jobs one at a time.
 * Loaded as compiled JavaScript from dist/.
 */
import { serveJobs } from '../core/pool.js';
import { h5ready } from '../data/h5.js';
import { executeJob } from './execute.js';
import type { ParsedJob } from './jobs.js';

serveJobs<{ id: string; job: ParsedJob }, unknown>((m) => executeJob(m.id, m.job), h5ready);
