import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { ConfigError } from '../src/core/errors.js';
import { getFamily } from '../src/envs/index.js';
import { BatchedXLand, COLOR_HEX, xlandEpisodeSvgs, xlandSvg } from '../src/envs/xland/index.js';
import { envDims, obsFeatureSize, writeObs } from '../src/models/features.js';
import { renderDocument } from '../src/report/index.js';
import { h5ready } from '../src/data/h5.js';
import { collect, collectConfigSchema } from '../src/data/collect.js';
import { trainFromConfig, type TrainConfigInput } from '../src/train/index.js';

describe('xland observation tiles (categorical tile and colour per view cell)', () => {
  it('is the codes view split into tile and colour, declared categorical, and one-hot in model features', () => {
    const a = new BatchedXLand(8, { preset: 'small' }, new Rng(4));
    const b = new BatchedXLand(8, { preset: 'small', observation: 'tiles' }, new Rng(4));
    expect(b.obsDim).toBe(50);
    expect(b.discreteObservation).toBe(true);
    expect(a.discreteObservation).toBe(false);
    a.reset(1);
    b.reset(1);
    const rng = new Rng(2);
    const act = new Int32Array(8);
    for (let s = 0; s < 200; s++) {
      rng.fillInt(act, 6);
      a.step(act);
      b.step(act);
      for (let i = 0; i < 8; i++) {
        for (let k = 0; k < 25; k++) {
          const c = a.obs[i * 25 + k];
          const got = [b.obs[i * 50 + 2 * k], b.obs[i * 50 + 2 * k + 1]];
          if (got[0] !== Math.floor(c / 14) || got[1] !== c % 14) throw new Error(`step ${s} instance ${i} cell ${k}: code ${c}, tiles ${got.join(',')}`);
        }
        expect(b.rewards[i]).toBe(a.rewards[i]);
      }
    }
    // model features: a one-hot of 15 tiles and 14 colours per cell (725), the same as observation onehot
    const dims = envDims(b);
    expect(dims.obsSizes?.slice(0, 4)).toEqual([15, 14, 15, 14]);
    expect(obsFeatureSize(dims)).toBe(725);
    const oh = new BatchedXLand(8, { preset: 'small', observation: 'onehot' }, new Rng(4));
    oh.reset(1);
    b.reset(1);
    const f = new Float32Array(725);
    writeObs(dims, b.obs, 0, f, 0);
    expect(Array.from(f)).toEqual(Array.from(oh.obs.subarray(0, 725)));
    // raw codes stay raw (256 values per cell is too many for one-hots)
    expect(envDims(a).obsSizes).toBeNull();
  });
});

describe('xland pictures (SVG)', () => {
  const ruleset = {
    goal: { kind: 'AgentHold', tile: { tile: 'star', color: 'green' } },
    rules: [{ kind: 'AgentHold', tile: { tile: 'ball', color: 'red' }, prod: { tile: 'star', color: 'green' } }],
    tiles: [{ tile: 'ball', color: 'red', at: [3, 1] }, { tile: 'key', color: 'blue', at: [1, 3] }, { tile: 'goal', color: 'purple', at: [5, 5] }],
    agent: { at: [3, 3], dir: 'up' },
  };

  function env(): BatchedXLand {
    const e = new BatchedXLand(1, { size: 7 }, new Rng(0));
    e.setTasks([{ family: 'xland', params: { ruleset: ruleset as never } }]);
    e.reset(0);
    return e;
  }

  it('draws every tile in its colour, the agent with its direction, the view and the pocket', () => {
    const svg = xlandSvg(env());
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain(`<circle cx="98" cy="42" r="9.52" fill="${COLOR_HEX.red}"`); // the red ball at (3, 1), 28-pixel cells
    expect(svg).toContain(COLOR_HEX.blue);
    expect(svg).toContain(COLOR_HEX.purple);
    expect(svg).toContain('<title>red ball</title>');
    expect(svg).toContain('data-dir="up"');
    expect(svg).toContain('class="view"');
    // 7 x 7 cells + the pocket cell
    expect(svg.match(/<rect x="\d+" y="\d+" width="28" height="28" fill="#(1e1e1e|7a7a7a)"/g)?.length).toBe(50);
  });

  it('draws an episode frame by frame, the last state before the automatic reset', () => {
    const e = env();
    // forward, pick up the red ball (it becomes a green star in the pocket: the goal)
    const frames = xlandEpisodeSvgs(e, [0, 3, 0]);
    expect(frames).toHaveLength(3); // start, after forward, after pick up (goal: stops)
    expect(frames[1]).toContain('step 1: forward');
    expect(frames[2]).toContain('step 2: pick up, reward');
    expect(frames[2]).toContain('(goal)');
    // the pocket holds the green star in the last frame, and the ball is gone from the grid
    expect(frames[2]).toContain('<title>green star</title>');
    expect(frames[2]).not.toContain('<title>red ball</title>');
    expect(e.episodeStep[0]).toBe(0); // the environment itself went on to a new episode
  });

  it('family.picture draws a task start; a report shows pictures without loading ECharts', () => {
    const fam = getFamily('xland');
    const task = { family: 'xland', params: { ruleset: ruleset as never } };
    const svg = fam.picture!(task, { size: 7 }, 0);
    expect(svg).toContain('data-dir="up"');
    const html = renderDocument({ title: 't', sections: [{ title: 'Pictures', figures: [{ svg, caption: 'a <b> task' }] }] });
    expect(html).toContain(svg);
    expect(html).toContain('a &lt;b&gt; task');
    expect(html.length).toBeLessThan(100_000); // no inlined ECharts (about 1 MB) without charts
  });
});

describe('training AD from collected histories (data.ad.collection)', () => {
  let dir: string;
  beforeAll(async () => {
    await h5ready();
    dir = mkdtempSync(join(tmpdir(), 'icrl-xland-ad-'));
    return () => rmSync(dir, { recursive: true, force: true });
  });
  const envOptions = { preset: 'trivial', size: 5, horizon: 10, observation: 'tiles' };

  async function collectTo(out: string, split: 'train' | 'heldOut'): Promise<void> {
    const config = collectConfigSchema.parse({
      kind: 'histories',
      family: 'xland',
      envOptions,
      tasks: { count: 6, split, heldOut: 4, seed: 0 },
      algorithm: { kind: 'noisy', epsilon: 1, epsilonEnd: 0, decaySteps: 20, base: { kind: 'oracle' } },
      steps: 30,
      numEnvs: 6,
      shardSize: 4,
      workers: 0,
      seed: 0,
    });
    await collect(config, { out, silent: true });
  }

  function cfg(out: string, collection: string, extra: Record<string, unknown> = {}): TrainConfigInput {
    return {
      name: 'tiny-ad-collected',
      seed: 1,
      out,
      model: { kind: 'ad', layers: 1, dModel: 16, heads: 2 },
      data: { family: 'xland', envOptions, split: { seed: 0, heldOut: 4, train: 6 }, validationFraction: 0.2, ad: { collection, windowEpisodes: 2 }, ...extra },
      optim: { steps: 4, batchSize: 4, lr: 1e-3 },
      eval: { every: 0, tasks: 2, episodes: 2 },
      logEvery: 2,
      checkpointEvery: 4,
    };
  }

  it('trains on the collection; refuses other options, held-out tasks and a missing collection, naming the field', async () => {
    const data = join(dir, 'hist');
    await collectTo(data, 'train');
    const lines: string[] = [];
    const res = await trainFromConfig(cfg(join(dir, 'run'), data) as never, { log: (l: string) => lines.push(l), progressBar: false });
    expect(res.steps).toBe(4);
    expect(lines.join('\n')).toMatch(/read 6 tasks of learning histories[^]*loaded 5 learning histories of 30 steps/);
    expect(lines.join('\n')).toMatch(/5 train tasks, 5 histories of 30 steps/);

    const other = { ...cfg(join(dir, 'run2'), data) };
    other.data = { ...other.data, envOptions: { ...envOptions, horizon: 12 } };
    await expect(trainFromConfig(other as never, { progressBar: false })).rejects.toThrow(/data\.ad\.collection: .* was collected with envOptions/);

    const held = join(dir, 'held');
    await collectTo(held, 'heldOut');
    await expect(trainFromConfig(cfg(join(dir, 'run3'), held) as never, { progressBar: false })).rejects.toThrow(/held-out task of data\.split/);
    await expect(trainFromConfig(cfg(join(dir, 'run4'), join(dir, 'nothing')) as never, { progressBar: false })).rejects.toThrow(ConfigError);
  });

  it('a config gives either a collection or a source with episodes', async () => {
    const c = cfg(join(dir, 'run5'), 'x');
    (c.data.ad as Record<string, unknown>).episodes = 3;
    await expect(trainFromConfig(c as never, { progressBar: false })).rejects.toThrow(/data\.ad\.episodes: give either collection or episodes/);
    const d = cfg(join(dir, 'run6'), 'x');
    delete (d.data.ad as Record<string, unknown>).collection;
    await expect(trainFromConfig(d as never, { progressBar: false })).rejects.toThrow(/data\.ad\.source: required unless/);
  });
});
