/**
 * Learning histories of the `mixture` family from its members' own collections (docs/envs.md,
 * "mixture"): each member's histories (an `icrl collect` folder of that family) are rewritten in the
 * mixture's layout, observations padded with the member's one-hot, actions and expert actions
 * rescaled to the mixture's [-1, 1] (`MixtureLayout`, the same mapping the mixture environment
 * applies when it steps), tasks wrapped as `{ member, params }`. The result is what collecting with
 * the same learners on the mixture would have recorded, without running them again (a learner that
 * sees only its own member's tasks never reads the padding). One file of all members (histories
 * interleaved member by member, so a trainer's last-tasks validation holds every member) and one per
 * member (the per-family runs), each written once: a rerun finds them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../core/json.js';
import { ConfigError, IcrlError } from '../core/errors.js';
import { makeDir, writeJsonAtomic } from '../core/atomic.js';
import type { JsonValue } from '../core/spaces.js';
import { getFamily, mixtureLayout, MIXTURE, prepareFamily, type MixtureLayout } from '../envs/index.js';
import { collect, loadCollectConfig, openHistoryCollection, writeHistories, type History } from '../data/index.js';

/** A member's histories as the mixture's: the member is the history's task family. */
export function toMixtureHistory(h: History, layout: MixtureLayout, taskIndex: number): History {
  const k = layout.index(h.task.family);
  const m = layout.members[k];
  const where = `history of ${h.task.family} task ${h.taskIndex}`;
  if (h.actDim !== m.actDim || h.numActions !== 0) throw new IcrlError(`${where}: ${h.actDim} continuous action values, the mixture's ${m.name} member has ${m.actDim}`);
  if (h.obsDim !== m.obsDim) throw new IcrlError(`${where}: ${h.obsDim} observation values, the mixture's ${m.name} member has ${m.obsDim}`);
  if (h.horizon !== layout.horizon) throw new IcrlError(`${where}: episodes of ${h.horizon} steps, the mixture's are ${layout.horizon} (set the member's horizon when collecting)`);
  const NT = h.numHistories * h.length;
  const obs = new Float32Array(NT * layout.obsDim);
  for (let t = 0; t < NT; t++) layout.encodeObs(k, h.observations, t * m.obsDim, obs, t * layout.obsDim);
  const actions = (src: Float32Array): Float32Array => {
    const out = new Float32Array(NT * layout.actDim);
    for (let t = 0; t < NT; t++) layout.encodeAction(k, src, t * m.actDim, out, t * layout.actDim);
    return out;
  };
  return {
    ...h,
    task: { family: MIXTURE, params: { member: m.name, params: h.task.params } },
    taskIndex,
    obsDim: layout.obsDim,
    actDim: layout.actDim,
    numStates: 0,
    states: undefined,
    observations: obs,
    actions: actions(h.actions as Float32Array),
    expertActions: h.expertActions ? actions(h.expertActions as Float32Array) : undefined,
  };
}

export interface MixtureDataSpec {
  /** The mixture's options (defaults filled in by the family). */
  options: Record<string, unknown>;
  /** Per member: the collect config (in configs/) of its histories; collected into `<dir>/<member>` when not there yet. */
  members: { member: string; collect: string }[];
}

export interface MixtureData {
  /** Histories of every member, interleaved. */
  all: string;
  /** One file per member. */
  perMember: Record<string, string>;
}

/**
 * Collects (or finds) each member's histories in `<collections>/<member>` and writes (or finds) the
 * mixture's files in `dir` (several layouts can share one set of collections).
 */
export async function mixtureHistories(spec: MixtureDataSpec, dir: string, configs: string, say: (line: string) => void, progress = false, collections = dir): Promise<MixtureData> {
  makeDir(dir);
  const recordFile = join(dir, 'data.json');
  if (existsSync(recordFile)) {
    const prev = JSON.parse(readFileSync(recordFile, 'utf8')) as { spec: MixtureDataSpec };
    if (canonicalJson(prev.spec as unknown as JsonValue) !== canonicalJson(spec as unknown as JsonValue)) {
      throw new ConfigError(`${recordFile}: mixture histories of another set-up (${canonicalJson(prev.spec as unknown as JsonValue)}); delete ${dir} or choose another output folder`, recordFile);
    }
  } else writeJsonAtomic(recordFile, { spec });
  const out: MixtureData = { all: join(dir, 'mixture.h5'), perMember: Object.fromEntries(spec.members.map((m) => [m.member, join(dir, `${m.member}.h5`)])) };
  const files = [out.all, ...Object.values(out.perMember)];
  const folders: string[] = [];
  for (const m of spec.members) {
    const folder = join(collections, m.member);
    const cfg = loadCollectConfig(join(configs, m.collect));
    if (cfg.family !== m.member) throw new ConfigError(`configs/${m.collect}: collects ${cfg.family} histories, not ${m.member}'s`, m.collect, 'family');
    say(`${m.member} histories: configs/${m.collect} -> ${folder}`);
    const r = await collect(cfg, { out: folder, silent: !progress });
    say(`  ${r.computed === 0 ? 'collected before, not again' : `collected ${r.computed} shard(s) in ${r.seconds.toFixed(0)} s`}`);
    folders.push(folder);
  }
  if (files.every((f) => existsSync(f))) {
    say(`mixture histories: ${files.join(', ')} (written before, not again)`);
    return out;
  }
  await prepareFamily(MIXTURE);
  const layout = mixtureLayout(spec.options, getFamily);
  const perMember: History[][] = [];
  for (const folder of folders) {
    const hs: History[] = [];
    for (const s of await openHistoryCollection(folder)) {
      try {
        for (const g of s.groups) hs.push(s.reader.readHistory(g));
      } finally {
        s.reader.close();
      }
    }
    perMember.push(hs);
  }
  spec.members.forEach((m, k) => {
    const hs = perMember[k].map((h, i) => toMixtureHistory(h, layout, i));
    perMember[k] = hs;
    writeHistories(out.perMember[m.member], hs);
  });
  const all: History[] = [];
  const n = Math.max(...perMember.map((l) => l.length));
  for (let i = 0; i < n; i++) for (const l of perMember) if (i < l.length) all.push({ ...l[i], taskIndex: all.length });
  writeHistories(out.all, all);
  say(`mixture histories: ${all.length} histories (${spec.members.map((m, k) => `${perMember[k].length} ${m.member}`).join(', ')}) -> ${out.all} and one file per member`);
  return out;
}
