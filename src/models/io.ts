/**
 * Building a model from its spec, and saving / loading a trained model as a directory:
 * `model.safetensors` (weights, by parameter path) and `config.json` (the spec below).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Rng } from '../core/rng.js';
import { CorruptFileError, IcrlError } from '../core/errors.js';
import { loadModel, readModelConfig, saveModel } from '../nn/index.js';
import { ModelConfigSchema } from '../train/config.js';
import { ADModel } from './ad.js';
import { DPTModel } from './dpt.js';
import type { EnvDims } from './features.js';

export type InContextModel = ADModel | DPTModel;

const EnvDimsSchema = z.object({
  family: z.string(),
  envOptions: z.record(z.string(), z.unknown()),
  obsDim: z.number().int(),
  numActions: z.number().int(),
  actDim: z.number().int(),
  horizon: z.number().int(),
  obsSizes: z.array(z.number().int()).nullable(),
  obsLow: z.array(z.number()).nullable(),
  actLow: z.number().optional(),
  actHigh: z.number().optional(),
});

export const ModelSpecSchema = z.object({
  format: z.literal('icrl-model/1'),
  model: ModelConfigSchema,
  dims: EnvDimsSchema,
  /** AD: window length in tokens; DPT: context length (transitions) it was trained on. */
  contextLength: z.number().int().positive(),
  /** Free-form provenance (training config name, steps, ...). */
  info: z.record(z.string(), z.unknown()).default({}),
});
export type ModelSpec = z.output<typeof ModelSpecSchema>;

export function buildModel(spec: Pick<ModelSpec, 'model' | 'dims' | 'contextLength'>, rng: Rng): InContextModel {
  const dims = spec.dims as EnvDims;
  if (spec.model.kind === 'ad') return new ADModel(spec.model, dims, spec.contextLength, rng);
  return new DPTModel(spec.model, dims, spec.contextLength, rng);
}

export function saveInContextModel(dir: string, model: InContextModel, info: Record<string, unknown> = {}): void {
  const spec: ModelSpec = { format: 'icrl-model/1', model: model.cfg, dims: model.dims, contextLength: model.contextLength, info };
  saveModel(dir, model, spec, { format: 'icrl-model/1', kind: model.kind });
}

/**
 * Loads a model directory written by {@link saveInContextModel}. `path` may also be a training run
 * directory (its `model/` folder is used).
 */
export function loadInContextModel(path: string): { model: InContextModel; spec: ModelSpec; dir: string } {
  let dir = path;
  if (!existsSync(dir)) throw new IcrlError(`model ${path}: no such directory`);
  if (!existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'model', 'config.json'))) dir = join(dir, 'model');
  if (!statSync(dir).isDirectory() || !existsSync(join(dir, 'config.json'))) {
    throw new IcrlError(`model ${path}: expected a model directory with config.json and model.safetensors (written by icrl train)`);
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
