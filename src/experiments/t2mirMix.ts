/**
 * `icrl reproduce t2mir-vs-dense-mix` (docs/results.md): T2MIR-AD and T2MIR-DPT against their dense
 * backbones, AD and DPT, at an equal training budget on a mixed task distribution, the `mixture`
 * family of cheetah-vel and reach (docs/envs.md), and per family.
 *
 * Options (`--set`): `steps` (every model's training steps), `memberId=false` (no member one-hot in
 * the observations), `perFamily=false` (the mixed part only; the per-family claims are then left out).
 *
 * 1. Data: each member's learning histories (SAC on cheetah-vel, PPO on reach; `icrl collect`
 *    configs, collected once and found on a rerun) rewritten in the mixture's layout
 *    (`mixtureData.ts`): one file of all 20 training tasks, one per member.
 * 2. Mixed: the four models trained per seed on all members' histories, evaluated on the 10
 *    held-out tasks of the mixture's split (5 per member). Their scores restricted to one member's
 *    held-out tasks are the agents `<model> @<member>`.
 * 3. Per family: the same four configs (same model, steps, batch, rate) trained per seed on one
 *    member's histories only (`<model> <member>-only`), evaluated on that member's 5 held-out tasks.
 *
 * The verdicts compare T2MIR with its dense twin, task by task within a seed, on the mixed set, on
 * each member's tasks for the mixed-trained models, and for the per-family models.
 */
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { readConfigFile } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { makeDir, writeFileAtomic } from '../core/atomic.js';
import { canonicalJson } from '../core/json.js';
import type { JsonValue } from '../core/spaces.js';
import { getFamily, MIXTURE } from '../envs/index.js';
import { serializeTasks, splitTasks } from '../tasks/taskSpace.js';
import { packageConfigs, pipeline, type Claim, type Measurements, type PipelineModel, type ReproduceContext, type ReproductionScale, type ScoreMatrix, type ScoreRef } from './reproduce.js';
import { mixtureHistories, type MixtureDataSpec } from './mixtureData.js';

/** The four models, each a training config in configs/ reading its histories from data.<kind>.collection. */
export const T2MIR_MIX_MODELS = [
  { label: 'AD', train: 't2mir-mix-ad-small.yaml', data: 'ad' },
  { label: 'T2MIR-AD', train: 't2mir-mix-t2mir-ad-small.yaml', data: 'ad' },
  { label: 'DPT', train: 't2mir-mix-dpt-small.yaml', data: 'dpt' },
  { label: 'T2MIR-DPT', train: 't2mir-mix-t2mir-dpt-small.yaml', data: 'dpt' },
] as const;

/** The members and the collections of their histories (the mixture's default members). */
export const T2MIR_MIX_DATA: MixtureDataSpec = {
  options: {},
  members: [
    { member: 'cheetah-vel', collect: 'collect-cheetah-vel-sac.yaml' },
    { member: 'reach', collect: 'collect-reach-ppo-mix.yaml' },
  ],
};

export const T2MIR_MIX_EVAL = 'reproduce-t2mir-vs-dense-mix.yaml';

/**
 * The entry's options: `--set steps=N` trains every model for N steps (the configs' 150 by default),
 * all alike; `--set memberId=false` drops the member one-hot from the mixture's observations.
 */
export const t2mirMixOptions = z
  .object({
    steps: z.number().int().min(1).max(1_000_000).optional().describe("training steps of every model (default: the configs' optim.steps, 150)"),
    perFamily: z.boolean().default(true).describe('also train and evaluate the models on each member alone (false: the mixed part only, without the per-family verdicts)'),
    memberId: z.boolean().default(true).describe('the mixture\'s member one-hot in the observations (false: the models must tell the members apart from the observations; histories converted again, into their own data folder)'),
  })
  .strict();

/** The mixed-trained model's scores on one member's held-out tasks. */
export const onMember = (agent: string, member: string): string => `${agent} @${member}`;
/** The model trained on one member's histories only. */
export const memberOnly = (agent: string, member: string): string => `${agent} ${member}-only`;

const MEMBERS = T2MIR_MIX_DATA.members.map((m) => m.member);
const PAIRS = [
  ['T2MIR-AD', 'AD'],
  ['T2MIR-DPT', 'DPT'],
] as const;

function check(cond: boolean, file: string, what: string): void {
  if (!cond) throw new ConfigError(`${file}: ${what}`, file);
}

export async function t2mirMixRun(ctx: ReproduceContext): Promise<Measurements> {
  const configs = packageConfigs();
  const evalFile = join(configs, T2MIR_MIX_EVAL);
  const ec = readConfigFile(evalFile) as { env?: { family?: string; options?: Record<string, unknown> }; tasks?: { heldOut?: number; seed?: number } } & Record<string, unknown>;
  check(ec.env?.family === MIXTURE && canonicalJson((ec.env.options ?? {}) as JsonValue) === canonicalJson(T2MIR_MIX_DATA.options as JsonValue), evalFile, `env must be the ${MIXTURE} family with options ${JSON.stringify(T2MIR_MIX_DATA.options)} (those of the histories)`);
  const split = { seed: ec.tasks?.seed ?? 0, heldOut: ec.tasks?.heldOut ?? 0 };
  for (const m of T2MIR_MIX_MODELS) {
    const file = join(configs, m.train);
    const tc = readConfigFile(file) as { data?: { family?: string; envOptions?: unknown; split?: { seed?: number; heldOut?: number } } };
    check(tc.data?.family === MIXTURE && canonicalJson((tc.data.envOptions ?? {}) as JsonValue) === canonicalJson(T2MIR_MIX_DATA.options as JsonValue), file, `data must be the ${MIXTURE} family with envOptions ${JSON.stringify(T2MIR_MIX_DATA.options)}`);
    check((tc.data?.split?.seed ?? 0) === split.seed && tc.data?.split?.heldOut === split.heldOut, file, `data.split must hold out the ${split.heldOut} tasks of seed ${split.seed} that ${T2MIR_MIX_EVAL} evaluates on`);
  }
  const { steps, memberId, perFamily } = t2mirMixOptions.parse(ctx.options ?? {});
  const spec: MixtureDataSpec = memberId ? T2MIR_MIX_DATA : { ...T2MIR_MIX_DATA, options: { ...T2MIR_MIX_DATA.options, memberId: false } };
  // the members' collections stay in the shared data folder; the converted histories of another layout go beside it
  const dataDir = join(dirname(ctx.out), 'data', `mixture-${ctx.scale}`);
  const data = await mixtureHistories(spec, memberId ? dataDir : `${dataDir}-no-member-id`, configs, ctx.say, ctx.progress, dataDir);
  const space = getFamily(MIXTURE).taskSpace(spec.options);
  const heldOut = splitTasks(space, split).heldOut;
  const overrides = [...(steps === undefined ? [] : [`optim.steps=${steps}`]), ...(memberId ? [] : ['data.envOptions.memberId=false'])];
  const models = (file: string, label: (l: string) => string): PipelineModel[] => T2MIR_MIX_MODELS.map((m) => ({ label: label(m.label), train: m.train, set: [`data.${m.data}.collection=${JSON.stringify(file)}`, ...overrides] }));
  const envOf = (e: typeof ec) => ({ ...e.env, options: spec.options });
  let mixedEval = T2MIR_MIX_EVAL;
  if (!memberId) {
    // the shipped evaluation with the mixture's options of this run
    makeDir(join(ctx.out, 'mixed'));
    mixedEval = join(ctx.out, 'mixed', 'eval.yaml');
    writeFileAtomic(mixedEval, `${JSON.stringify({ ...ec, env: envOf(ec) }, null, 1)}\n`);
  }

  ctx.say(`mixed distribution: ${MEMBERS.join(' + ')}, ${heldOut.length} held-out tasks${memberId ? '' : ', no member one-hot in the observations'}`);
  const mixed = await pipeline({ models: models(data.all, (l) => l), eval: mixedEval })({ ...ctx, out: join(ctx.out, 'mixed'), trainOut: undefined });
  const scores = new Map<string, ScoreMatrix>(mixed.scores);
  const sections = mixed.sections.map((s) => ({ ...s, title: `Mixed distribution (${MEMBERS.join(' + ')}): ${s.title.toLowerCase()}` }));
  const files = [...mixed.files, data.all];
  for (const member of MEMBERS) {
    const idx = heldOut.flatMap((t, i) => (t.params.member === member ? [i] : []));
    for (const [key, m] of mixed.scores) {
      const cut = key.lastIndexOf(':');
      scores.set(`${onMember(key.slice(0, cut), member)}:${key.slice(cut + 1)}`, m.map((row) => idx.map((i) => row[i])));
    }
    if (!perFamily) continue;
    // the per-family models, evaluated on the member's held-out tasks (a tasks file and an evaluation config written here)
    const dir = join(ctx.out, member);
    makeDir(dir);
    const tasksFile = join(dir, 'heldout-tasks.json');
    writeFileAtomic(tasksFile, serializeTasks(space, idx.map((i) => heldOut[i])));
    const memberEval = join(dir, 'eval.yaml');
    const { tasks: _tasks, ...rest } = ec;
    writeFileAtomic(memberEval, `${JSON.stringify({ ...rest, env: envOf(ec), name: `${String(ec.name ?? 'eval')}-${member}`, tasks: { file: tasksFile } }, null, 1)}\n`);
    ctx.say(`${member} only: the same models trained on the ${member} histories, ${idx.length} held-out ${member} tasks`);
    const r = await pipeline({ models: models(data.perMember[member], (l) => memberOnly(l, member)), eval: memberEval })({ ...ctx, out: dir, trainOut: undefined });
    const labels = new Set(T2MIR_MIX_MODELS.map((m) => memberOnly(m.label, member)));
    for (const [key, m] of r.scores) if (labels.has(key.slice(0, key.lastIndexOf(':')))) scores.set(key, m);
    sections.push(...r.sections.map((s) => ({ ...s, title: `Trained on ${member} only: ${s.title.toLowerCase()}` })));
    files.push(...r.files, data.perMember[member]);
  }
  sections.push({
    title: 'Set-up',
    text: [
      `Histories: ${T2MIR_MIX_DATA.members.map((m) => `${m.member} from configs/${m.collect}`).join('; ')}, rewritten in the ${MIXTURE} family's layout (observations padded to the largest member's plus a member one-hot, actions in [-1, 1]).`,
      `"<model> @<member>": the model trained on the mixed histories, scored on that member's held-out tasks of the mixed evaluation. "<model> <member>-only": the same config trained on that member's histories alone (same steps, batch and rate), evaluated on the member's held-out tasks.`,
      'Returns are on each member\'s own scale (cheetah-vel: minus the velocity error summed over 200 steps, below 0; reach: up to 10 per step near the goal), so the mixed mean weighs reach more; the per-member rows and verdicts show each family separately.',
    ],
  });
  return { seeds: ctx.seeds, scores, sections, files };
}

const ref = (agent: string, metric: ScoreRef['metric'] = 'meanReturn'): ScoreRef => ({ agent, metric });

/** The rows of the entry's table. */
export function t2mirMixTable(episodes = 4): ScoreRef[] {
  const agents = [...T2MIR_MIX_MODELS.map((m) => m.label), 'random'];
  return [
    ...agents.flatMap((a) => (['firstReturn', 'lastReturn', 'meanReturn'] as const).map((m) => ref(a, m))),
    ...MEMBERS.flatMap((member) => [
      ...agents.map((a) => ref(onMember(a, member))),
      ...T2MIR_MIX_MODELS.map((m) => ref(memberOnly(m.label, member))),
      ...(member === 'reach' ? [...agents.map((a) => ref(onMember(a, member), `success${episodes}`)), ...T2MIR_MIX_MODELS.map((m) => ref(memberOnly(m.label, member), `success${episodes}`))] : []),
    ]),
  ];
}

/** T2MIR above its dense twin: on the mixed set, on each member's tasks (mixed training), and trained per family. */
export function t2mirMixClaims(): Claim[] {
  const claims: Claim[] = [];
  for (const [moe, dense] of PAIRS) claims.push({ text: `${moe}'s mean return over the in-context episodes is above ${dense}'s on the mixed held-out tasks (${MEMBERS.join(' + ')})`, left: ref(moe), right: ref(dense) });
  for (const member of MEMBERS) {
    for (const [moe, dense] of PAIRS) claims.push({ text: `trained on the mixture, ${moe} is above ${dense} on the ${member} held-out tasks`, left: ref(onMember(moe, member)), right: ref(onMember(dense, member)) });
  }
  for (const member of MEMBERS) {
    for (const [moe, dense] of PAIRS) claims.push({ text: `trained on ${member} only, ${moe} is above ${dense} on the ${member} held-out tasks`, left: ref(memberOnly(moe, member)), right: ref(memberOnly(dense, member)), optional: true });
  }
  return claims;
}

export function t2mirMixScale(budget: string): ReproductionScale {
  return { budget, table: t2mirMixTable(), run: t2mirMixRun };
}
