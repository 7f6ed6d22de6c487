/**
 * Building a model from its spec, and saving / loading a trained model as a directory:
 * `model.safetensors` (weights, by parameter path) and `config.json` (the spec below).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Rng } from '../core/rng.js';
import { CorruptFileError, IcrlError } from '../core/errors.js';
import { loadModel, readModelConfig, saveModel } from '../nn/index.js';
import { ModelConfigSchema } from './config.js';
import { modelKinds } from './kinds.js';
import type { InContextModel } from './types.js';
import type { EnvDims } from './features.js';

export type { InContextModel } from './types.js';

const EnvDimsSchema = z.object({
  family: z.string(),
  envOptions: z.record(z.string(), z.unknown()),
  obsDim: z.number().int().min(1).max(1e6),
  numActions: z.number().int().min(0).max(1e6),
  actDim: z.number().int().min(0).max(1e4),
  horizon: z.number().int().min(1).max(1e9),
  obsSizes: z.array(z.number().int().min(1).max(1e6)).nullable(),
  obsLow: z.array(z.number().finite()).nullable(),
  actLow: z.number().finite().optional(),
  actHigh: z.number().finite().optional(),
  obsShift: z.array(z.number().finite()).optional(),
  obsScale: z.array(z.number().finite()).optional(),
  rewardScale: z.number().finite().optional(),
});

export const ModelSpecSchema = z.object({
  format: z.literal('icrl-model/1'),
  model: ModelConfigSchema,
  dims: EnvDimsSchema,
  /** AD: window length in tokens; DPT: context length (transitions) it was trained on. */
  contextLength: z.number().int().positive().max(1e7),
  /** Free-form provenance (training config name, steps, ...). */
  info: z.record(z.string(), z.unknown()).default({}),
});
export type ModelSpec = z.output<typeof ModelSpecSchema>;

export function buildModel(spec: Pick<ModelSpec, 'model' | 'dims' | 'contextLength'>, rng: Rng): InContextModel {
  const dims = spec.dims as EnvDims;
  return modelKinds.get(spec.model.kind).build(spec.model, dims, spec.contextLength, rng);
}

/** The spec (config.json) of a model. */
export function modelSpec(model: InContextModel, info: Record<string, unknown> = {}): ModelSpec {
  return { format: 'icrl-model/1', model: model.cfg, dims: model.dims, contextLength: model.contextLength, info };
}

export function saveInContextModel(dir: string, model: InContextModel, info: Record<string, unknown> = {}): void {
  saveModel(dir, model, modelSpec(model, info), { format: 'icrl-model/1', kind: model.kind });
}

/** The model directory `path` names: itself, its `model/` (a training run), or its latest checkpoint. */
function resolveModelDir(path: string): string | null {
  if (existsSync(join(path, 'config.json'))) return path;
  if (existsSync(join(path, 'model', 'config.json'))) return join(path, 'model');
  const latest = join(path, 'checkpoints', 'latest.json');
  if (existsSync(latest)) {
    try {
      const doc = JSON.parse(readFileSync(latest, 'utf8')) as { dir?: unknown };
      if (typeof doc.dir === 'string' && existsSync(join(path, 'checkpoints', doc.dir, 'config.json'))) return join(path, 'checkpoints', doc.dir);
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * Loads a model directory written by {@link saveInContextModel} (or a checkpoint directory, which
 * holds the same two files). `path` may also be a training run directory: its `model/` folder, or
 * while training is under way its latest checkpoint.
 */
export function loadInContextModel(path: string): { model: InContextModel; spec: ModelSpec; dir: string } {
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new IcrlError(`model ${path}: no such directory`);
  const dir = resolveModelDir(path);
  if (!dir) {
    throw new IcrlError(`model ${path}: expected a model directory with config.json and model.safetensors, or a training run directory (written by icrl train)`);
  }
  const raw = readModelConfig(dir);
  const r = ModelSpecSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new CorruptFileError(join(dir, 'config.json'), `not an icrl model spec: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const model = buildModel(r.data, new Rng(0));
  loadModel(dir, model);
  model.eval();
  return { model, spec: r.data, dir };
}
