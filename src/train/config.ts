/**
 * Training configuration (`icrl train <config>`): model, data, optimisation, evaluation and output,
 * as a strict zod schema so that a typo in a config file is an error naming the file and field.
 */
import { z } from 'zod';
import { RollinSchema } from '../data/dpt.js';
import { lhfOptionsSchema } from '../data/lhf.js';
import { loadConfig, validateConfig } from '../core/config.js';
import { ModelConfigSchema } from '../models/config.js';
import { modelKinds } from '../models/kinds.js';
import { LIMITS } from '../core/limits.js';

const int = (min = 0, max: number = LIMITS.count) => z.number().int().min(min).max(max);
const pos = () => z.number().positive();

export { MoeConfigSchema, ModelConfigSchema, type MoeConfig, type ModelConfig } from '../models/config.js';

/** Train / held-out split of the family's task space (the evaluator uses the same function and seed). */
export const SplitConfigSchema = z
  .object({
    seed: int(0).default(0),
    /** Held-out tasks: a count, or a fraction of a finite space. */
    heldOut: pos().max(LIMITS.heldOut),
    /** Training tasks drawn from an infinite space (finite spaces use all the others). */
    train: int(1, LIMITS.heldOut).optional(),
    /** How an infinite space's training tasks are drawn: independently (random, unset) or as one Latin hypercube sample (stratified). */
    draw: z.enum(['random', 'stratified']).optional(),
  })
  .strict();

export const DptDataConfigSchema = z
  .object({
    /** Samples generated in memory (each: a roll-in context, a query state, its optimal action); not with collection. */
    samples: int(1, LIMITS.count).optional(),
    /** Transitions per context. */
    contextLength: int(1, LIMITS.contextLength),
    /**
     * Roll-in policy (default: dirichlet for bandits, uniform for MDPs): dirichlet | dirichlet-flat |
     * uniform | { algorithm: spec } | { mixture: [{ weight, rollin }] } (src/data/dpt.ts).
     */
    rollin: RollinSchema.optional(),
    /**
     * Instead of generated samples: learning histories with expert labels (`expert_actions`), a
     * history file (.h5) or an `icrl collect` folder, relative to the working directory. Each
     * sample is a window of contextLength transitions of a run, a query state of the same run and
     * the expert's action there, drawn fresh for every batch. A list trains on the histories of
     * all of them together (their tasks numbered on after each other; none may repeat a task of
     * another, and all must have the same history length).
     */
    collection: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(64)]).optional(),
    /**
     * With a collection, where a sample's query state comes from: `run` (default), a step of the
     * context's own run, labelled by its stored expert action; `pool`, a step of any run of the same
     * split (any task), labelled by the final policy of the context's task (the collection's
     * policy-<task>.safetensors files), so that the query state says nothing about the task and only
     * the context does (DPT draws its query states independently of the task).
     */
    query: z.enum(['run', 'pool']).default('run'),
    /**
     * With pool queries, the probability that a sample's query state is a step of the context
     * task's own run instead of any run's, still labelled by the task's final policy: more of the
     * states the task's own learner (and so its policy) visits, where a pool of all tasks' runs holds
     * few of a slow task's. Absent: 0 (optional, not defaulted, so existing digests are unchanged).
     */
    ownQueries: z.number().min(0).max(1).optional(),
    /**
     * With a collection, how a sample's context is drawn from its run: `window` (default),
     * contextLength consecutive transitions; `run`, contextLength transitions drawn uniformly (without
     * replacement) from the whole run, in time order, so that one context mixes the learner's stages
     * (as an online context of several earlier episodes does). Absent means window (optional, not
     * defaulted, so that a training folder written before the option existed still resumes).
     */
    contextFrom: z.enum(['window', 'run']).optional(),
    /**
     * With pool queries, contexts played on each training task by the other training tasks' final
     * policies (cross-play), beside its own learner's run: `episodes` per task, each played by the
     * greedy policy of another training task drawn at random; a sample's context is a window of them
     * with probability `fraction` (else of the task's own run). The online context of DPT's second
     * episode is a whole episode played by a policy not made for the task (its own context-free
     * first one), which a learner's history of its own task seldom shows.
     */
    crossPlay: z
      .object({ episodes: z.number().int().min(1).max(1000), fraction: z.number().gt(0).max(1) })
      .strict()
      .optional(),
    /**
     * With pool queries, the play of a trained DPT model on each training task (one round of
     * DAgger): `checkpoint` (a model or training folder, e.g. a model trained by this config
     * without selfPlay) plays `runs` runs of `episodes` episodes on each training task in DPT's
     * online mode (each episode from the earlier ones, as the evaluation plays it); a sample's
     * context is a window of such a run and its query a state of the same run, labelled by the
     * task's final policy, with probability `fraction` (else the usual sample). The model then
     * learns the expert's action at the states its own in-context play reaches, from contexts of
     * its own earlier episodes. A training folder plays its final model (while it trains, its
     * latest checkpoint). With crossPlay too, a sample is a self-play one first (probability
     * `fraction`), else a cross-play one with crossPlay's. `queries: pool` draws a self-play
     * sample's query state as the usual samples do (any run of the split, with ownQueries), so that
     * only the context is the model's play: its labels are then the final policies' actions at the
     * states of the learners' histories, not at states the model's play reaches (default `play`).
     */
    selfPlay: z
      .object({
        checkpoint: z.string().min(1),
        episodes: z.number().int().min(1).max(1000),
        runs: z.number().int().min(1).max(64).default(1),
        fraction: z.number().gt(0).max(1),
        queries: z.enum(['play', 'pool']).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.selfPlay !== undefined && c.query !== 'pool') ctx.addIssue({ code: 'custom', path: ['selfPlay'], message: "self-play samples are labelled by the final policy of the task played: give query: pool" });
    if (c.crossPlay !== undefined && c.query !== 'pool') ctx.addIssue({ code: 'custom', path: ['crossPlay'], message: "cross-play contexts are labelled by the final policy of the context's task: give query: pool" });
    if (c.ownQueries !== undefined && c.query !== 'pool') ctx.addIssue({ code: 'custom', path: ['ownQueries'], message: 'ownQueries mixes own-run query states into pool queries: give query: pool' });
    if (c.query === 'pool' && c.collection === undefined) ctx.addIssue({ code: 'custom', path: ['query'], message: 'pool queries are labelled by the policies of a collection: give data.dpt.collection' });
    if (c.contextFrom === 'run' && c.collection === undefined) ctx.addIssue({ code: 'custom', path: ['contextFrom'], message: 'contexts drawn from a whole run need learning histories: give data.dpt.collection' });
    if (c.collection !== undefined) {
      for (const k of ['samples', 'rollin'] as const) if (c[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `give either collection or ${k}, not both (samples are drawn from the collection's histories)` });
    } else if (c.samples === undefined) ctx.addIssue({ code: 'custom', path: ['samples'], message: 'required unless the samples come from learning histories (data.dpt.collection)' });
  });

export const AdDataConfigSchema = z
  .object({
    /** Source algorithm whose learning histories are distilled (an algorithms registry spec, e.g. {kind: q-learning}). */
    source: z.record(z.string(), z.unknown()).optional(),
    /** Episodes of each learning history. */
    episodes: int(1, LIMITS.episodes).optional(),
    /** Learning histories (independent runs) per training task. */
    historiesPerTask: int(1, 1e4).default(1),
    /**
     * Instead of source / episodes: the output folder of an `icrl collect` run of learning histories
     * (layout icrl, the same family and envOptions), or one history file (.h5, e.g. SAC histories
     * of collectSacHistories), relative to the working directory; its tasks are the training tasks
     * (none may be a held-out task of data.split).
     */
    collection: z.string().min(1).optional(),
    /**
     * Learning-history filtering (src/data/lhf.ts, docs/data.md): the training histories are scored
     * by improvement and stability among the histories of the same task, and windows are drawn from
     * the kept ones (`mode: filter`, the top `keep` fraction of each task) or with LHF's weights
     * (`mode: reweight`). Validation windows stay unweighted. Absent: every history alike.
     */
    lhf: lhfOptionsSchema.optional(),
    /** Episodes per training window: the model's context is windowEpisodes x horizon tokens. */
    windowEpisodes: int(1, 1e4),
    /**
     * Every episodeStride-th episode of a history makes a window (1, the default: consecutive
     * episodes). With a stride s, a window is episodes e, e + s, ..., e + (windowEpisodes - 1) s of one
     * history, so that a few episodes of context span a long stretch of a slow learner's progress
     * (e.g. SAC's hundreds of episodes); the previous action and reward of a window's episode are
     * those of the window's previous episode, as in play. Needs episodes of exactly the
     * environment's horizon (checked), and read: memory.
     */
    episodeStride: int(1, 1e4).default(1),
    /**
     * Windows start within the first firstEpisodes episodes of a history (default: anywhere the
     * history allows). With a stride, the window's first episode is then one of a learner's early,
     * poor episodes and the later ones show what it learnt from there, so that a window never starts
     * from a learner that has already converged (whose behaviour gives the task away without its
     * rewards). read: memory only.
     */
    firstEpisodes: int(1, 1e6).optional(),
    /**
     * How the collection's histories reach the batches: `memory` loads them all before training;
     * `stream` reads each window from the shard files when it is drawn (memory bounded by the
     * index and one batch, whatever the collection's size; docs/long-context.md). Stream needs
     * data.ad.collection.
     */
    read: z.enum(['memory', 'stream']).default('memory'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.read === 'stream' && c.lhf !== undefined) ctx.addIssue({ code: 'custom', path: ['lhf'], message: 'LHF scores whole histories in memory; give read: memory with lhf' });
    if (c.read === 'stream' && c.firstEpisodes !== undefined) ctx.addIssue({ code: 'custom', path: ['firstEpisodes'], message: 'windows restricted to the first episodes are cut from histories in memory; give read: memory with firstEpisodes' });
    if (c.read === 'stream' && c.episodeStride > 1) ctx.addIssue({ code: 'custom', path: ['episodeStride'], message: 'strided windows are cut from histories in memory; give read: memory with episodeStride' });
    if (c.collection !== undefined) {
      for (const k of ['source', 'episodes'] as const) if (c[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `give either collection or ${k}, not both (the collection's histories are used as they are)` });
      return;
    }
    if (c.read === 'stream') ctx.addIssue({ code: 'custom', path: ['read'], message: 'stream reads the windows from the store: it needs data.ad.collection (histories generated in memory are already in memory)' });
    for (const k of ['source', 'episodes'] as const) if (c[k] === undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'required unless the histories come from a collection (data.ad.collection)' });
  });

/** Where the training data comes from: generated / collected in memory from the family's training tasks. */
export const DataConfigSchema = z
  .object({
    family: z.string().min(1),
    envOptions: z.record(z.string(), z.unknown()).default({}),
    split: SplitConfigSchema,
    /** Fraction of training tasks kept out of the batches for the validation loss (0 = none). */
    validationFraction: z.number().min(0).max(0.5).default(0.05),
    /**
     * Standardise the model's inputs with statistics of the training histories: raw observations
     * per coordinate to mean 0 and standard deviation 1, rewards to standard deviation 1 (saved with
     * the model; its agents scale what they see alike). For learning histories (data.ad, or
     * data.dpt.collection) read into memory. Default off: inputs as the environment gives them.
     */
    normalize: z.boolean().default(false),
    dpt: DptDataConfigSchema.optional(),
    ad: AdDataConfigSchema.optional(),
  })
  .strict();
export type DataConfig = z.output<typeof DataConfigSchema>;

export const OptimConfigSchema = z
  .object({
    steps: int(1, LIMITS.steps),
    batchSize: int(1, 1e6),
    lr: pos(),
    /** Learning rate at the end of the cosine decay, as a fraction of lr. */
    minLrFraction: z.number().min(0).max(1).default(0.1),
    warmupSteps: int(0).default(0),
    weightDecay: z.number().min(0).default(1e-4),
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.999),
    /** Global gradient-norm clip (0 = off). */
    gradClip: z.number().min(0).default(1),
  })
  .strict();

export const EvalConfigSchema = z
  .object({
    /** Held-out in-context evaluation every N steps (0 = only at the end). */
    every: int(0).default(0),
    /** Number of held-out tasks evaluated. */
    tasks: int(1, LIMITS.heldOut).default(20),
    /** Bandits: steps per task. */
    steps: int(1, LIMITS.evalSteps).optional(),
    /** MDPs: in-context episodes per task. */
    episodes: int(1, LIMITS.episodes).optional(),
    /** Batches (of min(batchSize, 64) samples) averaged for the validation loss: 2 = 128 contexts, about +-0.05 on DPT bandits. */
    validationBatches: int(1, 1e6).default(2),
    /** Action choice of the model agent: sample from the predicted distribution or take its argmax. */
    actionSelection: z.enum(['sample', 'greedy']).default('sample'),
    /** Algorithms (algorithms registry specs, e.g. {kind: thompson}) evaluated on the same held-out tasks at the end, for comparison. */
    baselines: z.array(z.record(z.string(), z.unknown())).default([]),
  })
  .strict();

export const TrainConfigSchema = z
  .object({
    name: z.string().min(1),
    seed: int(0).default(0),
    /** Output directory (metrics.jsonl, checkpoints/, model.safetensors), relative to the working directory. */
    out: z.string().min(1),
    model: ModelConfigSchema,
    /**
     * A trained model (a model folder, or a training folder's final model) whose weights this
     * training starts from instead of a random initialisation: the same model section, the same
     * input shapes and standardisation, the same context length. The optimiser and the learning
     * rate schedule start afresh. Not read when the output folder holds a checkpoint to resume.
     */
    initFrom: z.string().min(1).optional(),
    data: DataConfigSchema,
    optim: OptimConfigSchema,
    eval: EvalConfigSchema.default({ every: 0, tasks: 20, validationBatches: 2, actionSelection: 'sample', baselines: [] }),
    /** Metrics line every N steps. */
    logEvery: int(1, LIMITS.steps).default(10),
    /** Checkpoint every N steps (and at the end). */
    checkpointEvery: int(1, LIMITS.steps).default(100),
    /** Checkpoints kept on disk (the newest ones). */
    keepCheckpoints: int(1, 1e6).default(2),
    /** Metrics trackers besides metrics.jsonl, e.g. [{ type: tensorboard }] (see train/trackers.ts); none by default. */
    trackers: z.array(z.object({ type: z.string().min(1) }).catchall(z.unknown())).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!modelKinds.has(c.model.kind)) {
      ctx.addIssue({ code: 'custom', path: ['model', 'kind'], message: `unknown model kind "${c.model.kind}"; known: ${modelKinds.names().join(', ')}` });
      return;
    }
    const kind = modelKinds.get(c.model.kind);
    const problem = kind.check?.(c.model);
    if (problem) ctx.addIssue({ code: 'custom', path: ['model', ...problem.path], message: problem.message });
    // the data section of the other kind would be silently ignored
    for (const other of ['dpt', 'ad'] as const) {
      if (other !== kind.dataset && c.data[other] !== undefined) ctx.addIssue({ code: 'custom', path: ['data', other], message: `a ${c.model.kind} model learns from data.${kind.dataset}; remove data.${other} (it would be ignored)` });
    }
    if (c.data[kind.dataset] === undefined) ctx.addIssue({ code: 'custom', path: ['data', kind.dataset], message: `required for a ${c.model.kind} model` });
  });
export type TrainConfig = z.output<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

export function loadTrainConfig(file: string, overrides: readonly string[] = []): TrainConfig {
  return loadConfig(TrainConfigSchema, file, overrides);
}

export function parseTrainConfig(data: unknown, source = 'train config'): TrainConfig {
  return validateConfig(TrainConfigSchema, data, source);
}
