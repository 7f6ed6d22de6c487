/**
 * The entries of `icrl reproduce` (docs/results.md): each names a paper, its claim, the configs
 * of each scale and the claims whose verdicts are computed from the measured intervals. Add an entry
 * with `reproductions.register({...})`; a train-then-evaluate entry only lists its configs
 * (`pipeline`), anything else supplies its own run function returning per-seed scores.
 */
import { z } from 'zod';
import { runToyMany, TEACHER_NAMES, type ToyRunSpec, type ToyVariant } from '../teachers/index.js';
import { meanCi } from '../eval/stats.js';
import { bandLineChart } from '../report/index.js';
import { CONTINUOUS_EVALUATION_OPTIONS, continuousClaims, continuousOptions, continuousScale } from './continuous.js';
import { pipeline, reproductions, type Measurements, type ReproduceContext, type ScoreMatrix } from './reproduce.js';
import { beatsUniformClaims, chooserLabel, pretrainChoiceRun } from './pretrainChoice.js';
import { t2mirMixClaims, t2mirMixOptions, t2mirMixScale } from './t2mirMix.js';

const noOptions = z.object({}).strict();

/** Rows of the bandit entry's table at every scale. */
const BANDIT_TABLE = ['DPT', 'Thompson', 'UCB', 'greedy', 'random'].map((agent) => ({ agent, metric: 'finalRegret' as const }));

reproductions.register({
  name: 'dpt-bandit',
  description: 'DPT against Thompson sampling and UCB on held-out 5-armed Gaussian bandits (online cumulative regret)',
  options: noOptions,
  paper: 'Lee et al. 2023, "Supervised Pretraining Can Learn In-Context Reinforcement Learning" (DPT)',
  claim: "A DPT pretrained to predict the optimal arm explores in context: its online regret on held-out bandits is close to Thompson sampling's and below UCB's.",
  claims: [
    { text: "DPT's cumulative regret at the last step is lower than UCB's", left: { agent: 'DPT', metric: 'finalRegret' }, right: { agent: 'UCB', metric: 'finalRegret' } },
    {
      text: "DPT's cumulative regret at the last step is within 10% of Thompson sampling's (below 1.1 x)",
      left: { agent: 'DPT', metric: 'finalRegret' },
      right: { agent: 'Thompson', metric: 'finalRegret' },
      fraction: 1.1,
    },
  ],
  scales: {
    small: {
      budget: '3,000 training steps (the quick start\'s model) and 200 bandits x 500 steps per seed; 127 minutes for 3 seeds on the shared 2-core machine under a load average of 20 to 48',
      table: BANDIT_TABLE,
      run: pipeline({ models: [{ label: 'DPT', train: 'dpt-bandit-small.yaml' }], eval: 'eval-bandit.yaml' }),
    },
    paper: {
      budget: 'the published sizes of dpt-bandit.yaml (4 layers, 100,000 contexts of 500 pulls, 50,000 steps; not timed here)',
      table: BANDIT_TABLE,
      run: pipeline({ models: [{ label: 'DPT', train: 'dpt-bandit.yaml' }], eval: 'eval-bandit.yaml' }),
    },
  },
});

reproductions.register({
  name: 'ad-darkroom-rmax',
  description: 'AD distilled from R-max histories on Dark Room: in-context improvement on held-out goals',
  options: noOptions,
  paper: 'Laskin et al. 2022, "In-context Reinforcement Learning with Algorithm Distillation" (AD)',
  claim: "A transformer trained on a learner's across-episode histories improves in context on held-out goals, without weight updates, towards its source's final return.",
  claims: [
    { text: "AD's return in its last in-context episode is above its first", left: { agent: 'AD', metric: 'lastReturn' }, right: { agent: 'AD', metric: 'firstReturn' } },
    {
      text: "AD's return in its last in-context episode is within 10% of R-max's last (learning from scratch on the same goals)",
      left: { agent: 'AD', metric: 'lastReturn' },
      right: { agent: 'R-max', metric: 'lastReturn' },
      fraction: 0.9,
    },
  ],
  scales: {
    small: {
      budget: '800 training steps of a 3-layer AD (ad-darkroom-rmax-small.yaml cut from 4,000 steps to fit the shared machine) and 20 goals x 12 episodes per seed; 78 minutes for 3 seeds on the shared 2-core machine under a load average of 16 to 30',
      table: ['AD', 'R-max', 'Q-learning', 'oracle', 'random'].flatMap((agent) => (['firstReturn', 'lastReturn'] as const).map((metric) => ({ agent, metric }))),
      run: pipeline({ models: [{ label: 'AD', train: 'reproduce-ad-darkroom-rmax-train.yaml' }], eval: 'reproduce-ad-darkroom-rmax.yaml' }),
    },
  },
});

reproductions.register({
  name: 'ad-darkroom-long',
  description: 'AD on a state-space backbone against AD on a windowed transformer, trained on 4,102-step contexts streamed from the store, 250 in-context episodes of Dark Room (docs/long-context.md)',
  options: noOptions,
  paper: 'Lu et al. 2023, "Structured State Space Models for In-Context Reinforcement Learning" (S5 for in-context RL)',
  claim: 'At an equal training budget, AD with a state-space backbone, whose recurrent state carries the whole history, learns in context over long horizons at least as well as AD with a transformer over a bounded window.',
  claims: [
    {
      text: "AD-SSM's mean return over the 250 in-context episodes is at least AD-transformer's",
      left: { agent: 'AD-SSM', metric: 'meanReturn' },
      right: { agent: 'AD-transformer', metric: 'meanReturn' },
    },
    { text: "AD-SSM's return in its last in-context episode is above its first", left: { agent: 'AD-SSM', metric: 'lastReturn' }, right: { agent: 'AD-SSM', metric: 'firstReturn' } },
    { text: "AD-transformer's return in its last in-context episode is above its first", left: { agent: 'AD-transformer', metric: 'lastReturn' }, right: { agent: 'AD-transformer', metric: 'firstReturn' } },
  ],
  scales: {
    small: {
      budget: 'one collection of 312 histories of 4,200 steps (seconds), then per seed two models of 200 steps of 2 windows of 4,102 steps (1.5 to 7 minutes each on the 2 shared cores at a load average of 17 to 27; 27 minutes for 3 seeds) and 10 goals x 250 episodes of 14 steps (under a minute)',
      table: ['AD-SSM', 'AD-transformer', 'R-max', 'oracle', 'random'].flatMap((agent) => (['firstReturn', 'lastReturn', 'meanReturn'] as const).map((metric) => ({ agent, metric }))),
      run: pipeline({
        collect: [{ label: 'histories', collect: 'collect-darkroom-long.yaml' }],
        models: [
          { label: 'AD-transformer', train: 'ad-darkroom-long-transformer-small.yaml', collection: 'histories' },
          { label: 'AD-SSM', train: 'ad-darkroom-long-ssm-small.yaml', collection: 'histories' },
        ],
        eval: 'reproduce-ad-darkroom-long.yaml',
      }),
    },
  },
});

/** ToyEnv 2-D as in the ALP-GMM paper: 10 x 10 cells, 20,000 episodes. */
const TOY_2D: ToyVariant = { name: 'toy-2d', dims: 2, cells: 10, unlearnable: 0 };

function toyRun(episodes: number) {
  return async (ctx: ReproduceContext): Promise<Measurements> => {
    const teachersRun = TEACHER_NAMES.filter((t) => ['random', 'alp-gmm', 'covar-gmm', 'riac'].includes(t));
    const specs: ToyRunSpec[] = [];
    for (const teacher of teachersRun) for (const seed of ctx.seeds) specs.push({ teacher, variant: TOY_2D, episodes, seed, every: 1000, density: false, densityBins: 20 });
    ctx.say(`ToyEnv 2-D: ${teachersRun.length} teachers x ${ctx.seeds.length} seeds x ${episodes} episodes on 2 worker threads`);
    const results = await runToyMany(specs, 2);
    const scores = new Map<string, ScoreMatrix>();
    const series = teachersRun.map((teacher) => {
      const rs = ctx.seeds.map((s) => results.find((r) => r.teacher === teacher && r.seed === s)!);
      scores.set(`${teacher}:score`, rs.map((r) => [r.mastered[r.mastered.length - 1]]));
      const x = rs[0].episodes;
      const bands = x.map((_, i) => meanCi(rs.map((r) => r.mastered[i])));
      return { name: teacher, x, mean: bands.map((b) => b.mean), lo: bands.map((b) => b.lo), hi: bands.map((b) => b.hi) };
    });
    const chart = bandLineChart('Mastered cells of the 2-D ToyEnv', series, { xName: 'episode', yName: '% mastered' }, 'Mean over seeds; band: 95% t-interval over seeds.');
    return { seeds: ctx.seeds, scores, sections: [{ title: 'Curves', charts: [chart] }], files: [] };
  };
}

reproductions.register({
  name: 'alp-gmm-toy',
  description: 'ALP-GMM against random task sampling on the 2-D ToyEnv (percentage of mastered cells after 20,000 episodes)',
  options: noOptions,
  paper: 'Portelas et al. 2019, "Teacher algorithms for curriculum learning of Deep RL in continuously parameterized environments" (ALP-GMM)',
  claim: 'Sampling tasks where absolute learning progress is high (ALP-GMM) masters more of the task space than sampling tasks uniformly.',
  claims: [{ text: 'ALP-GMM masters more cells than random sampling after 20,000 episodes', left: { agent: 'alp-gmm', metric: 'score' }, right: { agent: 'random', metric: 'score' } }],
  scales: {
    small: {
      budget: 'about a minute for 3 seeds on 2 cores (48 s under a load of 15); the published episode count, fewer seeds than the paper',
      table: ['alp-gmm', 'covar-gmm', 'riac', 'random'].map((agent) => ({ agent, metric: 'score' as const })),
      run: toyRun(20000),
    },
  },
});

/** Rows of the LHF entry's table. */
const LHF_TABLE = ['AD', 'AD-LHF-filter', 'AD-LHF-reweight', 'R-max', 'R-max-noisy', 'oracle', 'random'].flatMap((agent) => (['firstReturn', 'lastReturn', 'meanReturn'] as const).map((metric) => ({ agent, metric })));

reproductions.register({
  name: 'lhf-noisy',
  description: 'AD on noisy R-max learning histories of Dark Room: all histories vs LHF-filtered vs LHF-reweighted, equal training steps',
  options: noOptions,
  paper: 'Chen et al. 2025, "Filtering Learning Histories Enhances In-Context Reinforcement Learning" (LHF)',
  claim: 'When part of the learning histories come from noisy learners, training AD on histories filtered or reweighted by their improvement and stability gives a better in-context learner than training on all of them.',
  claims: [
    {
      text: "LHF-filtered AD's mean return over the in-context episodes is above unfiltered AD's",
      left: { agent: 'AD-LHF-filter', metric: 'meanReturn' },
      right: { agent: 'AD', metric: 'meanReturn' },
    },
    {
      text: "LHF-reweighted AD's mean return over the in-context episodes is above unfiltered AD's",
      left: { agent: 'AD-LHF-reweight', metric: 'meanReturn' },
      right: { agent: 'AD', metric: 'meanReturn' },
    },
  ],
  scales: {
    small: {
      budget: 'one collection of 312 noisy R-max histories (seconds), then 3 ADs of 600 steps per seed (2 layers, width 32, windows of 4 x 30 steps) and 10 goals x 8 episodes per seed; 71 minutes for 3 seeds on the shared 2-core machine under a load average of 16 to 30',
      table: LHF_TABLE,
      run: pipeline({
        collect: [{ label: 'noisy-rmax', collect: 'collect-darkroom-lhf-noisy-small.yaml' }],
        models: [
          { label: 'AD', train: 'lhf-noisy-ad-small.yaml', collection: 'noisy-rmax' },
          { label: 'AD-LHF-filter', train: 'lhf-noisy-ad-small.yaml', collection: 'noisy-rmax', set: ['data.ad.lhf.mode=filter'] },
          { label: 'AD-LHF-reweight', train: 'lhf-noisy-ad-small.yaml', collection: 'noisy-rmax', set: ['data.ad.lhf.mode=reweight'] },
        ],
        eval: 'reproduce-lhf-noisy.yaml',
      }),
    },
  },
});

/** Rows of the T2MIR entry's table. */
const T2MIR_TABLE = ['AD', 'T2MIR-AD', 'DPT', 'T2MIR-DPT', 'R-max', 'oracle', 'random'].flatMap((agent) => (['firstReturn', 'lastReturn', 'meanReturn'] as const).map((metric) => ({ agent, metric })));

reproductions.register({
  name: 't2mir-vs-dense',
  description: 'T2MIR-AD and T2MIR-DPT against their dense backbones at an equal training budget, held-out Dark Room goals',
  options: noOptions,
  paper: 'Wu et al. 2025, "Mixture-of-Experts Meets In-Context Reinforcement Learning" (T2MIR; code: github.com/NJU-RL/T2MIR)',
  claim: 'Replacing the feed-forward of a transformer layer by a token-wise and a task-wise mixture of experts makes AD and DPT better in-context learners than their dense backbones at the same training budget.',
  claims: [
    { text: "T2MIR-AD's mean return over the in-context episodes is above AD's", left: { agent: 'T2MIR-AD', metric: 'meanReturn' }, right: { agent: 'AD', metric: 'meanReturn' } },
    { text: "T2MIR-DPT's mean return over the in-context episodes is above DPT's", left: { agent: 'T2MIR-DPT', metric: 'meanReturn' }, right: { agent: 'DPT', metric: 'meanReturn' } },
  ],
  scales: {
    small: {
      budget: 'per seed AD and T2MIR-AD of 600 steps, DPT and T2MIR-DPT of 300 steps, batch 16 (2 layers, width 32) on Dark Room 7 x 7 with 30-step episodes, then 10 goals x 8 episodes; Dark Room only (the mixed distribution is t2mir-vs-dense-mix); 59 minutes for 3 seeds on the shared 2-core machine under a load average of 16 to 30',
      table: T2MIR_TABLE,
      run: pipeline({
        models: [
          { label: 'AD', train: 't2mir-vs-dense-ad-small.yaml' },
          { label: 'T2MIR-AD', train: 't2mir-vs-dense-t2mir-ad-small.yaml' },
          { label: 'DPT', train: 't2mir-vs-dense-dpt-small.yaml' },
          { label: 'T2MIR-DPT', train: 't2mir-vs-dense-t2mir-dpt-small.yaml' },
        ],
        eval: 'reproduce-t2mir-vs-dense.yaml',
      }),
    },
  },
});

reproductions.register({
  name: 't2mir-vs-dense-mix',
  description: 'T2MIR-AD and T2MIR-DPT against their dense backbones at an equal training budget on a mixed distribution (cheetah-vel + reach, the mixture family) and per family',
  options: t2mirMixOptions,
  paper: 'Wu et al. 2025, "Mixture-of-Experts Meets In-Context Reinforcement Learning" (T2MIR; code: github.com/NJU-RL/T2MIR)',
  claim: 'Token-wise and task-wise mixtures of experts in the feed-forward of a transformer layer make AD and DPT better in-context learners than their dense backbones at the same training budget, most of all across a heterogeneous task distribution.',
  claims: t2mirMixClaims(),
  scales: {
    small: t2mirMixScale(
      'the members\' histories (SAC on 10 cheetah-vel velocities x 100,000 steps, configs/collect-cheetah-vel-sac.yaml, about 30 minutes; PPO on 10 reach goals x 40,000 steps of 200-step episodes, configs/collect-reach-ppo-mix.yaml, about 3 minutes) converted once into the mixture\'s layout, then per seed 12 models of 150 steps of batch 16 (2 layers, width 32; AD windows of 2 episodes, DPT contexts of 1 episode): the four on the mixture and the four on each member alone, evaluated on 10 mixed held-out tasks and on each member\'s 5, 4 in-context episodes of 200 steps; 30 minutes (1,789 s) for 3 seeds on the shared 2-core machine under a load average of 6 to 12',
    ),
  },
});

const PRETRAIN_CHOICE_PAPERS = 'Jiang et al. 2021 (PLR, robust PLR), Parker-Holder et al. 2022 (ACCEL), LHF (learning-history filtering), applied to the pretraining data of Laskin et al. 2022 (AD)';

/** A pretrain-choice entry: its choosers (the experiment config lists the same), the source's label in the table, its budget line. */
function registerPretrainChoice(name: string, o: { config: string; choosers: string[]; env: string; source: string[]; paper: string; budget: string }): void {
  reproductions.register({
    name,
    description: `teachers choosing the learning histories of an AD pretraining set on ${o.env}, judged by the held-out in-context return of the trained AD`,
    options: noOptions,
    paper: o.paper,
    claim: "A teacher that chooses which tasks' learning histories enter the pretraining set gives a better in-context learner than uniform choice, at the same number of histories and training steps.",
    claims: beatsUniformClaims(o.choosers),
    scales: {
      small: {
        budget: o.budget,
        table: [...o.choosers.map(chooserLabel), ...o.source, 'oracle', 'random'].flatMap((agent) => (['meanReturn', 'lastReturn'] as const).map((metric) => ({ agent, metric }))),
        run: pretrainChoiceRun(o.config),
      },
    },
  });
}

registerPretrainChoice('pretrain-choice-dktd', {
  config: 'pretrain-choice-dktd.yaml',
  choosers: ['random', 'alp-gmm', 'plr', 'robust-plr', 'accel', 'lhf'],
  env: 'Dark Key-to-Door',
  source: ['R-max'],
  paper: `Portelas et al. 2019 (ALP-GMM), ${PRETRAIN_CHOICE_PAPERS}`,
  budget: '6 choosers x 3 seeds: 200 R-max histories of 10 episodes each on 5 x 5 Dark Key-to-Door, 1,500 AD training steps, 40 held-out tasks x 10 in-context episodes; 31 minutes for 3 seeds on the shared 2-core machine under a load average of 25 to 36',
});

registerPretrainChoice('pretrain-choice-xland', {
  config: 'pretrain-choice-xland.yaml',
  choosers: ['random', 'plr', 'robust-plr', 'accel', 'lhf'],
  env: 'xland trivial rulesets',
  source: [],
  paper: PRETRAIN_CHOICE_PAPERS,
  budget: '5 choosers x 3 seeds: 300 AD-epsilon histories of 300 steps each among 1,000 training rulesets of xland trivial (7 x 7 room), 300 AD training steps of 8 whole-history windows, 100 held-out rulesets x 10 in-context episodes; 30 minutes for 3 seeds on the shared 2-core machine under a load average of 8 to 12',
});

reproductions.register({
  name: 'ad-continuous',
  description: 'AD distilled from SAC histories: in-context improvement on held-out continuous-control tasks (cheetah-vel velocities; --set family=point-robot for goals; --set family=reach for table-top reach goals from PPO histories, with success rates)',
  options: continuousOptions,
  evaluationOptions: CONTINUOUS_EVALUATION_OPTIONS,
  paper: 'Laskin et al. 2022, "In-context Reinforcement Learning with Algorithm Distillation" (AD); continuous-control set-up of Wu et al. 2025, "Mixture-of-Experts Meets In-Context Reinforcement Learning" (T2MIR, arXiv:2506.05426)',
  claim: "AD trained on a SAC learner's across-episode histories (PPO's on reach) improves in context on held-out continuous-control tasks, without weight updates: its return rises over the first 4 in-context episodes and closes at least half of the gap from random actions to the expert (the learner's final policy) by episode 4.",
  claims: continuousClaims('AD'),
  scales: { small: continuousScale('AD') },
});

reproductions.register({
  name: 'dpt-continuous',
  description: 'DPT trained on SAC histories labelled by the final SAC policy: in-context returns on held-out continuous-control tasks against the SAC expert (cheetah-vel; --set family=point-robot; --set family=reach: PPO histories and expert, with success rates)',
  options: continuousOptions,
  evaluationOptions: CONTINUOUS_EVALUATION_OPTIONS,
  paper: 'Lee et al. 2023, "Supervised Pretraining Can Learn In-Context Reinforcement Learning" (DPT); continuous-control set-up of Wu et al. 2025 (T2MIR)',
  claim: "DPT pretrained to predict the expert's action from in-context transitions reaches the expert's return on held-out continuous-control tasks within a few episodes: within 20% of the expert (the source learner's final policy: SAC, PPO on reach) from in-context episode 2 on.",
  claims: continuousClaims('DPT'),
  scales: { small: continuousScale('DPT') },
});
