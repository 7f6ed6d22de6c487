// SAC learning histories in the history store: float32 actions, expert_actions relabelled by each
// learner's final greedy policy, readable by our reader and by h5py.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HistoryReader } from '../src/data/index.js';
import { collectSacHistories, resumeFile, SacLearners } from '../src/rl/index.js';

const dir = mkdtempSync(join(tmpdir(), 'icrl-rlcollect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SAC learning histories', () => {
  it('a collection killed after a resume point and run again gives the uninterrupted histories', async () => {
    const tasks = [0.3, 1.7, 2.9].map((angle) => ({ family: 'point-robot', params: { angle } }));
    const base = { family: 'point-robot', tasks, sac: { hidden: [16, 16], batchSize: 16, learningStarts: 30 }, steps: 100, seed: 5, checkpointEvery: 40 };
    const whole = await collectSacHistories({ ...base, file: join(dir, 'whole.h5') });
    const file = join(dir, 'killed.h5');
    await expect(
      collectSacHistories({
        ...base,
        file,
        onStep: (t) => {
          if (t === 90) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    expect(existsSync(resumeFile(file))).toBe(true);
    await expect(collectSacHistories({ ...base, seed: 6, file })).rejects.toThrow(/another collection/);
    const resumed = await collectSacHistories({ ...base, file });
    expect(existsSync(resumeFile(file))).toBe(false);
    for (let i = 0; i < 3; i++)
      for (const k of ['observations', 'actions', 'rewards', 'dones', 'expertActions'] as const) {
        const a = whole.histories[i][k]!;
        const b = resumed.histories[i][k]!;
        expect(Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(a.buffer, a.byteOffset, a.byteLength)), `${k} of task ${i}`).toBe(true);
      }
  }, 30_000);

  it('are written with float32 actions and final-policy expert_actions; the checkpoint holds the final learners', async () => {
    const tasks = [0.5, 2.0].map((angle) => ({ family: 'point-robot', params: { angle } }));
    const file = join(dir, 'sac.h5');
    const checkpoint = join(dir, 'sac.safetensors');
    const T = 140;
    const { histories, agent } = await collectSacHistories({ family: 'point-robot', tasks, sac: { hidden: [16, 16], batchSize: 16, learningStarts: 60 }, steps: T, seed: 3, file, checkpoint });
    const r = new HistoryReader(file);
    try {
      expect(r.groups()).toEqual(['0', '1']);
      for (const g of ['0', '1']) {
        const s = r.read(g);
        expect(s.actions).toBeInstanceOf(Float32Array);
        expect(s.actions.length).toBe(T * 2);
        expect(s.expertActions).toBeInstanceOf(Float32Array);
        expect([...s.actions]).toEqual([...histories[Number(g)].actions]);
        expect(s.actions.every((a) => Math.abs(a) <= 0.1)).toBe(true);
        expect(s.dones.reduce((a, b) => a + b, 0)).toBe(T / 20);
      }
      // the labels are the final learners' greedy actions on the recorded observations
      const L = agent.learners!;
      const obs = new Float32Array(2 * T * 2);
      obs.set(r.read('0').observations, 0);
      obs.set(r.read('1').observations, T * 2);
      const again = new Float32Array(2 * T * 2);
      L.greedyActions(obs, T, again);
      expect([...r.read('1').expertActions!]).toEqual([...again.subarray(T * 2)]);
      const restored = new SacLearners(L.spec, L.rngs.map((x) => x.split('other')), L.opts);
      restored.restoreCheckpoint(checkpoint);
      expect(Buffer.from(restored.learnerParams(1).buffer).equals(Buffer.from(L.learnerParams(1).buffer))).toBe(true);
    } finally {
      r.close();
    }
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import h5py'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.warn('SKIPPED: h5py is not installed for /usr/bin/python3 (apt-get install python3-h5py); CI installs it');
      return;
    }
    const script = `
import h5py, json, sys
g = h5py.File(sys.argv[1], 'r')['1']
print(json.dumps({k: [str(g[k].dtype), list(g[k].shape)] for k in g} | {'env': g.attrs['env-id'], 'act_dim': int(g.attrs['act-dim'])}))
`;
    const py = spawnSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const out = JSON.parse(py.stdout);
    expect(out.actions).toEqual(['float32', [1, T, 2]]);
    expect(out.expert_actions).toEqual(['float32', [1, T, 2]]);
    expect(out.observations).toEqual(['float32', [1, T, 2]]);
    expect(out.env).toBe('point-robot');
    expect(out.act_dim).toBe(2);
  }, 30_000);
});
