/** Worker thread of the ToyEnv benchmark (core/pool.ts): runs one spec per job and posts the result back. */
import { serveJobs } from '../core/pool.js';
import { runToy, type ToyRunSpec } from './toyBench.js';

serveJobs<ToyRunSpec, ReturnType<typeof runToy>>((spec) => runToy(spec));
