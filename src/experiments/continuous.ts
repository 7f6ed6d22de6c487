/**
 * The continuous-control in-context reproductions `ad-continuous` and `dpt-continuous`
 * (docs/results.md): SAC learning histories on the training tasks of a split (one learner per task,
 * `sacData.ts`), AD or DPT trained on them once per training seed, then evaluated in context on the
 * split's held-out tasks next to the SAC expert (`sac-policy`: the final policy of a SAC learner
 * trained on each held-out task itself), random actions (and the oracle where the family has an
 * exact one), with the source learner's own learning curve on the same held-out tasks (the returns
 * of its episodes in its histories) beside them. On `reach` the source learner is PPO (two `icrl
 * collect` runs: the training goals, and the held-out goals whose final policies are the `ppo-policy`
 * expert), and the names say PPO where they say SAC elsewhere (`PPO expert`, `PPO (source)`); the
 * success per in-context episode (`success<k>`) adds two claims there.
 *
 * Scores the claims compare, besides the evaluation's (`<agent>:return<k>`, return in in-context
 * episode k): `SAC (source):return<k>` (the source learner's k-th episode on the held-out task),
 * `random-expert midpoint:return<k>` (per task, the mean of random's and the expert's return: a
 * model above it has closed more than half of the gap) and `expert less 20%:return<k>` (per task,
 * the expert's return minus 20% of its magnitude: a model above it is within 20% of the expert).
 * All are computed from measured returns, per seed and task; the verdicts come from their intervals.
 */
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { readConfigFile } from '../core/config.js';
import { canonicalJson } from '../core/json.js';
import type { JsonValue } from '../core/spaces.js';
import { collect, h5ready, HistoryReader, loadCollectConfig, openHistoryCollection, resolveTasks } from '../data/index.js';
import { taskKey, splitTasks, type Task } from '../tasks/taskSpace.js';
import { getFamily } from '../envs/index.js';
import { meanCi } from '../eval/stats.js';
import { bandLineChart } from '../report/index.js';
import { packageConfigs, pipeline, type Claim, type Measurements, type ReproduceContext, type ReproductionScale, type ScoreMatrix, type ScoreRef } from './reproduce.js';
import { historyEpisodeReturns, sacHistories, type SacDataSpec } from './sacData.js';

export const CONTINUOUS_FAMILIES = ['cheetah-vel', 'point-robot', 'reach'] as const;
export type ContinuousFamily = (typeof CONTINUOUS_FAMILIES)[number];

export const continuousOptions = z
  .object({
    family: z.enum(CONTINUOUS_FAMILIES).default('cheetah-vel').describe(`task family: ${CONTINUOUS_FAMILIES.join(' or ')} (default cheetah-vel)`),
    heldOut: z
      .enum(['split', 'more'])
      .optional()
      .describe(
        "the tasks the models are evaluated on: split (the default), the split's held-out tasks; more (cheetah-vel only), a diagnostic: 20 more unseen velocities, the held-out side of the split by seed 1, with their own SAC experts (configs/collect-cheetah-vel-sac-heldout20.yaml, collected once), whose intervals are narrower than 5 velocities allow. Its own output folder (<entry>-small-more); the models are the entry's, in its folder (trained there first if they are not yet)",
      ),
    evalRuns: z
      .number()
      .int()
      .min(1)
      .max(20)
      .optional()
      .describe(
        "evaluations of each seed's models (default 1), a diagnostic: the held-out tasks played again with other random streams (run 0 with the training seed as the evaluation seed, as the entry's one evaluation, run r > 0 with a seed split from it), every agent's per-task score the mean over the runs, so that the verdicts' intervals hold less of single rollouts' noise. Its own output folder (<entry>-small-<runs>); the models are the entry's, in its folder (trained there first if they are not yet)",
      ),
  })
  .strict();

/** The options of the continuous entries that change only the evaluation: their runs evaluate the entry's models (ReproductionEntry.evaluationOptions). */
export const CONTINUOUS_EVALUATION_OPTIONS = ['heldOut', 'evalRuns'];

/**
 * Where the SAC histories come from: `sac`, collected here on the training and on the held-out tasks
 * (`sacHistories`); or `collection`, an `icrl collect` folder of SAC histories on the training tasks
 * (`collect`: its config in configs/, `file`: its shard) and, with `heldOut`, a second one on the
 * held-out tasks, whose per-task policy files are the expert (each held-out task's own learner) and
 * whose histories give the source curve. Without `heldOut` the training collection's policies and
 * histories stand in (the learner of the nearest training task). Or `collections` (reach): the same
 * two collections of any learner (PPO there) in `train/` and `heldout/` of one data folder.
 */
export type ContinuousData =
  | { kind: 'sac'; spec: SacDataSpec }
  | { kind: 'collection'; collect: string; file: string; split: SacDataSpec['split']; steps: number; heldOut?: { collect: string; file: string }; dpt?: DptCollection }
  | ContinuousCollections;

/**
 * DPT's own training collection (a `collection` set-up's): an `icrl collect` config in configs/ on
 * more training tasks of the same split (`split`: the one its DPT config names), collected into its
 * own data folder; DPT reads the whole folder (all shards, and the policy files that label its
 * query states). AD keeps the set-up's `collect`.
 */
export interface DptCollection {
  collect: string;
  split: SacDataSpec['split'];
}

/**
 * Two `icrl collect` runs of the source learner (configs in configs/, each collected into a folder
 * of the data folder: `train/`, `heldout/`): one on the training tasks of the split (what the
 * models learn from), one on its held-out tasks (the source learner's own curve there, and its
 * per-task policy files: the exact expert). `file` is the shard holding each one's histories.
 */
export interface ContinuousCollections {
  kind: 'collections';
  train: string;
  heldOut: string;
  file: string;
  split: SacDataSpec['split'];
  steps: number;
}

/**
 * A diagnostic set of more held-out tasks (`--set heldOut=more`): an `icrl collect` config of the
 * source learner on them (in configs/; its per-task policy files are the expert, its histories the
 * source curve), collected into the data folder `continuousDataDir(..., folder)`; `file` its shard
 * of those histories; `eval` the evaluation config on the same tasks (the held-out side of `split`).
 */
export interface MoreHeldOut {
  collect: string;
  folder: string;
  file: string;
  eval: string;
  split: { seed: number; heldOut: number };
}

/** What one family's small scale runs. */
export interface ContinuousSetup {
  data: ContinuousData;
  /** The diagnostic held-out tasks of `--set heldOut=more` (families without them refuse the option). */
  moreHeldOut?: MoreHeldOut;
  /** Training configs (in configs/) of AD and DPT; the reproduction sets their data path. */
  train: { AD: string; DPT: string };
  /** The evaluation config (in configs/). */
  eval: string;
  /** How the expert finds its learner: each held-out task's own (exact), or the nearest task's. */
  expertMatch: 'exact' | 'nearest';
  /** The source learner whose histories the models learn from and whose final policies are the expert (default SAC). */
  learner?: SourceLearner;
  /** Whether the family scores success per episode (`success<k>`): success rows and claims. */
  success?: boolean;
  /** DPT's online context (the model agent's `context`): every transition so far (steps, the default) or its past episodes (the DPT paper's online mode). */
  dptContext?: 'steps' | 'episodes';
}

/** The deep learner that writes a family's histories (its `<kind>-policy` agent plays the expert). */
export type SourceLearner = 'SAC' | 'PPO';

/** The name of the expert agent (the source learner's final policies) of a learner. */
export const expertName = (l: SourceLearner): string => `${l} expert`;
/** The name of the source learner's own curve on the held-out tasks (or on the nearest training task's). */
export const sourceName = (l: SourceLearner, nearest = false): string => (nearest ? `${l} (source, nearest training task)` : `${l} (source)`);
export const EXPERT = expertName('SAC');
export const SOURCE = sourceName('SAC');
export const SOURCE_NEAREST = sourceName('SAC', true);
export const MIDPOINT = 'random-expert midpoint';
export const NEAR_EXPERT = 'expert less 20%';

export const CONTINUOUS_SETUPS: Record<ContinuousFamily, ContinuousSetup> = {
  'point-robot': {
    data: { kind: 'sac', spec: { family: 'point-robot', envOptions: {}, split: { seed: 0, heldOut: 12, train: 32 }, steps: 10000, sac: { hidden: [64, 64], batchSize: 64, learningStarts: 1000 }, seed: 0 } },
    train: { AD: 'ad-point-robot-sac-small.yaml', DPT: 'dpt-point-robot-sac-small.yaml' },
    eval: 'reproduce-continuous-point-robot.yaml',
    expertMatch: 'exact',
  },
  'cheetah-vel': {
    // the 10 training velocities of collect-cheetah-vel-sac.yaml are the first 10 of the split by seed 0, and
    // the 5 of collect-cheetah-vel-sac-heldout.yaml its held-out 5 (cheetahVelSplit's)
    data: {
      kind: 'collection',
      collect: 'collect-cheetah-vel-sac.yaml',
      file: 'shard-00000.h5',
      split: { seed: 0, heldOut: 5, train: 10 },
      steps: 100000,
      heldOut: { collect: 'collect-cheetah-vel-sac-heldout.yaml', file: 'shard-00000.h5' },
      // DPT on the first 30 velocities of the split (its first 10 are AD's)
      dpt: { collect: 'collect-cheetah-vel-sac-dpt.yaml', split: { seed: 0, heldOut: 5, train: 30 } },
    },
    train: { AD: 'ad-cheetah-vel-sac-small.yaml', DPT: 'dpt-cheetah-vel-sac-small.yaml' },
    eval: 'reproduce-continuous-cheetah-vel.yaml',
    // 20 more unseen velocities: the held-out side of the split by seed 1, with their own SAC learners
    moreHeldOut: { collect: 'collect-cheetah-vel-sac-heldout20.yaml', folder: 'heldout20', file: 'shard-00000.h5', eval: 'reproduce-continuous-cheetah-vel-heldout20.yaml', split: { seed: 1, heldOut: 20 } },
    expertMatch: 'exact',
    dptContext: 'episodes',
  },
  reach: {
    // PPO (CleanRL's continuous defaults) on the 45 training and the 5 held-out goals of Meta-World ML1's split by seed 0
    data: { kind: 'collections', train: 'collect-reach-ppo.yaml', heldOut: 'collect-reach-ppo-heldout.yaml', file: 'shard-00000.h5', split: { seed: 0, heldOut: 5, train: 45 }, steps: 20000 },
    train: { AD: 'ad-reach-ppo-small.yaml', DPT: 'dpt-reach-ppo-small.yaml' },
    eval: 'reproduce-continuous-reach.yaml',
    expertMatch: 'exact',
    learner: 'PPO',
    success: true,
    dptContext: 'episodes',
  },
};

/** The folder of a family's learning histories (SAC or PPO), shared by the two entries (beside their output folders); `part`: that of another collection of the family (`heldout`: the separate held-out one, `dpt`: DPT's own training collection, a diagnostic's `folder`). */
export function continuousDataDir(ctx: ReproduceContext, family: ContinuousFamily, part = ''): string {
  const learner = CONTINUOUS_SETUPS[family].learner ?? 'SAC';
  return join(dirname(ctx.out), 'data', `${learner.toLowerCase()}-${family}${part ? `-${part}` : ''}-${ctx.scale}`);
}

function check(cond: boolean, file: string, what: string): void {
  if (!cond) throw new ConfigError(`${file}: ${what}`, file);
}

/** The run of one entry: data, then the pipeline of its model, then the scores built from the measured returns. */
export function continuousRun(model: 'AD' | 'DPT') {
  return async (ctx: ReproduceContext): Promise<Measurements> => {
    const opts = continuousOptions.parse(ctx.options ?? {});
    const family: ContinuousFamily = opts.family;
    const setup = CONTINUOUS_SETUPS[family];
    const more = opts.heldOut === 'more' ? setup.moreHeldOut : undefined;
    if (opts.heldOut === 'more' && !more) throw new ConfigError(`--set heldOut=more: ${family} has no diagnostic held-out tasks (${CONTINUOUS_FAMILIES.filter((f) => CONTINUOUS_SETUPS[f].moreHeldOut).join(', ')} has)`, '--set heldOut');
    const configs = packageConfigs();
    // the configs must train and evaluate around the split the histories were collected on
    const trainFile = join(configs, setup.train[model]);
    const tc = readConfigFile(trainFile) as { data?: { family?: string; split?: unknown; envOptions?: unknown } };
    check(tc.data?.family === family, trainFile, `data.family must be ${family}`);
    const dptData = model === 'DPT' && setup.data.kind === 'collection' ? setup.data.dpt : undefined;
    const wantSplit = setup.data.kind === 'sac' ? setup.data.spec.split : (dptData?.split ?? setup.data.split);
    const learner = setup.learner ?? 'SAC';
    const EXP = expertName(learner);
    check(canonicalJson((tc.data?.split ?? null) as JsonValue) === canonicalJson(wantSplit as unknown as JsonValue), trainFile, `data.split must be ${JSON.stringify(wantSplit)} (the split of the ${learner} histories)`);
    // the evaluation's tasks: the held-out side of the split (or of the diagnostic's)
    const evalSplit = more?.split ?? wantSplit;
    const evalFile = join(configs, more?.eval ?? setup.eval);
    const ec = readConfigFile(evalFile) as { env?: { family?: string }; tasks?: { heldOut?: number; seed?: number }; online?: { episodes?: number } };
    check(ec.env?.family === family && ec.tasks?.heldOut === evalSplit.heldOut && (ec.tasks?.seed ?? 0) === evalSplit.seed, evalFile, `must evaluate on the ${evalSplit.heldOut} held-out ${family} tasks of the split by seed ${evalSplit.seed}`);

    const split = wantSplit;
    const space = getFamily(family).taskSpace({});
    const heldOut = splitTasks(space, evalSplit).heldOut;
    const dataDir = continuousDataDir(ctx, family, dptData ? 'dpt' : '');
    let data: { train: string; heldOut: string | null; expert: string; seconds: { train: number | null; heldOut: number | null } };
    if (setup.data.kind === 'sac') data = await sacHistories(setup.data.spec, dataDir, ctx.say);
    else if (setup.data.kind === 'collections') data = await learnerCollections(setup.data, learner, dataDir, ctx);
    else {
      // icrl collect of the config into the data folder: a complete collection is found and kept, a killed one resumes
      const trainCollect = dptData?.collect ?? setup.data.collect;
      ctx.say(`SAC histories of the training tasks: configs/${trainCollect} -> ${dataDir}`);
      const r = await collect(loadCollectConfig(join(configs, trainCollect)), { out: dataDir, silent: !ctx.progress });
      ctx.say(`  ${r.computed === 0 ? "collected before, not again" : `collected ${r.computed} shard(s) in ${r.seconds.toFixed(0)} s`}`);
      data = { train: join(dataDir, setup.data.file), heldOut: null, expert: dataDir, seconds: { train: null, heldOut: null } };
      if (more) {
        // none of the diagnostic's tasks may be one the model trained on
        const trained = new Set(resolveTasks(loadCollectConfig(join(configs, trainCollect))).map(taskKey));
        const seen = heldOut.filter((t) => trained.has(taskKey(t)));
        if (seen.length > 0) throw new ConfigError(`configs/${more.collect}: ${seen.length} of its tasks are training tasks of configs/${trainCollect} (${JSON.stringify(seen[0].params)})`, more.collect);
      }
      const held = more ?? setup.data.heldOut;
      if (held) {
        const heldDir = continuousDataDir(ctx, family, more ? more.folder : 'heldout');
        ctx.say(`SAC histories of the held-out tasks: configs/${held.collect} -> ${heldDir}`);
        const h = await collect(loadCollectConfig(join(configs, held.collect)), { out: heldDir, silent: !ctx.progress });
        ctx.say(`  ${h.computed === 0 ? "collected before, not again" : `collected ${h.computed} shard(s) in ${h.seconds.toFixed(0)} s`}`);
        data = { ...data, heldOut: join(heldDir, held.file), expert: heldDir };
      }
    }
    const dataKey = model === 'AD' ? 'ad' : 'dpt';
    const m = await pipeline({
      models: [
        {
          label: model,
          train: setup.train[model],
          // DPT from a collection folder: its policy files label the pool's query states (data.dpt.query: pool)
          set: [`data.${dataKey}.collection=${JSON.stringify(model === 'DPT' && setup.data.kind !== 'sac' ? dirname(data.train) : data.train)}`],
          ...(model === 'DPT' && setup.dptContext ? { agent: { context: setup.dptContext } } : {}),
        },
      ],
      eval: more?.eval ?? setup.eval,
      agents: [{ type: `${learner.toLowerCase()}-policy`, name: EXP, checkpoint: data.expert, match: setup.expertMatch }],
      evalRuns: opts.evalRuns,
    })(ctx);

    // the source learner on the held-out tasks (or on the nearest training task), in the evaluation's task order
    await h5ready();
    const sourceFile = data.heldOut ?? data.train;
    const SRC = sourceName(learner, !data.heldOut);
    // a collection folder's every shard (a SAC set-up's one file)
    const what = `the ${learner} histories of the ${data.heldOut ? 'held-out' : 'training'} tasks`;
    const shards = setup.data.kind === 'sac' ? [{ reader: new HistoryReader(sourceFile, what), groups: null }] : await openHistoryCollection(dirname(sourceFile));
    const histories: { task: Task; returns: number[] }[] = [];
    try {
      for (const { reader, groups } of shards) {
        for (const g of groups ?? reader.groups()) {
          const h = reader.readHistory(g);
          histories.push({ task: h.task, returns: historyEpisodeReturns(h)[0] });
        }
      }
    } finally {
      for (const { reader } of shards) reader.close();
    }
    const source = heldOut.map((t) => {
      const exact = histories.find((h) => taskKey(h.task) === taskKey(t));
      if (exact) return exact.returns;
      if (data.heldOut) throw new ConfigError(`${dirname(sourceFile)}: no history of held-out task ${JSON.stringify(t.params)}`, sourceFile);
      return nearestTask(histories, t).returns;
    });
    const K = ec.online?.episodes ?? 1;
    const perSeed = (row: number[]): ScoreMatrix => ctx.seeds.map(() => row.slice());
    for (let k = 1; k <= K; k++) m.scores.set(`${SRC}:return${k}`, perSeed(source.map((r) => r[k - 1])));
    m.scores.set(`${SRC}:lastReturn`, perSeed(source.map((r) => r[r.length - 1])));
    for (let k = 1; k <= K; k++) {
      const e = m.scores.get(`${EXP}:return${k}`);
      const r = m.scores.get(`random:return${k}`);
      if (!e || !r) continue;
      m.scores.set(`${MIDPOINT}:return${k}`, e.map((row, s) => row.map((x, i) => (x + r[s][i]) / 2)));
      m.scores.set(`${NEAR_EXPERT}:return${k}`, e.map((row) => row.map((x) => x - 0.2 * Math.abs(x))));
    }

    // the source learner's curve over all its episodes, with the expert's and the model's last in-context return as lines
    const E = Math.min(...source.map((r) => r.length));
    const x = Array.from({ length: E }, (_, i) => i + 1);
    const band = x.map((_, i) => meanCi(source.map((r) => r[i])));
    const flat = (name: string, key: string) => {
      const sc = m.scores.get(key);
      if (!sc) return [];
      const v = sc.flat().reduce((a, b) => a + b, 0) / sc.flat().length;
      return [{ name, x, mean: x.map(() => v), reference: true }];
    };
    const chart = bandLineChart(
      `The source learner (${learner}) on the held-out ${family} tasks`,
      [{ name: SRC, x, mean: band.map((b) => b.mean), lo: band.map((b) => b.lo), hi: band.map((b) => b.hi) }, ...flat(`${model}, in-context episode ${K}`, `${model}:return${K}`), ...flat(EXP, `${EXP}:return1`), ...flat('random', 'random:return1')],
      { xName: `${learner} episode`, yName: 'return' },
      `Return of each episode of the ${learner} learner trained ${data.heldOut ? 'on each held-out task' : 'on the training task nearest to each held-out task'} from scratch, mean over tasks with a 95% t-interval; flat lines: the model's return in its last in-context episode, the expert's and random's (means over seeds and tasks).`,
    );
    const secs = (v: number | null) => (v === null ? 'not timed' : `${v.toFixed(0)} s`);
    m.sections.push({
      title: 'Source learner',
      text: [
        setup.data.kind === 'sac'
          ? `SAC histories: ${split.train} training and ${split.heldOut} held-out ${family} tasks (split seed ${split.seed}) x ${setup.data.spec.steps} steps, SAC ${JSON.stringify(setup.data.spec.sac)}; collected in ${secs(data.seconds.train)} (training tasks) and ${secs(data.seconds.heldOut)} (held-out tasks), in ${dataDir}.`
          : setup.data.kind === 'collections'
            ? `${learner} histories: the collections of configs/${setup.data.train} (${split.train} training ${family} tasks x ${setup.data.steps} steps) and configs/${setup.data.heldOut} (the ${split.heldOut} held-out tasks, same learner) in ${dataDir}.`
            : setup.data.heldOut
              ? `SAC histories: the collections of configs/${dptData?.collect ?? setup.data.collect} (${split.train} training ${family} tasks x ${setup.data.steps} steps) in ${dataDir} and of configs/${(more ?? setup.data.heldOut).collect} (the ${heldOut.length} held-out tasks${more ? ` of the split by seed ${more.split.seed}, a diagnostic beside the entry's ${split.heldOut}` : ''}, as many steps) in ${dirname(data.heldOut!)}.`
              : `SAC histories: the collection of configs/${dptData?.collect ?? setup.data.collect} (${split.train} training ${family} tasks x ${setup.data.steps} steps) in ${dataDir}; no SAC learner trained on the ${split.heldOut} held-out tasks.`,
        setup.expertMatch === 'exact' ? `The expert is the final greedy policy of the ${learner} learner of each held-out task.` : "The expert is the final greedy policy of the SAC learner of the training task nearest to each held-out task (a stand-in: no learner trained on the held-out tasks themselves), and the source curve is that learner's.",
      ],
      charts: [chart],
    });
    m.files.push(data.train, ...(data.heldOut ? [data.heldOut] : []), data.expert);
    return m;
  };
}

/** The two collections of a `collections` data set-up (each found complete and kept, or resumed). */
async function learnerCollections(d: ContinuousCollections, learner: SourceLearner, dataDir: string, ctx: ReproduceContext) {
  const configs = packageConfigs();
  const run = async (config: string, sub: string): Promise<{ dir: string; seconds: number | null }> => {
    const dir = join(dataDir, sub);
    ctx.say(`${learner} histories: configs/${config} -> ${dir}`);
    const r = await collect(loadCollectConfig(join(configs, config)), { out: dir, silent: !ctx.progress });
    ctx.say(`  ${r.computed === 0 ? 'collected before, not again' : `collected ${r.computed} shard(s) in ${r.seconds.toFixed(0)} s`}`);
    return { dir, seconds: r.computed === 0 ? null : r.seconds };
  };
  const train = await run(d.train, 'train');
  const heldOut = await run(d.heldOut, 'heldout');
  return { train: join(train.dir, d.file), heldOut: join(heldOut.dir, d.file), expert: heldOut.dir, seconds: { train: train.seconds, heldOut: heldOut.seconds } };
}

/** The history whose task's numeric parameters are nearest to `t`'s. */
function nearestTask<H extends { task: Task }>(hs: H[], t: Task): H {
  const p = Object.values(t.params).filter((v): v is number => typeof v === 'number');
  let best = hs[0];
  let bestD = Infinity;
  for (const h of hs) {
    const q = Object.values(h.task.params).filter((v): v is number => typeof v === 'number');
    const d = q.length === p.length ? p.reduce((a, x, i) => a + (x - q[i]) ** 2, 0) : Infinity;
    if (d < bestD) {
      bestD = d;
      best = h;
    }
  }
  return best;
}

const ep = (agent: string, k: number): ScoreRef => ({ agent, metric: `return${k}` });
const sp = (agent: string, k: number): ScoreRef => ({ agent, metric: `success${k}` });
const LEARNERS: SourceLearner[] = ['SAC', 'PPO'];
/** The learner of the families that score success (reach: PPO). */
const SUCCESS_LEARNER: SourceLearner = CONTINUOUS_SETUPS.reach.learner ?? 'SAC';

/** Rows of an entry's table (rows a family does not measure, e.g. success on cheetah-vel, are left out). */
export function continuousTable(model: 'AD' | 'DPT'): ScoreRef[] {
  return [
    ...[1, 2, 3, 4].map((k) => ep(model, k)),
    ...LEARNERS.map((l) => ep(expertName(l), 1)),
    ep('expert', 1),
    ep('random', 1),
    ep('oracle', 1),
    ...LEARNERS.flatMap((l) => [sourceName(l), sourceName(l, true)]).flatMap((src) => [ep(src, 1), ep(src, 4), { agent: src, metric: 'lastReturn' as const }]),
    ep(MIDPOINT, 4),
    ...[1, 2, 3, 4].map((k) => sp(model, k)),
    ...LEARNERS.map((l) => sp(expertName(l), 1)),
    sp('expert', 1),
    sp('random', 1),
  ];
}

/** Whether the entry's options name a family that scores success per episode. */
const scoresSuccess = (options: Record<string, unknown>): boolean => CONTINUOUS_SETUPS[continuousOptions.parse(options).family].success === true;

/**
 * The claims: improvement over the first 4 in-context episodes and half of the random-to-expert gap
 * closed by episode 4 (AD, DPT), within 20% of the expert from episode 2 on (DPT); on families with
 * success (reach), the success rate rises from episode 1 to 4 and reaches half the expert's by episode 4.
 */
export function continuousClaims(model: 'AD' | 'DPT'): Claim[] {
  const claims: Claim[] = [
    { text: `${model}'s return in in-context episode 4 is above its return in episode 1 (held-out tasks)`, left: ep(model, 4), right: ep(model, 1) },
    { text: `${model}'s return in in-context episode 4 closes at least half of the gap between random and the expert (the source learner's final policy; above their per-task midpoint)`, left: ep(model, 4), right: ep(MIDPOINT, 4) },
  ];
  if (model === 'DPT') for (const k of [2, 3, 4]) claims.push({ text: `DPT's return in in-context episode ${k} is within 20% of the expert's (above the expert's return less 20% of its magnitude)`, left: ep('DPT', k), right: ep(NEAR_EXPERT, k) });
  const EXP = expertName(SUCCESS_LEARNER);
  claims.push(
    { text: `${model}'s success rate in in-context episode 4 is above its success rate in episode 1 (reach)`, left: sp(model, 4), right: sp(model, 1), applies: scoresSuccess },
    { text: `${model}'s success rate in in-context episode 4 is at least half of the ${EXP}'s (reach)`, left: sp(model, 4), right: sp(EXP, 4), fraction: 0.5, applies: scoresSuccess },
  );
  return claims;
}

/** The small scale of an entry (the family is an option of the entry). */
export function continuousScale(model: 'AD' | 'DPT'): ReproductionScale {
  return {
    budget: `cheetah-vel (the default): ${
      model === 'AD'
        ? "the SAC collections of configs/collect-cheetah-vel-sac.yaml (10 training velocities x 100,000 steps; 908 s on one quiet core, 1,816 s under a load of 25-30) and configs/collect-cheetah-vel-sac-heldout.yaml (the 5 held-out velocities, whose learners are the expert; 499 s on one quiet core), then per seed 5,000 training steps (batch 8) of a 2-layer AD on windows of 4 episodes 100 episodes apart, the first among the learner's first 50, standardised inputs, and 5 velocities x 4 in-context episodes (3,405 s for 3 seeds trained side by side, 3 to 6 processes on the 2 cores)"
        : 'the SAC collections of configs/collect-cheetah-vel-sac-dpt.yaml (30 training velocities x 100,000 steps, 3 shards side by side: 954 s) and configs/collect-cheetah-vel-sac-heldout.yaml (the 5 held-out velocities, whose learners are the expert; 500 s beside it), then per seed 20,000 training steps (batch 32) of a 2-layer, 64-wide DPT with a 512-wide action head on 40-transition contexts with query states from any training history, standardised inputs (2,075 to 2,116 s per seed with --parallel 3, the 3 seeds side by side on the 2 cores; 2,128 s for training and evaluation), and 5 velocities x 4 in-context episodes (12 s for the 3 seeds)'
    }, each collection made once into the data folders; --set heldOut=more: also SAC on 20 more velocities x 100,000 steps once (722 s, 2 shards side by side), the entry's models evaluated on them (12 s; trained first, in the entry's folder, when they are not yet); --set evalRuns=r: the entry's models evaluated r times per seed (14 s for 3, 24 s for 10); --set family=point-robot: SAC on 32 + 12 goals x 10,000 steps once for both entries (1,474 s under a load of 24-30), then per seed 2,500 training steps and 12 goals x 6 episodes (${model === 'AD' ? '549' : '682'} s for 3 seeds under that load); --set family=reach: PPO on 45 + 5 goals x 20,000 steps once for both entries (481 + 55 s under a load of 8-9), then per seed 2,000 training steps of a 2-layer ${model} on 4-episode windows and 5 goals x 4 in-context episodes (${model === 'AD' ? '1,025 s for 3 seeds under a load of 8-13' : '570 s for 3 seeds beside 3 other processes, after 165 + 18 s of PPO collection'})`,
    table: continuousTable(model),
    run: continuousRun(model),
  };
}
