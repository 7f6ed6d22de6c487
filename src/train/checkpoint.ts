/**
 * Checkpoints of a training run, under `<out>/checkpoints/`:
 *
 *   step-000200/model.safetensors      parameters (by path name)
 *   step-000200/extra.safetensors      non-parameter state: T2MIR momentum routers
 *   step-000200/optimizer.safetensors  AdamW moments (m.<param>, v.<param>)
 *   step-000200/state.json             step, AdamW step, data-stream RNG state, metrics byte length,
 *                                      loss accumulator, config digest, and the size and SHA-256 of
 *                                      each of the three weights files (checked on load)
 *   step-000200/config.json            the model spec (a checkpoint loads as a model)
 *   latest.json                        {"dir": "step-000200", "step": 200}
 *
 * A checkpoint is written into a temporary directory that is renamed into place when complete;
 * only then is `latest.json` replaced (atomically), and only then are old checkpoints pruned. A run
 * killed at any moment therefore resumes from the last complete checkpoint. A checkpoint that does
 * not load (a weights file whose checksum differs, a bad state.json) is skipped with a warning for
 * the newest older one that does ({@link resumeCheckpoint}).
 */
import { z } from 'zod';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError, FileSystemError, IcrlError } from '../core/errors.js';
import { fileDigest, verifyFile } from '../core/digest.js';
import type { RngState } from '../core/rng.js';
import { loadSafetensors, loadWeights, saveSafetensors, saveWeights, type AdamW, type NamedArray } from '../nn/index.js';
import { modelSpec, type InContextModel } from '../models/io.js';
import { isAtomicTemp, makeDir, removeIfExists, replaceAtomic, writeFileAtomic } from '../core/atomic.js';

export interface CheckpointState {
  step: number;
  adamStep: number;
  dataRng: RngState;
  metricsBytes: number;
  /** Sum and count of the prediction loss since the last metrics line. */
  lossAcc: [number, number];
  samplesSeen: number;
  configDigest: string;
  /** Training seconds spent before this checkpoint (across resumes). */
  trainSeconds: number;
  /** Size and SHA-256 of each weights file of the checkpoint (absent in checkpoints of older versions). */
  files?: Record<string, { bytes: number; sha256: string }>;
}

/** The weights files of a checkpoint folder. */
export const CHECKPOINT_FILES = ['model.safetensors', 'extra.safetensors', 'optimizer.safetensors'] as const;

const u32 = z.number().int().min(0).max(0xffffffff);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** What a checkpoint's state.json must hold (a hand-edited or corrupt file is refused with its field). */
const CheckpointStateSchema = z
  .object({
    step: count,
    adamStep: count,
    dataRng: z.object({ key: z.tuple([u32, u32]), counter: z.tuple([u32, u32]), index: z.number().int().min(0).max(4), spareNormal: z.number().finite().nullable() }).strict(),
    metricsBytes: count,
    lossAcc: z.tuple([z.number().finite(), z.number().finite()]),
    samplesSeen: count,
    configDigest: z.string().min(1),
    trainSeconds: z.number().finite().min(0),
    files: z.record(z.enum(CHECKPOINT_FILES), z.object({ bytes: count, sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict()).optional(),
  })
  .strict();

export function checkpointRoot(outDir: string): string {
  return join(outDir, 'checkpoints');
}

export function latestCheckpoint(outDir: string): { dir: string; step: number } | null {
  const root = checkpointRoot(outDir);
  const file = join(root, 'latest.json');
  if (!existsSync(file)) return null;
  let doc: { dir?: unknown; step?: unknown };
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CorruptFileError(file, `not JSON (${(e as Error).message})`);
  }
  if (typeof doc.dir !== 'string' || typeof doc.step !== 'number') throw new CorruptFileError(file, 'expected {"dir": string, "step": number}');
  const dir = join(root, doc.dir);
  if (!existsSync(join(dir, 'state.json'))) throw new CorruptFileError(file, `points to ${doc.dir}, which has no state.json`);
  return { dir, step: doc.step };
}

function extraTensors(model: InContextModel): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const { layer, moe } of model.backbone.moeLayers) {
    out[`momentum.layer${layer}.weight`] = { shape: [moe.dim, moe.taskMoE.nExperts], data: moe.momentumWeight };
    out[`momentum.layer${layer}.bias`] = { shape: [moe.taskMoE.nExperts], data: moe.momentumBias };
  }
  return out;
}

export function saveCheckpoint(outDir: string, model: InContextModel, opt: AdamW, state: CheckpointState, keep: number): string {
  const root = checkpointRoot(outDir);
  makeDir(root);
  const name = `step-${String(state.step).padStart(6, '0')}`;
  const final = join(root, name);
  // the checkpoint folder is written whole under a temporary name, then renamed into place
  removeIfExists(final);
  replaceAtomic(final, (tmp) => {
    makeDir(tmp);
    saveWeights(join(tmp, 'model.safetensors'), model);
    saveSafetensors(join(tmp, 'extra.safetensors'), extraTensors(model));
    saveSafetensors(join(tmp, 'optimizer.safetensors'), opt.stateTensors(), { step: String(opt.step) });
    const files = Object.fromEntries(CHECKPOINT_FILES.map((f) => [f, fileDigest(join(tmp, f))]));
    writeFileAtomic(join(tmp, 'state.json'), JSON.stringify({ ...state, files }, null, 1));
    // the model spec too, so that a checkpoint loads as a model (loadInContextModel)
    writeFileAtomic(join(tmp, 'config.json'), JSON.stringify(modelSpec(model, { checkpointStep: state.step }), null, 2));
  });
  writeFileAtomic(join(root, 'latest.json'), JSON.stringify({ dir: name, step: state.step }));
  // prune: keep the newest `keep` complete checkpoints, and remove stale temporaries
  const entries = readdirSync(root);
  const steps = entries.filter((e) => /^step-\d+$/.test(e)).sort();
  for (const e of steps.slice(0, Math.max(0, steps.length - keep))) if (e !== name) removeIfExists(join(root, e));
  // temporaries of killed writes (ours have one pattern; nothing else is touched)
  for (const e of entries) if (isAtomicTemp(e)) removeIfExists(join(root, e));
  return final;
}

export function loadCheckpoint(dir: string, model: InContextModel, opt: AdamW): CheckpointState {
  const stateFile = join(dir, 'state.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch (e) {
    throw new CorruptFileError(stateFile, `cannot read checkpoint state (${(e as Error).message})`);
  }
  const parsed = CheckpointStateSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CorruptFileError(stateFile, `not a checkpoint state: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const state = parsed.data as CheckpointState;
  if (state.files) for (const f of CHECKPOINT_FILES) if (state.files[f]) verifyFile(join(dir, f), state.files[f]);
  loadWeights(join(dir, 'model.safetensors'), model);
  const extra = loadSafetensors(join(dir, 'extra.safetensors'));
  for (const [name, t] of Object.entries(extraTensors(model))) {
    const src = extra.tensors.get(name);
    if (!src || src.data.length !== t.data.length) throw new CorruptFileError(join(dir, 'extra.safetensors'), `tensor "${name}" missing or of the wrong size`);
    t.data.set(src.data);
  }
  const o = loadSafetensors(join(dir, 'optimizer.safetensors'));
  opt.loadStateTensors(Object.fromEntries(o.tensors), state.adamStep);
  return state;
}

/**
 * Loads the newest checkpoint of `outDir` that is intact: the one latest.json names, else (when it
 * or latest.json is corrupt: a checksum that differs, a bad state.json, a missing file) the newest
 * older `step-*` folder that loads, with a warning through `warn`. Returns null when the run has no
 * checkpoint; throws when every checkpoint is corrupt. `check` (the config digest test) runs on the
 * state of each candidate before its weights are loaded.
 */
export function resumeCheckpoint(
  outDir: string,
  model: InContextModel,
  opt: AdamW,
  warn: (line: string) => void,
): { dir: string; state: CheckpointState } | null {
  const root = checkpointRoot(outDir);
  if (!existsSync(root)) return null;
  const candidates: string[] = [];
  try {
    const l = latestCheckpoint(outDir);
    if (l) candidates.push(l.dir);
  } catch (e) {
    if (!(e instanceof CorruptFileError)) throw e;
    warn(`warning: ${e.message}; looking for an older checkpoint`);
  }
  const dirs = readdirSync(root)
    .filter((e) => /^step-\d+$/.test(e))
    .sort()
    .reverse()
    .map((e) => join(root, e));
  for (const d of dirs) if (!candidates.includes(d)) candidates.push(d);
  if (candidates.length === 0) return null;
  const failures: string[] = [];
  for (const dir of candidates) {
    try {
      const state = loadCheckpoint(dir, model, opt);
      if (failures.length > 0) warn(`warning: resuming from the older checkpoint ${dir} (step ${state.step}) instead`);
      return { dir, state };
    } catch (e) {
      const corrupt = e instanceof CorruptFileError || e instanceof FileSystemError || (e instanceof IcrlError && e.code === 'CORRUPT_FILE');
      if (!corrupt) throw e;
      failures.push(e.message);
      warn(`warning: checkpoint ${dir} is corrupt (${e.message}); trying the previous one`);
    }
  }
  throw new IcrlError(`${root}: no checkpoint loads (${failures.join('; ')}); start over with --fresh`, 'CORRUPT_FILE');
}
