/** The in-context models the trainer, the checkpoints and the agents handle. */
import type { ADModel } from './ad.js';
import type { DPTModel } from './dpt.js';

/**
 * A trained or training in-context model. Model kinds registered from code build one of these
 * classes (a kind is a way to build, train and play one, see models/kinds.ts).
 */
export type InContextModel = ADModel | DPTModel;
