/**
 * In-context RL models built on the engine (src/nn): Algorithm Distillation, the Decision-Pretrained
 * Transformer, T2MIR mixture-of-experts layers for both, and model agents with key/value-cache
 * decoding. See docs/models.md.
 */
export { ADModel } from './ad.js';
export { DPTModel } from './dpt.js';
export { Backbone } from './backbone.js';
export { T2MoE, type ExpertLoad } from './t2mir.js';
export { envDims, adTokenSize, dptTokenSize, obsFeatureSize, actFeatureSize, writeObs, writeAction, writeAdToken, writeDptToken, readDptTokenActionReward, standardizedDims, type EnvDims } from './features.js';
export { buildModel, modelSpec, saveInContextModel, loadInContextModel, ModelSpecSchema, type InContextModel, type ModelSpec } from './io.js';
export { ADAgent, DPTAgent, type ActionSelection, type ModelAgentOptions } from './agents.js';
export { modelAgent, loadModelAgent, modelAgentFromSpec } from './load.js';
export { modelKinds, type ModelKind, type PredictionLoss } from './kinds.js';
export { ModelConfigSchema, MoeConfigSchema, type ModelConfig, type MoeConfig } from './config.js';
export type { Batch, DptBatch, AdBatch, TrainingData } from './batches.js';
