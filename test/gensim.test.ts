// GenSim-style generated tasks: every stage of the proposer rejects what it should on xland
// rulesets (malformed JSON, unknown rule / tile / colour names, a tile on a wall, an unsolvable
// ruleset, an equal or an isomorphic one), the isomorphism key, the scripted endpoint's ruleset
// writer exercising every stage, and the library surviving a kill during a proposal round.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { LlmClient } from '../src/core/llm/index.js';
import { startFakeOpenAI } from '../src/core/llm/fakeServer.js';
import { scriptedPolicyResponder } from '../src/eval/llm/scriptedPolicy.js';
import { getFamily, proposalChecks, canonicalRulesetKey, sampleRuleset, PRESETS, type Ruleset } from '../src/envs/index.js';
import { PROPOSAL_STAGES, addToLibrary, emptyLibrary, loadLibrary, proposeTasks, splitProposals, stagePassRates, type Task } from '../src/tasks/index.js';
import { lastUserMessage, replies, startScripted, type FakeServer } from './helpers/fakeOpenAI.js';
import { learningProgress, runLibraryCurriculum } from '../src/experiments/libraryCurriculum.js';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'bin', 'icrl.js');
const OPTIONS = { preset: 'trivial', size: 7, horizon: 30, observation: 'tiles', solverMaxStates: 20_000 };
const O = (tile: string, color: string, at?: [number, number]) => (at ? { tile, color, at } : { tile, color });
const task = (r: unknown): Task => ({ family: 'xland', params: { ruleset: r as never } });
const GOOD = { goal: { kind: 'AgentHold', tile: O('ball', 'red') }, rules: [], tiles: [O('ball', 'red'), O('key', 'blue')] };

const servers: FakeServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'icrl-gensim-'));
  dirs.push(d);
  return d;
};

describe('staged checks of proposed xland rulesets', () => {
  it('each stage rejects what it should, by name, and accepted tasks keep their stage results', async () => {
    const space = getFamily('xland').taskSpace(OPTIONS);
    const { checks, solvable } = proposalChecks(getFamily('xland'), OPTIONS);
    const lib = emptyLibrary('xland');
    addToLibrary(lib, [task(GOOD)], { source: 'manual', time: 'T0' });
    const items = [
      JSON.stringify({ ruleset: { ...GOOD, tiles: [O('ball', 'red'), O('star', 'green')] } }), // accepted
      '{"ruleset": {"goal": {"kind": "AgentHold", "tile": {"tile": "ball", "color": "red"}}, "rules": [], "tiles": [],}}', // parses: trailing comma
      JSON.stringify({ ruleset: { ...GOOD, rules: [{ kind: 'AgentTouch', tile: O('ball', 'red'), prod: { tile: 'floor' } }] } }), // loads: rule
      JSON.stringify({ ruleset: { ...GOOD, tiles: [O('diamond', 'red')] } }), // loads: tile
      JSON.stringify({ ruleset: { ...GOOD, tiles: [O('ball', 'cyan')] } }), // loads: colour
      JSON.stringify({ ruleset: { ...GOOD, tiles: [O('ball', 'red', [0, 2])] } }), // runs: on the wall
      JSON.stringify({ ruleset: { ...GOOD, tiles: [O('key', 'blue')] } }), // runs: the goal's ball never exists
      JSON.stringify({ ruleset: { goal: GOOD.goal, rules: [{ kind: 'AgentNear', tile: O('ball', 'red'), prod: { tile: 'floor' } }], tiles: [O('ball', 'red')] } }), // solvable: the ball vanishes when the agent comes near
      JSON.stringify({ ruleset: { ...GOOD, meta: { note: 'same ruleset' } } }), // novel: equal (meta is no part of a ruleset's identity)
      JSON.stringify({ ruleset: { goal: { kind: 'AgentHold', tile: O('ball', 'pink') }, rules: [], tiles: [O('key', 'grey'), O('ball', 'pink')] } }), // novel: isomorphic
      JSON.stringify({ ruleset: { goal: { kind: 'AgentHold', tile: O('ball', 'red') }, rules: [], tiles: [O('ball', 'red'), O('key', 'red')] } }), // accepted: one colour for both
    ];
    const { client } = await scripted([replies.ok(`{"tasks": [${items.join(', ')}]}`)]);
    const out = await proposeTasks({ client, space, library: lib, mode: { kind: 'explore' }, count: 20, solvable, checks, maxRequests: 1, perRequest: 20 });
    expect(out.proposals).toBe(items.length);
    expect(out.counts).toEqual({ 'not-json': 1, 'out-of-space': 3, runtime: 2, unsolvable: 1, duplicate: 1, isomorphic: 1 });
    const detail = (reason: string) => out.rejected.filter((r) => r.reason === reason).map((r) => r.detail);
    expect(detail('out-of-space')).toEqual([
      expect.stringMatching(/rules\[0\]\.kind: unknown rule kind "AgentTouch"/),
      expect.stringMatching(/tiles\[0\]\.tile: unknown tile "diamond"/),
      expect.stringMatching(/tiles\[0\]\.color: unknown color "cyan"/),
    ]);
    expect(detail('runtime')).toEqual([expect.stringMatching(/tiles\[0\]\.at: position \[0, 2\] is a wall cell/), expect.stringMatching(/goal\.tile: red ball is never present/)]);
    expect(detail('unsolvable')[0]).toMatch(/no solution within the horizon of 30 steps/);
    expect(detail('duplicate')[0]).toMatch(/equal to library task 0/);
    expect(detail('isomorphic')[0]).toMatch(/isomorphic to library task 0/);
    expect(out.stages).toEqual({
      parses: { entered: 11, passed: 10 },
      loads: { entered: 10, passed: 7 },
      runs: { entered: 7, passed: 5 },
      solvable: { entered: 5, passed: 4 },
      novel: { entered: 4, passed: 2 },
    });
    expect(stagePassRates(out.stages).runs).toBeCloseTo(5 / 7);
    expect(out.rounds).toEqual([{ round: 0, proposals: 11, accepted: 2, library: 3, failed: { parses: 1, loads: 3, runs: 2, solvable: 1, novel: 2 }, llmError: false }]);
    const st = out.added[0].provenance.stages!;
    expect(Object.keys(st)).toEqual([...PROPOSAL_STAGES]);
    expect(st.solvable).toMatchObject({ ok: true, optimalSteps: expect.any(Number), solverStates: expect.any(Number), rules: 0, tiles: 2 });
    expect(st.runs).toMatchObject({ ok: true, steps: 64 });
  });

  it('cuts a reply into proposals so that one syntax error costs one proposal', () => {
    const r = splitProposals('Here: {"tasks": [{"a": 1}, {"a": 2,}, {"b": "}{"}]} done');
    expect('items' in r && r.items.map((i) => i.ok)).toEqual([true, false, true]);
    expect(splitProposals('no json here')).toMatchObject({ reason: 'not-json' });
    expect(splitProposals('{"proposals": 3}')).toMatchObject({ reason: 'bad-shape' });
  });
});

describe('isomorphism of rulesets (a renaming of colours, the order of rules and tiles)', () => {
  const recolour = (r: Ruleset, rng: Rng): Ruleset => {
    const colours = ['red', 'green', 'blue', 'purple', 'yellow', 'grey', 'white', 'brown', 'pink', 'orange'];
    const perm = [...colours];
    rng.shuffle(perm);
    const m = new Map(colours.map((c, i) => [c, perm[i]]));
    const s = JSON.stringify(r, (k, v: unknown) => (k === 'color' && typeof v === 'string' ? m.get(v) : v));
    const out = JSON.parse(s) as Ruleset;
    rng.shuffle(out.rules);
    rng.shuffle(out.tiles);
    return out;
  };

  it('renamed and reordered rulesets share the key; a change of structure does not', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 60; i++) {
      const r = sampleRuleset(rng.split(i), PRESETS[i % 2 ? 'small' : 'medium'], 'x');
      const key = canonicalRulesetKey(r);
      expect(canonicalRulesetKey(recolour(r, rng.split(`p${i}`)))).toBe(key);
      // one object given the colour of another: fewer colours, so no renaming maps one to the other
      const c = JSON.parse(JSON.stringify(r)) as Ruleset;
      const colours = (x: Ruleset) => new Set(JSON.stringify(x).match(/"color":"\w+"/g)).size;
      const first = c.tiles[0];
      const other = c.tiles.find((t) => t.color !== first.color);
      if (other) {
        const from = other.color;
        for (const t of c.tiles) if (t.color === from) t.color = first.color;
        if (colours(c) < colours(r)) expect(canonicalRulesetKey(c)).not.toBe(key);
      }
    }
    const a = { ...GOOD } as unknown as Ruleset;
    const sameColour = { ...GOOD, tiles: [O('ball', 'red'), O('key', 'red')] } as unknown as Ruleset;
    expect(canonicalRulesetKey(a)).not.toBe(canonicalRulesetKey(sameColour));
    const otherShape = { ...GOOD, tiles: [O('ball', 'red'), O('hex', 'blue')] } as unknown as Ruleset;
    expect(canonicalRulesetKey(a)).not.toBe(canonicalRulesetKey(otherShape));
  });
});

describe('the scripted endpoint writes rulesets', () => {
  it('exercises every stage over a few rounds, grows the library, and answers the same for the same seed', async () => {
    const run = async () => {
      const server = await startFakeOpenAI(scriptedPolicyResponder({ seed: 4 }));
      servers.push(server);
      const client = LlmClient.fromConfig({ baseUrl: server.url, model: 'scripted', maxRetries: 0, timeoutMs: 5000 }, {});
      const space = getFamily('xland').taskSpace(OPTIONS);
      const { checks, solvable } = proposalChecks(getFamily('xland'), OPTIONS);
      const lib = emptyLibrary('xland');
      const out = await proposeTasks({ client, space, library: lib, mode: { kind: 'explore' }, count: 200, solvable, checks, maxRequests: 8, perRequest: 10, now: () => new Date(0) });
      return { out, lib };
    };
    const { out, lib } = await run();
    for (const s of PROPOSAL_STAGES) expect(out.stages[s].passed, s).toBeLessThan(out.stages[s].entered);
    expect(out.added.length).toBeGreaterThan(15);
    expect(out.rounds.map((r) => r.library)).toEqual(out.rounds.map((_, i) => out.rounds.slice(0, i + 1).reduce((s, r) => s + r.accepted, 0)));
    const again = await run();
    expect(again.lib.entries.map((e) => e.params)).toEqual(lib.entries.map((e) => e.params));
  });

  it('top-down: follows the description', async () => {
    const server = await startFakeOpenAI(scriptedPolicyResponder({ seed: 1 }));
    servers.push(server);
    const client = LlmClient.fromConfig({ baseUrl: server.url, model: 'scripted', maxRetries: 0, timeoutMs: 5000 }, {});
    const { checks, solvable } = proposalChecks(getFamily('xland'), OPTIONS);
    const lib = emptyLibrary('xland');
    const description = 'the agent must bring two objects next to each other (TileNear), with 1 rules and 2 distractors';
    const out = await proposeTasks({ client, space: getFamily('xland').taskSpace(OPTIONS), library: lib, mode: { kind: 'top-down', description }, count: 6, solvable, checks, maxRequests: 4, perRequest: 6 });
    expect(out.added.length).toBeGreaterThan(0);
    for (const e of out.added) {
      const r = e.params.ruleset as unknown as Ruleset;
      expect(r.goal.kind).toBe('TileNear');
      expect(e.provenance).toMatchObject({ mode: 'top-down', description });
    }
  });
});

describe('the library survives a kill during a proposal round', () => {
  /** Runs the CLI against a fresh scripted endpoint (its answers depend on how often it saw a request). */
  async function icrl(args: string[], env: Record<string, string>): Promise<{ status: number | null; signal: string | null; stderr: string }> {
    const server = await startFakeOpenAI(scriptedPolicyResponder({ seed: 5 }));
    servers.push(server);
    env = { ICRL_LLM_BASE_URL: server.url, ICRL_LLM_MODEL: 'scripted', ...env };
    return new Promise((res) => {
      const child = spawn(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += String(d)));
      child.on('exit', (status, signal) => res({ status, signal, stderr }));
    });
  }

  it('a SIGKILL at a rename leaves a valid library with every task accepted before it', async () => {
    const d = tmp();
    const args = (lib: string) => ['tasks', 'propose', '-f', 'xland', '--options', JSON.stringify(OPTIONS), '-l', lib, '-n', '12', '--per-request', '12', '--max-requests', '2'];
    const env = {};
    const full = await icrl(args(join(d, 'full.json')), env);
    expect(full.status, full.stderr).toBe(0);
    const space = getFamily('xland').taskSpace(OPTIONS);
    const all = loadLibrary(join(d, 'full.json'), space).entries.map((e) => e.params);
    expect(all.length).toBeGreaterThan(5);
    for (const k of ['3', '4:after']) {
      const file = join(d, `killed-${k.replace(':', '-')}.json`);
      const killed = await icrl(args(file), { ...env, ICRL_FAULT_RENAME: k });
      expect(killed.signal).toBe('SIGKILL');
      const accepted = (killed.stderr.match(/accepted \(round/g) ?? []).length;
      const n = k.endsWith(':after') ? Number(k.split(':')[0]) : Number(k) - 1;
      const back = loadLibrary(file, space); // valid JSON, a library, every entry in the space
      expect(back.entries.length).toBe(n);
      // every task reported accepted is in the file (a kill just after a save comes before its report)
      expect(accepted).toBe(k.endsWith(':after') ? n - 1 : n);
      expect(back.entries.map((e) => e.params)).toEqual(all.slice(0, n));
      expect(readFileSync(file, 'utf8')).toContain('"tasks"');
    }
  }, 120_000);
});

async function scripted(script: Parameters<typeof startScripted>[0]) {
  const server = await startScripted(script);
  servers.push(server);
  return { server, client: LlmClient.fromConfig({ baseUrl: server.url, model: 'gensim-test', maxRetries: 0, timeoutMs: 5000 }, {}) };
}

describe('a curriculum over the growing library', () => {
  it('trains on library tasks chosen by learning progress and asks the LLM for more around the best ones', async () => {
    const server = await startFakeOpenAI(scriptedPolicyResponder({ seed: 2 }));
    servers.push(server);
    const client = LlmClient.fromConfig({ baseUrl: server.url, model: 'scripted', maxRetries: 0, timeoutMs: 5000, maxTokens: 4096 }, {});
    const family = getFamily('xland');
    const space = family.taskSpace(OPTIONS);
    const { checks, solvable } = proposalChecks(family, OPTIONS);
    const library = emptyLibrary('xland');
    addToLibrary(library, space.sampleMany(new Rng(1), 4), { source: 'generator', time: 'T' });
    const accepted: number[] = [];
    const run = await runLibraryCurriculum({ family, options: OPTIONS, space, library, client, checks, solvable, rounds: 2, episodes: 40, propose: 4, focus: 2, window: 2, explore: 0.2, epsilon: 0.1, alpha: 0.2, gamma: 0.95, seed: 0, onAccept: (_e, lib) => accepted.push(lib.entries.length) });
    expect(run.rounds.map((r) => r.libraryBefore)).toEqual([4, 4 + run.rounds[0].accepted]);
    expect(run.rounds[1].libraryAfter).toBe(library.entries.length);
    expect(accepted.length).toBe(library.entries.length - 4);
    expect(run.rounds[0].focus.length).toBe(2);
    // the focus tasks are shown to the LLM
    expect(lastUserMessage(server.requests[0])).toContain('The learner is making progress on these tasks');
    expect(learningProgress([0, 0, 1, 1], 2)).toBe(1);
    expect(learningProgress([0, 1, 1], 2)).toBeNull();
    expect(run.rounds.every((r) => r.heldOutReturn === null)).toBe(true);
  });

  it('the uniform baseline and the held-out score: a held-out task in the library is never trained on', async () => {
    const family = getFamily('xland');
    const space = family.taskSpace(OPTIONS);
    const { checks, solvable } = proposalChecks(family, OPTIONS);
    const tasks = space.sampleMany(new Rng(3), 5);
    const make = () => {
      const library = emptyLibrary('xland');
      addToLibrary(library, tasks, { source: 'generator', time: 'T' });
      return library;
    };
    const client = LlmClient.fromConfig({ baseUrl: 'http://127.0.0.1:9', model: 'unused', maxRetries: 0, timeoutMs: 100 }, {});
    const base = { family, options: OPTIONS, space, client, checks, solvable, rounds: 2, episodes: 30, propose: 0, focus: 2, window: 2, explore: 0.2, epsilon: 0.1, alpha: 0.2, gamma: 0.95, seed: 4 };
    const trained: number[][] = [];
    for (const teacher of ['learning-progress', 'uniform'] as const) {
      const run = await runLibraryCurriculum({ ...base, library: make(), teacher, heldOut: [tasks[4], space.sample(new Rng(9))], evalEpisodes: 2 });
      for (const r of run.rounds) {
        expect(r.heldOutReturn).not.toBeNull();
        expect(r.heldOutReturn!).toBeGreaterThanOrEqual(0);
        expect(r.heldOutReturn!).toBeLessThanOrEqual(1);
        // library task 4 is held out: four of the five are trained on
        expect(r.tasksTrained).toBe(4);
      }
      trained.push(run.rounds.map((r) => r.meanReturn));
    }
    expect(trained[0]).not.toEqual(trained[1]);
    await expect(runLibraryCurriculum({ ...base, library: make(), teacher: 'best' as never })).rejects.toThrow(/teacher must be one of learning-progress, uniform/);
    await expect(runLibraryCurriculum({ ...base, library: make(), heldOut: tasks })).rejects.toThrow(/every library task is a held-out task/);
  });
});

describe('other families through their task-parameter schema', () => {
  it('darkroom proposals pass the same stages; the scripted sampler reads only the parameter lines, not the feedback', async () => {
    const server = await startFakeOpenAI(scriptedPolicyResponder({ seed: 0, faults: { outOfRange: 0.5 } }));
    servers.push(server);
    const client = LlmClient.fromConfig({ baseUrl: server.url, model: 'scripted', maxRetries: 0, timeoutMs: 5000 }, {});
    const options = { size: 10, horizon: 100 };
    const family = getFamily('darkroom');
    const { checks, solvable } = proposalChecks(family, options);
    const out = await proposeTasks({ client, space: family.taskSpace(options), library: emptyLibrary('darkroom'), mode: { kind: 'explore' }, count: 30, perRequest: 5, maxRequests: 4, solvable, checks });
    expect(out.counts['out-of-space']).toBeGreaterThan(0);
    // every schema failure is the deliberately broken proposal (all parameters 1e9), later rounds included
    for (const r of out.rejected.filter((x) => x.reason === 'out-of-space')) expect(r.params).toEqual({ goalX: 1e9, goalY: 1e9 });
    expect(out.rounds.every((r) => r.accepted > 0)).toBe(true);
    expect(out.stages.runs.entered).toBe(out.stages.loads.passed);
  });
});
