/**
 * `sac-policy`: plays the final greedy policies of a SAC checkpoint (tanh of the actor's mean, mapped
 * onto the action box: CleanRL's evaluation action), one learner per task, with no further learning.
 * It is the expert the continuous-control reproductions compare in-context models with: SAC trained
 * on each evaluation task, its final policy played there.
 *
 * The checkpoint is one written by `collectSacHistories({ checkpoint })`: its extra holds the family,
 * environment options and tasks of the learners (learner i trained on tasks[i]); or the folder of a
 * `sac` collection, whose `policy-<task>.safetensors` files each hold one task's final actor. Each evaluated
 * instance plays the learner of its task (`match: exact`, the default; a task without a learner is an
 * error naming it), or with `match: nearest` the learner whose task parameters are nearest in
 * Euclidean distance (numeric parameters; a stand-in where no learner trained on the task itself).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import type { Agent, StepOutcome } from '../algorithms/agent.js';
import type { ActionArray, BatchedEnv } from '../envs/types.js';
import { ConfigError, IcrlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { taskKey, type Task } from '../tasks/taskSpace.js';
import * as nn from '../nn/index.js';
import { SacLearners, sacOptionsSchema, type SacSpec } from './sac.js';
import { loadSacPolicy, type SacPolicy } from './collectKinds.js';

export const sacPolicyOptionsSchema = z
  .object({
    /** A SAC checkpoint with its tasks (collectSacHistories' `checkpoint`) or a sac collection folder (its policy files), relative to the evaluation's base folder. */
    checkpoint: z.string().min(1),
    /** exact: each task's own learner; nearest: the learner of the nearest task (numeric parameters). */
    match: z.enum(['exact', 'nearest']).default('exact'),
  })
  .strict();
export type SacPolicyOptions = z.output<typeof sacPolicyOptionsSchema>;

interface CheckpointMeta {
  kind: string;
  learners: number;
  spec: SacSpec;
  options: unknown;
  extra?: { family?: string; tasks?: Task[] };
}

/** Numeric parameters of a task, flattened in key order (for `match: nearest`). */
function numericParams(t: Task): number[] {
  const out: number[] = [];
  for (const k of Object.keys(t.params).sort()) {
    const v = t.params[k];
    if (typeof v === 'number') out.push(v);
    else if (Array.isArray(v)) for (const x of v) if (typeof x === 'number') out.push(x);
  }
  return out;
}

export class SacPolicyAgent implements Agent {
  readonly name = 'sac-policy';
  /** The learners of a checkpoint file, or null for a collection folder (then `policies`). */
  readonly learners: SacLearners | null = null;
  private readonly policies: SacPolicy[] | null = null;
  private readonly spec: { obsDim: number; actDim: number };
  readonly tasks: Task[];
  readonly family: string;
  private env: BatchedEnv | null = null;
  /** learner of each instance */
  private learnerOf = new Int32Array(0);
  private obsBuf = new Float32Array(0);
  private actBuf = new Float32Array(0);

  constructor(
    readonly file: string,
    readonly match: 'exact' | 'nearest' = 'exact',
  ) {
    if (!existsSync(file)) throw new ConfigError(`sac-policy: checkpoint ${file} not found`, file, 'checkpoint');
    if (statSync(file).isDirectory()) {
      const p = loadPolicyFolder(file);
      this.tasks = p.tasks;
      this.family = p.family;
      this.policies = p.policies;
      this.spec = { obsDim: p.policies[0].obsDim, actDim: p.policies[0].actDim };
      return;
    }
    const f = nn.loadSafetensors(file);
    const raw = f.metadata.icrl_rl;
    if (!raw) throw new IcrlError(`${file}: not an rl checkpoint (no icrl_rl metadata)`, 'CORRUPT_FILE');
    const meta = JSON.parse(raw) as CheckpointMeta;
    if (meta.kind !== 'sac') throw new IcrlError(`${file}: a ${meta.kind} checkpoint, not sac`, 'CORRUPT_FILE');
    const tasks = meta.extra?.tasks;
    if (!Array.isArray(tasks) || tasks.length !== meta.learners || typeof meta.extra?.family !== 'string') {
      throw new IcrlError(`${file}: the checkpoint does not name the tasks of its ${meta.learners} learners (write it with collectSacHistories({ checkpoint }))`, 'CORRUPT_FILE');
    }
    this.tasks = tasks;
    this.family = meta.extra.family;
    const options = sacOptionsSchema.parse(meta.options);
    // the streams are not used (greedy actions draw nothing); restoreCheckpoint sets their states
    const rngs = Array.from({ length: meta.learners }, (_, i) => new Rng(0).split(`sac-learner-${i}`));
    this.learners = new SacLearners(meta.spec, rngs, options);
    this.learners.restoreCheckpoint(file);
    this.spec = meta.spec;
  }

  reset(env: BatchedEnv, _rng: Rng): void {
    const s = this.spec;
    if (env.family !== this.family) throw new IcrlError(`sac-policy: ${this.file} holds learners of ${this.family}, not ${env.family}`);
    if (env.obsDim !== s.obsDim || env.actDim !== s.actDim || env.numActions !== 0) {
      throw new IcrlError(`sac-policy: ${this.file} has obsDim ${s.obsDim} and actDim ${s.actDim}; ${env.family} has obsDim ${env.obsDim}, actDim ${env.actDim}`);
    }
    if (!env.getTask) throw new IcrlError(`sac-policy: ${env.family} does not report the task of an instance (getTask)`);
    const keys = new Map(this.tasks.map((t, i) => [taskKey(t), i]));
    const points = this.tasks.map(numericParams);
    const N = env.numEnvs;
    this.learnerOf = new Int32Array(N);
    for (let i = 0; i < N; i++) {
      const task = env.getTask(i);
      const exact = keys.get(taskKey(task));
      if (exact !== undefined) {
        this.learnerOf[i] = exact;
        continue;
      }
      if (this.match === 'exact') throw new IcrlError(`sac-policy: no learner of ${this.file} was trained on task ${JSON.stringify(task.params)} of instance ${i} (use match: nearest for the nearest task's learner)`);
      const p = numericParams(task);
      let best = -1;
      let bestD = Infinity;
      points.forEach((q, j) => {
        if (q.length !== p.length) return;
        let d = 0;
        for (let k = 0; k < p.length; k++) d += (p[k] - q[k]) ** 2;
        if (d < bestD) {
          bestD = d;
          best = j;
        }
      });
      if (best < 0) throw new IcrlError(`sac-policy: task ${JSON.stringify(task.params)} has no numeric parameters comparable with those of ${this.file}`);
      this.learnerOf[i] = best;
    }
    this.env = env;
    const n = this.tasks.length;
    this.obsBuf = new Float32Array(n * s.obsDim);
    this.actBuf = new Float32Array(n * s.actDim);
  }

  act(obs: Float32Array, out: ActionArray): void {
    const env = this.env;
    if (!env) throw new IcrlError('sac-policy: act() before reset()');
    const { obsDim: D, actDim: A } = this.spec;
    const N = env.numEnvs;
    if (this.policies) {
      for (let i = 0; i < N; i++) this.policies[this.learnerOf[i]].actGreedy(obs.subarray(i * D, (i + 1) * D), out.subarray(i * A, (i + 1) * A) as Float32Array);
      return;
    }
    const learners = this.learners!;
    // instances that share a learner are played in turns (one observation per learner per pass)
    const pending = Array.from({ length: N }, (_, i) => i);
    while (pending.length > 0) {
      const used = new Map<number, number>();
      const rest: number[] = [];
      for (const i of pending) {
        const j = this.learnerOf[i];
        if (used.has(j)) rest.push(i);
        else {
          used.set(j, i);
          this.obsBuf.set(obs.subarray(i * D, (i + 1) * D), j * D);
        }
      }
      learners.greedyActions(this.obsBuf, 1, this.actBuf);
      for (const [j, i] of used) for (let k = 0; k < A; k++) out[i * A + k] = this.actBuf[j * A + k];
      pending.splice(0, pending.length, ...rest);
    }
  }

  observe(_o: StepOutcome): void {}
}

/**
 * The per-task policy files of a `sac` collection folder (`policy-<task>.safetensors`: one actor
 * each, read by `loadSacPolicy`, the task's parameters in its extra; the family from the folder's
 * manifest.json).
 */
export function loadPolicyFolder(dir: string): { tasks: Task[]; family: string; policies: SacPolicy[] } {
  const files = readdirSync(dir).filter((f) => /^policy-\d+\.safetensors$/.test(f)).sort();
  if (files.length === 0) throw new ConfigError(`sac-policy: ${dir} holds no policy-<task>.safetensors files (a sac collection folder)`, dir, 'checkpoint');
  const manifest = join(dir, 'manifest.json');
  if (!existsSync(manifest)) throw new ConfigError(`sac-policy: ${dir} has no manifest.json (a sac collection folder names its family there)`, dir, 'checkpoint');
  const family = (JSON.parse(readFileSync(manifest, 'utf8')) as { config?: { family?: unknown } }).config?.family;
  if (typeof family !== 'string') throw new IcrlError(`${manifest}: no config.family`, 'CORRUPT_FILE');
  const policies = files.map((name) => {
    const p = loadSacPolicy(join(dir, name));
    if (p.learners !== 1 || typeof p.extra.task !== 'object' || p.extra.task === null) throw new IcrlError(`${join(dir, name)}: not a one-learner policy file with its task`, 'CORRUPT_FILE');
    return p;
  });
  return { tasks: policies.map((p) => ({ family, params: p.extra.task as Task['params'] })), family, policies };
}

/** Builds the agent of a spec's options, the checkpoint resolved against `baseDir`. */
export function makeSacPolicyAgent(options: SacPolicyOptions, baseDir = '.'): SacPolicyAgent {
  const file = isAbsolute(options.checkpoint) ? options.checkpoint : resolve(baseDir, options.checkpoint);
  return new SacPolicyAgent(file, options.match);
}
