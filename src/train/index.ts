/**
 * Training of the in-context models: `trainFromConfig(config, options)` (what `icrl train` and the
 * quick start call), configs, checkpoints, metrics. See docs/models.md.
 */
export { trainFromConfig, TrainingDivergedError, TrainingStoppedError, heldOutEval, validationLoss, evalEnvOptions, type TrainOptions, type TrainResult, type TrainProgressInfo, type HeldOutEval } from './trainer.js';
export { TrainConfigSchema, ModelConfigSchema, MoeConfigSchema, DataConfigSchema, loadTrainConfig, parseTrainConfig, type TrainConfig, type TrainConfigInput, type ModelConfig, type MoeConfig } from './config.js';
export { buildTrainingData, collectHistories, adTrainingData, weightedPicker, lhfScoresPerTask, type AdHistorySets } from './data.js';
export { computeLoss, type LossParts } from './loss.js';
export { latestCheckpoint, loadCheckpoint, saveCheckpoint, type CheckpointState } from './checkpoint.js';
export { MetricsWriter, readMetrics, type MetricRecord } from './metrics.js';
export { trackers, createTrackers, recordScalars, TensorBoardSink, type MetricsSink, type TrackerEntry, type TrackerContext, type TrackedRecord } from './trackers.js';
export type { Batch, AdBatch, DptBatch, TrainingData } from '../models/batches.js';
export { comparePosterior, type PosteriorOptions, type PosteriorReport, type PosteriorBin } from './posterior.js';
