/**
 * Registry of sub-commands: one module per command, each exporting `register(program)`.
 * Add a line here when adding a command module.
 */
import type { Command } from 'commander';
import { register as registerEval } from './eval.js';
import { register as registerReport } from './report.js';
import { register as registerQuickstart } from './quickstart.js';
import { register as teach } from './teach.js';
import { register as registerLlm } from './llm.js';
import { register as registerTasks } from './tasks.js';
import { register as registerCollect } from './collect.js';
import { register as registerLhf } from './lhf.js';
import { register as registerTrain } from './train.js';
import { register as registerEnvs } from './envs.js';
import { register as registerPosterior } from './posterior.js';
import { register as registerRuns } from './runs.js';
import { register as registerReproduce } from './reproduce.js';

type Register = (program: Command) => void;

const modules: Register[] = [registerEval, registerReport, registerQuickstart, teach, registerCollect, registerLhf, registerTrain, registerLlm, registerTasks, registerEnvs, registerPosterior, registerRuns, registerReproduce];

export function registerCommands(program: Command): void {
  for (const register of modules) register(program);
}
