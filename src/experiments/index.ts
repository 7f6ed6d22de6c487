/**
 * Experiments that join the layers: an evaluation with its report, the quick start (train, evaluate,
 * report), curricula in the loop (a teacher choosing the tasks of a learning agent), the
 * reproductions of papers' claims (`icrl reproduce`), and sweeps (`icrl sweep`).
 */
export * from './evaluate.js';
export * from './quickstart.js';
export * from './curriculum.js';
export * from './sweep.js';
export * from './runs.js';
export * from './reproduce.js';
export * from './pretrainChoice.js';
import './reproductions.js';
export * from './deepCurriculum.js';
export * from './trackResults.js';
export * from './sacData.js';
export * from './continuous.js';

export * from './libraryCurriculum.js';
