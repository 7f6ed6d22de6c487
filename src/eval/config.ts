/**
 * Schema of an evaluation config (`icrl eval <config>`). Example (configs/eval-bandit.yaml):
 *
 *   name: bandit-baselines
 *   seed: 0
 *   env: { family: bandit, options: { arms: 5, noiseSd: 0 } }
 *   tasks: { heldOut: 200, seed: 1 }
 *   online:
 *     steps: 500
 *     agents: [{ type: ucb, c: 1.0 }, { type: thompson }, { type: greedy }]
 *     references: [oracle, random]
 *   offline:
 *     sizes: [1, 10, 100, 500]
 *     datasetOptions: { noiseSd: 0.3 }
 *     agents: [{ type: lcb, c: 0.8 }]
 *   out: runs/eval-bandit
 */
import { z } from 'zod';

/** An agent spec: `type` (or its alias `kind`) picks the agent, `name` labels it, the rest are options. */
export const agentSpecSchema = z
  .object({
    type: z.string().min(1).optional(),
    kind: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
  })
  .catchall(z.unknown())
  .refine((s) => (s.type === undefined) !== (s.kind === undefined), { message: 'give the agent type as type (or kind), once' })
  .transform(({ kind, ...rest }) => ({ ...rest, type: (rest.type ?? kind) as string }));

export const evalConfigSchema = z
  .object({
    name: z.string().min(1).default('eval'),
    seed: z.number().int().min(0).default(0),
    env: z
      .object({
        family: z.string().min(1),
        options: z.record(z.string(), z.unknown()).default({}),
      })
      .strict(),
    tasks: z
      .object({
        /** Number of held-out tasks (or a fraction of a finite space) of the split by `seed`. */
        heldOut: z.number().positive().optional(),
        /** Seed of the train / held-out split (use the one the training data used). */
        seed: z.number().int().min(0).default(0),
        /** Evaluate on the first `limit` held-out tasks only. */
        limit: z.number().int().positive().optional(),
        /** A tasks file (written by serializeTasks / a task library) instead of a split. */
        file: z.string().min(1).optional(),
      })
      .strict()
      .refine((t) => (t.heldOut === undefined) !== (t.file === undefined), { message: 'give exactly one of heldOut or file' }),
    online: z
      .object({
        steps: z.number().int().positive().optional(),
        episodes: z.number().int().positive().optional(),
        agents: z.array(agentSpecSchema).default([]),
        /**
         * Reference agents: `oracle` (the exact optimum; left out, with a note, for a family without
         * one: MuJoCo), `expert` (the family's scripted expert: reach, push), `random`.
         */
        references: z.array(z.enum(['oracle', 'expert', 'random'])).default(['oracle', 'random']),
      })
      .strict()
      .refine((o) => (o.steps === undefined) !== (o.episodes === undefined), { message: 'give exactly one of steps (bandits) or episodes (MDPs)' })
      .optional(),
    offline: z
      .object({
        sizes: z.array(z.number().int().min(0)).min(1),
        /** Environment options used to log the datasets (e.g. the training noise). */
        datasetOptions: z.record(z.string(), z.unknown()).default({}),
        agents: z.array(agentSpecSchema).min(1),
      })
      .strict()
      .optional(),
    /** Output folder: results.json and report.html (relative to the working directory). */
    out: z.string().min(1).default('runs/eval'),
    report: z
      .object({
        title: z.string().optional(),
        /** Trainer metrics files (JSON lines) to chart. */
        trainingMetrics: z.array(z.string()).default([]),
      })
      .strict()
      .default({ trainingMetrics: [] }),
  })
  .strict()
  .refine((c) => c.online !== undefined || c.offline !== undefined, { message: 'give online, offline or both' });

export type EvalConfig = z.output<typeof evalConfigSchema>;
export type EvalConfigInput = z.input<typeof evalConfigSchema>;
