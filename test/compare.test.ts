import { describe, expect, it } from 'vitest';
import { bootstrapCi, interquartileMean, meanOf, stratifiedBootstrapCi } from '../src/eval/stats.js';
import { runEvaluation } from '../src/eval/run.js';
import type { EvalConfigInput } from '../src/eval/config.js';
import type { BanditSummary } from '../src/eval/metrics.js';
import { compareSections, groupRuns, type CompareRun } from '../src/report/index.js';

describe('statistics over seeds', () => {
  it('stratified bootstrap: reproducible from the seed, brackets the estimate, resamples within groups', () => {
    const groups = [Array.from({ length: 40 }, (_, i) => i % 7), Array.from({ length: 30 }, (_, i) => 10 + (i % 5))];
    const a = stratifiedBootstrapCi(groups, meanOf, { samples: 500, seed: 1 });
    const b = stratifiedBootstrapCi(groups, meanOf, { samples: 500, seed: 1 });
    expect(a).toEqual(b);
    expect(a.n).toBe(70);
    expect(a.estimate).toBeCloseTo((groups[0].reduce((x, y) => x + y) + groups[1].reduce((x, y) => x + y)) / 70, 12);
    expect(a.lo).toBeLessThan(a.estimate);
    expect(a.hi).toBeGreaterThan(a.estimate);
    // constant groups: every resample is the same, so is the interval (the group sizes are kept)
    const c = stratifiedBootstrapCi([[2, 2, 2], [5, 5]], meanOf, { samples: 100 });
    for (const v of [c.lo, c.estimate, c.hi]) expect(v).toBeCloseTo(3.2, 12);
    // one group: the plain bootstrap
    expect(stratifiedBootstrapCi([groups[0]], interquartileMean, { seed: 3 })).toEqual(bootstrapCi(groups[0], interquartileMean, { seed: 3 }));
  });
});

describe('runs side by side', () => {
  const cfg = (seed: number, agents: { type: string }[] = [{ type: 'ucb' }]): EvalConfigInput => ({
    name: 'bandits',
    seed,
    env: { family: 'bandit', options: { arms: 3 } },
    tasks: { heldOut: 6, seed: 0 },
    online: { steps: 15, agents },
  });

  it('aggregates the seeds of one setting and keeps other settings apart; the table counts seeds and scores', async () => {
    const runs: CompareRun[] = [];
    for (const [label, c] of [['s0', cfg(0)], ['s1', cfg(1)], ['ts', cfg(2, [{ type: 'thompson' }])]] as const) {
      const { results } = await runEvaluation(c, { write: false, progress: false, log: () => {} });
      runs.push({ label, results });
    }
    const groups = groupRuns(runs, true);
    expect(groups.map((g) => [g.label, g.runs.map((r) => r.label)])).toEqual([
      ['bandits', ['s0', 's1']],
      ['bandits #2', ['ts']],
    ]);
    const sections = compareSections(groups, { resamples: 200 });
    const table = sections[0].tables![0];
    const ucb = table.rows.find((r) => r[0] === 'bandits' && r[1] === 'ucb')!;
    expect(ucb[3]).toBe(2); // seeds
    expect(ucb[4]).toBe(12); // scores: 2 seeds x 6 tasks
    const finals = (i: number) => (runs[i].results.online!.agents[0].summary as BanditSummary).perTaskFinalRegret;
    const pooled = [...finals(0), ...finals(1)];
    expect(ucb[5]).toBeCloseTo(meanOf(pooled), 12);
    expect(ucb[7]).toBeCloseTo(interquartileMean(pooled), 12);
    const regret = sections[1].charts!.find((c) => c.title === 'Cumulative regret')!;
    const lines = (regret.option.series as { id: string; name: string }[]).filter((s) => s.id.startsWith('line:')).map((s) => s.name);
    expect(lines).toEqual(['bandits', 'bandits #2', 'oracle', 'random']);
    // not aggregated: one line per run, labelled by the run
    const apart = compareSections(groupRuns(runs, false), { resamples: 50 });
    const names = (apart[1].charts![0].option.series as { id: string; name: string }[]).filter((s) => s.id.startsWith('line:')).map((s) => s.name);
    expect(names).toEqual(['s0', 's1', 'ts', 'oracle', 'random']);
  });
});
