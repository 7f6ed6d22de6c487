/**
 * The jobs of the queue and their payloads. A payload carries a whole config (validated here with
 * the same zod schemas as a config file, plus the family / agent checks the local commands make)
 * and the index of its part; nothing in it is executed or opened outside the worker's root folder:
 * every path (output folders, task files, checkpoints) must be relative and stay inside it. A
 * payload that does not pass is an {@link InvalidJobError}: the worker fails that job without
 * retries and goes on with the next.
 *
 *   collect-shard  { v: 1, config: <collect config>, out: <folder>, shard: i }        -> ShardOutcome
 *   eval-unit      { v: 1, config: <eval config>, unit: { part, agent, chunk? } }      -> UnitOutcome
 *   sweep-trial    { v: 1, trial: { id, setting, seed }, config: <training config> }  -> TrialSummary
 */
import { isAbsolute, normalize, sep } from 'node:path';
import { z } from 'zod';
import { IcrlError } from '../core/errors.js';
import { validateConfig } from '../core/config.js';
import { parseCollectConfig, type CollectConfig } from '../data/collect.js';
// collection jobs may name the deep learners (sac, ppo): their kinds and the sac history recorder register on import
import '../rl/index.js';
import { evalConfigSchema, type EvalConfig } from '../eval/config.js';
import type { EvalUnit } from '../eval/run.js';
import { TrainConfigSchema, type TrainConfig } from '../train/config.js';

/** A job whose name or payload is not one a worker runs (named in the job's failure reason). */
export class InvalidJobError extends IcrlError {
  constructor(
    readonly jobId: string,
    detail: string,
  ) {
    super(`job ${jobId}: ${detail}`, 'INVALID_JOB');
  }
}

export const JOB_NAMES = ['collect-shard', 'eval-unit', 'sweep-trial'] as const;
export type JobName = (typeof JOB_NAMES)[number];

export type ShardJob = { name: 'collect-shard'; config: CollectConfig; out: string; shard: number };
export type EvalJob = { name: 'eval-unit'; config: EvalConfig; unit: EvalUnit };
export type TrialJob = { name: 'sweep-trial'; trial: { id: string; setting: number; seed: number }; config: TrainConfig };
export type ParsedJob = ShardJob | EvalJob | TrialJob;

/** What a shard job returns: the transitions and the file as its worker wrote it. */
export interface ShardOutcome {
  shard: number;
  transitions: number;
  bytes: number;
  sha256: string;
}

const shardPayload = z.object({ v: z.literal(1), config: z.unknown(), out: z.string().min(1), shard: z.number().int().min(0) }).strict();
const evalPayload = z
  .object({
    v: z.literal(1),
    config: z.unknown(),
    unit: z.union([
      z.object({ part: z.literal('online'), agent: z.number().int().min(0), chunk: z.number().int().min(0) }).strict(),
      z.object({ part: z.literal('offline'), agent: z.number().int().min(0) }).strict(),
    ]),
  })
  .strict();
const trialPayload = z
  .object({
    v: z.literal(1),
    trial: z.object({ id: z.string().regex(/^s\d+-seed\d+$/), setting: z.number().int().min(0), seed: z.number().int().min(0) }).strict(),
    config: z.unknown(),
  })
  .strict();

/**
 * Checks that a path from a payload stays inside the worker's root: relative, no `..` above it, no
 * NUL. Returns it normalized.
 */
export function insideRoot(jobId: string, field: string, p: string): string {
  if (p.includes('\0')) throw new InvalidJobError(jobId, `${field}: the path holds a NUL byte`);
  if (isAbsolute(p) || /^[A-Za-z]:/.test(p)) throw new InvalidJobError(jobId, `${field}: ${JSON.stringify(p)} is absolute; paths in jobs are relative to the worker's root folder`);
  const n = normalize(p);
  if (n === '..' || n.startsWith(`..${sep}`)) throw new InvalidJobError(jobId, `${field}: ${JSON.stringify(p)} leaves the worker's root folder`);
  return n;
}

/** Keys of agent options that name files or folders (checked like every other path). */
const PATH_KEY = /^(checkpoint|file|path|dir)$|(File|Path|Dir)$/;

function checkPathsIn(jobId: string, where: string, value: unknown): void {
  if (Array.isArray(value)) value.forEach((v, i) => checkPathsIn(jobId, `${where}[${i}]`, v));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v === 'string' && PATH_KEY.test(k)) insideRoot(jobId, `${where}.${k}`, v);
      else checkPathsIn(jobId, `${where}.${k}`, v);
    }
  }
}

function validated<S extends z.ZodType>(jobId: string, schema: S, data: unknown, what: string): z.output<S> {
  try {
    return validateConfig(schema, data, `job ${jobId}: ${what}`);
  } catch (e) {
    throw new InvalidJobError(jobId, (e as Error).message.replace(`job ${jobId}: `, ''));
  }
}

/** Validates a job by name and payload, or throws {@link InvalidJobError} naming the job and the field. */
export function parseJob(jobId: string, name: string, data: unknown): ParsedJob {
  if (!(JOB_NAMES as readonly string[]).includes(name)) throw new InvalidJobError(jobId, `unknown job name ${JSON.stringify(name)}; a worker runs ${JOB_NAMES.join(', ')}`);
  if (name === 'collect-shard') {
    const p = validated(jobId, shardPayload, data, 'payload');
    const out = insideRoot(jobId, 'out', p.out);
    let config: CollectConfig;
    try {
      config = parseCollectConfig(p.config, `job ${jobId}: config`);
    } catch (e) {
      throw new InvalidJobError(jobId, (e as Error).message.replace(`job ${jobId}: `, ''));
    }
    if (config.tasks.file !== undefined) insideRoot(jobId, 'config.tasks.file', config.tasks.file);
    const shards = Math.ceil(config.tasks.count / config.shardSize);
    if (p.shard >= shards) throw new InvalidJobError(jobId, `shard ${p.shard} does not exist (the config has ${shards} shards)`);
    return { name, config: { ...config, out }, out, shard: p.shard };
  }
  if (name === 'eval-unit') {
    const p = validated(jobId, evalPayload, data, 'payload');
    const config = validated(jobId, evalConfigSchema, p.config, 'config');
    insideRoot(jobId, 'config.out', config.out);
    if (config.tasks.file !== undefined) insideRoot(jobId, 'config.tasks.file', config.tasks.file);
    checkPathsIn(jobId, 'config.online.agents', config.online?.agents ?? []);
    checkPathsIn(jobId, 'config.offline.agents', config.offline?.agents ?? []);
    return { name, config, unit: p.unit };
  }
  const p = validated(jobId, trialPayload, data, 'payload');
  const config = validated(jobId, TrainConfigSchema, p.config, 'config');
  insideRoot(jobId, 'config.out', config.out);
  checkPathsIn(jobId, 'config.data', config.data);
  return { name: 'sweep-trial', trial: p.trial, config };
}

