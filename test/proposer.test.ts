import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoxSpace, CategoricalSpace, DiscreteSpace } from '../src/core/spaces.js';
import { Rng } from '../src/core/rng.js';
import { LlmClient } from '../src/core/llm/index.js';
import { CorruptFileError } from '../src/core/errors.js';
import {
  TaskSpace,
  addToLibrary,
  deserializeTasks,
  drawFromLibrary,
  emptyLibrary,
  libraryTasks,
  extractJson,
  loadLibrary,
  proposeTasks,
  saveLibrary,
  zodFromSpaceSpec,
  type Task,
} from '../src/tasks/index.js';
import { lastUserMessage, replies, startScripted, type FakeServer } from './helpers/fakeOpenAI.js';

// A toy family: three arm means and a label; solvable when some arm pays at least 0.2.
const space = new TaskSpace(
  'toy',
  { means: new BoxSpace([0, 0, 0], [1, 1, 1]), level: new DiscreteSpace(3, 1), kind: new CategoricalSpace(['a', 'b']) },
  { validate: (p) => ((p.means as number[])[0] === 0.5 ? 'means[0] may not be exactly 0.5' : null) },
);
const solvable = (t: Task) => {
  const v = Math.max(...(t.params.means as number[]));
  return { ok: v >= 0.2, value: v, reason: `best arm pays ${v} < 0.2` };
};

const servers: FakeServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

async function client(script: Parameters<typeof startScripted>[0]) {
  const server = await startScripted(script);
  servers.push(server);
  return { server, client: LlmClient.fromConfig({ baseUrl: server.url, model: 'proposer-test', maxRetries: 1, backoffMs: 1, timeoutMs: 1500 }, {}) };
}

const t = (means: number[], level = 1, kind = 'a') => ({ means, level, kind });

describe('task proposer', () => {
  it('builds a zod schema from the task space', () => {
    const s = zodFromSpaceSpec(space.params.spec);
    expect(s.safeParse(t([0.1, 0.2, 0.3], 2, 'b')).success).toBe(true);
    expect(s.safeParse(t([0.1, 0.2, 1.3])).success).toBe(false);
    expect(s.safeParse(t([0.1, 0.2])).success).toBe(false);
    expect(s.safeParse({ ...t([0.1, 0.2, 0.3]), extra: 1 }).success).toBe(false);
    expect(s.safeParse(t([0.1, 0.2, 0.3], 4)).success).toBe(false);
    expect(s.safeParse(t([0.1, 0.2, 0.3], 1, 'c')).success).toBe(false);
  });

  it('extracts JSON from fences and prose', () => {
    expect(extractJson('```json\n{"tasks": []}\n```')).toEqual({ tasks: [] });
    expect(extractJson('Here you go: {"tasks": [1]} hope it helps')).toEqual({ tasks: [1] });
    expect(() => extractJson('no json here')).toThrow(SyntaxError);
  });

  it('validates, checks solvability, deduplicates, and records provenance', async () => {
    const lib = emptyLibrary('toy');
    addToLibrary(lib, [{ family: 'toy', params: t([0.9, 0.1, 0.1]) }], { source: 'manual', time: 'T0' });
    const answer = {
      tasks: [
        t([0.3, 0.6, 0.2], 2), // good
        t([0.9, 0.1, 0.1]), // duplicate of the library
        t([0.3, 0.6, 0.2], 2), // duplicate within the batch
        t([0.1, 0.1, 0.1]), // unsolvable
        t([0.1, 0.1, 1.7]), // out of the space (zod)
        t([0.5, 0.9, 0.1]), // out of the space (validity rule)
        { means: [0.2, 0.3, 0.9], level: 3 }, // missing kind
        t([0.2, 0.8, 0.4], 3, 'b'), // good
      ],
    };
    const { server, client: c } = await client([replies.ok(JSON.stringify(answer))]);
    const out = await proposeTasks({ client: c, space, library: lib, mode: { kind: 'explore' }, count: 5, solvable, maxRequests: 1, now: () => new Date(0) });
    expect(out.added.map((e) => e.params)).toEqual([t([0.3, 0.6, 0.2], 2), t([0.2, 0.8, 0.4], 3, 'b')]);
    expect(out.counts).toEqual({ duplicate: 2, unsolvable: 1, 'out-of-space': 3 });
    expect(lib.entries.length).toBe(3);
    const prov = out.added[0].provenance;
    expect(prov).toMatchObject({ source: 'llm', model: 'proposer-test', mode: 'explore', time: new Date(0).toISOString(), oracleValue: 0.6, round: 0 });
    expect(prov.promptHash).toMatch(/^[0-9a-f]{64}$/);
    // the prompt shows the parameter spaces and the library's tasks
    const prompt = lastUserMessage(server.requests[0]);
    expect(prompt).toContain('means: box 3-d');
    expect(prompt).toContain('[0.9,0.1,0.1]');
    expect(prompt).toContain('Exploratory');
  });

  it('survives not-JSON, wrong shape, HTTP 500 and timeouts, counting each', async () => {
    const good = JSON.stringify([t([0.7, 0.2, 0.2])]);
    const { client: c } = await client([
      replies.notJson(),
      replies.ok('{"proposals": 3}'),
      replies.http500(),
      replies.http500(), // retry of the third request also fails
      replies.hang(),
      replies.hang(), // retry of the fourth request also times out
      replies.ok(good),
    ]);
    const lib = emptyLibrary('toy');
    const out = await proposeTasks({ client: c, space, library: lib, mode: { kind: 'explore' }, count: 1, solvable, maxRequests: 6 });
    expect(out.counts).toEqual({ 'not-json': 1, 'bad-shape': 1, 'llm-error': 2 });
    expect(out.rejected.filter((r) => r.reason === 'llm-error').map((r) => r.detail.split(':')[0])).toEqual(['http-5xx', 'timeout']);
    expect(out.added.length).toBe(1);
    expect(out.requests).toBe(5);
  });

  it('goal-directed mode puts the target in the prompt and its provenance', async () => {
    const target: Task = { family: 'toy', params: t([0.25, 0.2, 0.21], 3, 'b') };
    const { server, client: c } = await client([replies.ok(JSON.stringify({ tasks: [t([0.4, 0.3, 0.3], 2, 'b')] }))]);
    const lib = emptyLibrary('toy');
    const out = await proposeTasks({ client: c, space, library: lib, mode: { kind: 'goal', target }, count: 1, solvable });
    expect(out.added[0].provenance).toMatchObject({ mode: 'goal', target: target.params });
    expect(lastUserMessage(server.requests[0])).toContain('{"means":[0.25,0.2,0.21],"level":3,"kind":"b"}');
    await expect(proposeTasks({ client: c, space, library: lib, mode: { kind: 'goal', target: { family: 'toy', params: t([2, 0, 0]) } }, count: 1, solvable })).rejects.toThrow(/means/);
  });

  it('writes the library atomically, reads it back validated, and draws from it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'icrl-lib-'));
    dirs.push(dir);
    const file = join(dir, 'sub', 'toy.json');
    expect(loadLibrary(file, space).entries).toEqual([]);
    const lib = emptyLibrary('toy');
    addToLibrary(lib, [{ family: 'toy', params: t([0.3, 0.3, 0.3]) }, { family: 'toy', params: t([0.6, 0.3, 0.3]) }], { source: 'generator', time: 'T' });
    saveLibrary(file, lib);
    const back = loadLibrary(file, space);
    expect(back).toEqual(lib);
    // the same file is a tasks file
    expect(deserializeTasks(space, readFileSync(file, 'utf8'), file)).toEqual(libraryTasks(lib));
    const draws = drawFromLibrary(back, new Rng(3), 50);
    expect(new Set(draws.map((d) => JSON.stringify(d.params))).size).toBe(2);
    expect(drawFromLibrary(back, new Rng(3), 50)).toEqual(draws);
    expect(() => drawFromLibrary(back, new Rng(3), 1, (e) => e.provenance.source === 'llm')).toThrow(/no tasks/);
    // corrupt and out-of-space files are named
    writeFileSync(file, '{"format": "icrl-task-library", "vers');
    expect(() => loadLibrary(file, space)).toThrow(CorruptFileError);
    const bad = JSON.parse(JSON.stringify(lib));
    bad.entries[1].params.means = [0.6, 0.3, 3];
    writeFileSync(file, JSON.stringify(bad));
    expect(() => loadLibrary(file, space)).toThrow(/entries\[1\].*means\[2\]/);
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).not.toContain('.tmp');
  });
});
