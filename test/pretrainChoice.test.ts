import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitTasks, taskKey } from '../src/tasks/index.js';
import { getFamily } from '../src/envs/index.js';
import { scoreHistories } from '../src/data/lhf.js';
import { parseTrainConfig } from '../src/train/config.js';
import { beatsUniformClaims, chooseHistories, episodeReturns, loadPretrainChoice, makeChooser, pretrainChoiceConfigSchema, pretrainChoiceRun, reproductions, verdictOf } from '../src/experiments/index.js';
import { Rng } from '../src/core/rng.js';

const train = {
  name: 'choice-test',
  seed: 0,
  out: 'unused',
  model: { kind: 'ad', layers: 1, dModel: 16, heads: 2 },
  data: {
    family: 'dark-key-to-door',
    envOptions: { size: 4, horizon: 12 },
    split: { seed: 0, heldOut: 6 },
    ad: { source: { kind: 'rmax' }, episodes: 4, historiesPerTask: 1, windowEpisodes: 2 },
  },
  optim: { steps: 12, batchSize: 4, lr: 0.001 },
  eval: { every: 0, tasks: 2, episodes: 2 },
  logEvery: 6,
  checkpointEvery: 6,
};
const choice = (over: Record<string, unknown> = {}) =>
  pretrainChoiceConfigSchema.parse({ name: 't', train: 'x', eval: 'y', histories: 12, parallel: 5, teachers: ['random', 'accel', 'lhf'], returnRange: [0, 2], teacherOptions: { accel: { bufferSize: 4 }, plr: { bufferSize: 4 } }, ...over });

describe('teacher-chosen pretraining data', () => {
  const tcfg = parseTrainConfig(train);
  const space = getFamily('dark-key-to-door').taskSpace({ size: 4, horizon: 12 });
  const held = new Set(splitTasks(space, { seed: 0, heldOut: 6 }).heldOut.map(taskKey));

  it('every chooser fills the same budget of histories, never with a held-out task, deterministically by seed', async () => {
    const c = choice();
    for (const teacher of ['random', 'plr', 'accel', 'alp-gmm', 'lhf']) {
      const a = await chooseHistories(c, tcfg, teacher, 1);
      expect(a.histories.length, teacher).toBe(12);
      for (const h of a.histories) {
        expect(held.has(taskKey(h.task))).toBe(false);
        expect(episodeReturns(h).length).toBe(4);
      }
      expect(a.historiesRun).toBe(teacher === 'lhf' ? 24 : 12);
      const b = await chooseHistories(c, tcfg, teacher, 1);
      expect(b.histories.map((h) => h.task)).toEqual(a.histories.map((h) => h.task));
      expect(Array.from(b.histories[3].actions)).toEqual(Array.from(a.histories[3].actions));
      const other = await chooseHistories(c, tcfg, teacher, 2);
      expect(other.histories.map((h) => h.task)).not.toEqual(a.histories.map((h) => h.task));
    }
  });

  it('LHF keeps the best-scored half of its pool of uniformly chosen histories', async () => {
    const c = choice({ histories: 20 });
    const lhf = await chooseHistories(c, tcfg, 'lhf', 3);
    expect(lhf.historiesRun).toBe(40);
    // the same 40 uniform histories, all kept (a pool of 1 per kept history)
    const pool = await chooseHistories(choice({ histories: 40, lhf: { pool: 1, lambda: 0.5 } }), tcfg, 'lhf', 3);
    const scores = scoreHistories(pool.histories, { mode: 'filter', keep: 0.5, lambda: 0.5 });
    const best = pool.histories.filter((_, i) => scores[i].kept).map((h) => h.task);
    expect(lhf.histories.map((h) => h.task)).toEqual(best);
    const minKept = Math.min(...scores.filter((x) => x.kept).map((x) => x.score));
    const maxDropped = Math.max(...scores.filter((x) => !x.kept).map((x) => x.score));
    expect(minKept).toBeGreaterThanOrEqual(maxDropped);
  });

  it('claims "X beats uniform" for every chooser but uniform, and the shipped entry carries them', () => {
    const claims = beatsUniformClaims(['random', 'accel', 'lhf']);
    expect(claims.map((x) => x.left.agent)).toEqual(['accel', 'lhf']);
    expect(claims.every((x) => x.right.agent === 'uniform' && x.left.metric === 'meanReturn')).toBe(true);
    const e = reproductions.get('pretrain-choice-dktd');
    expect(e.claims.map((x) => x.left.agent)).toEqual(['alp-gmm', 'plr', 'robust-plr', 'accel', 'lhf']);
    // the shipped configs list the entries' choosers
    for (const name of ['pretrain-choice-dktd', 'pretrain-choice-xland']) {
      const { c } = loadPretrainChoice(join('configs', `${name}.yaml`));
      expect(reproductions.get(name).claims.map((x) => x.left.agent), name).toEqual(c.teachers.filter((t) => t !== 'random').map((t) => (t === 'random' ? 'uniform' : t)));
    }
  });

  it('end to end: choose, train with equal steps, evaluate on the held-out tasks, verdicts from intervals', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-choice-'));
    try {
      const trainFile = join(dir, 'train.json');
      const evalFile = join(dir, 'eval.json');
      const expFile = join(dir, 'choice.json');
      writeFileSync(trainFile, JSON.stringify(train));
      writeFileSync(
        evalFile,
        JSON.stringify({ name: 'e', seed: 0, env: { family: 'dark-key-to-door', options: { size: 4, horizon: 12 } }, tasks: { heldOut: 6, seed: 0 }, online: { episodes: 3, agents: [] }, out: join(dir, 'unused') }),
      );
      writeFileSync(expFile, JSON.stringify({ name: 'e2e', train: trainFile, eval: evalFile, histories: 10, parallel: 5, teachers: ['random', 'accel'], returnRange: [0, 2], teacherOptions: { accel: { bufferSize: 4 } } }));
      const lines: string[] = [];
      const out = join(dir, 'run');
      const m = await pretrainChoiceRun(expFile)({ out, seeds: [0, 1], scale: 'small', progress: false, say: (l) => lines.push(l) });
      expect(m.scores.get('uniform:meanReturn')?.length).toBe(2);
      expect(m.scores.get('accel:meanReturn')?.[0].length).toBe(6);
      for (const label of ['uniform', 'accel']) for (const s of [0, 1]) expect(existsSync(join(out, 'train', `${label}-seed${s}`, 'histories.h5'))).toBe(true);
      const saved = JSON.parse(readFileSync(join(out, 'train', 'accel-seed0', 'choice.json'), 'utf8'));
      expect(saved.tasks.length).toBe(10);
      const v = verdictOf(beatsUniformClaims(['random', 'accel'])[0], m.scores);
      expect(['holds', 'does not hold', 'inconclusive']).toContain(v.outcome);
      expect(v.difference.lo).toBeLessThanOrEqual(v.difference.hi);
      expect(lines.some((l) => /accel, seed 1: 10 histories chosen/.test(l))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  describe('on xland rulesets (drawFrom: train)', () => {
    const xtrain = {
      ...train,
      data: {
        family: 'xland',
        envOptions: { preset: 'trivial', size: 7, horizon: 10, observation: 'tiles' },
        split: { seed: 0, heldOut: 5, train: 20 },
        ad: { source: { kind: 'noisy', epsilon: 1, epsilonEnd: 0, decaySteps: 20, base: { kind: 'oracle' } }, episodes: 3, historiesPerTask: 1, windowEpisodes: 3 },
      },
    };
    const xcfg = parseTrainConfig(xtrain);
    const xspace = getFamily('xland').taskSpace(xtrain.data.envOptions);
    const xsplit = splitTasks(xspace, { seed: 0, heldOut: 5, train: 20 });
    const trainKeys = new Set(xsplit.train.map(taskKey));
    const heldKeys = new Set(xsplit.heldOut.map(taskKey));
    const xc = (over: Record<string, unknown> = {}) => choice({ returnRange: [0, 1], drawFrom: 'train', teachers: ['random', 'plr', 'robust-plr', 'accel', 'lhf'], ...over });

    it('the family space refuses the unit-hypercube teachers, naming the parameter; the pool gives them indices, ACCEL the rulesets', () => {
      expect(() => makeChooser(choice({ returnRange: [0, 1] }), xcfg, 'plr', new Rng(0))).toThrow(/xland\.params\.ruleset/);
      expect(makeChooser(xc(), xcfg, 'plr', new Rng(0)).drawsFrom).toBe('train pool');
      expect(makeChooser(xc(), xcfg, 'lhf', new Rng(0)).drawsFrom).toBe('train pool');
      expect(makeChooser(xc(), xcfg, 'accel', new Rng(0)).drawsFrom).toBe('train tasks');
      expect(makeChooser(choice(), tcfg, 'plr', new Rng(0)).drawsFrom).toBe('space');
    });

    it('every chooser fills the budget from the training rulesets (ACCEL also with its edits), never a held-out one, deterministically', async () => {
      for (const teacher of ['random', 'robust-plr', 'accel', 'lhf']) {
        const a = await chooseHistories(xc(), xcfg, teacher, 1);
        expect(a.histories.length, teacher).toBe(12);
        expect(a.historiesRun).toBe(teacher === 'lhf' ? 24 : 12);
        for (const h of a.histories) {
          expect(heldKeys.has(taskKey(h.task))).toBe(false);
          xspace.check(h.task);
          if (teacher !== 'accel') expect(trainKeys.has(taskKey(h.task)), teacher).toBe(true);
          expect(h.length).toBe(30);
        }
        const b = await chooseHistories(xc(), xcfg, teacher, 1);
        expect(b.histories.map((h) => taskKey(h.task))).toEqual(a.histories.map((h) => taskKey(h.task)));
      }
      // with a small buffer ACCEL replays and edits: some of its rulesets are edits outside the pool
      const accel = await chooseHistories(xc({ histories: 30, parallel: 2, teacherOptions: { accel: { bufferSize: 4 } } }), xcfg, 'accel', 2);
      expect(accel.histories.some((h) => !trainKeys.has(taskKey(h.task)))).toBe(true);
      expect(accel.evalOnlyShare).toBeGreaterThan(0);
    });
  });
});
