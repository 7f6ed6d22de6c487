/**
 * Text views of the tasks an LLM agent plays (EVOLvE-style): a system message that states the game
 * and the answer format, and a user message per decision with the history as raw text or as summary
 * statistics, optional algorithm-guided hints (UCB indices) and optional demonstrations. Three kinds
 * of task: multi-armed bandits (no observation), contextual bandits (an observation per pull, each
 * pull its own episode), and MDPs such as Dark Room (episodes of many steps, several in-context
 * episodes of the same task).
 */
import type { BatchedEnv } from '../../envs/types.js';
import type { BoxSpace } from '../../core/spaces.js';

export type PromptKind = 'bandit' | 'contextual' | 'mdp';

export type HistoryMode = 'raw' | 'summary';

/** What the agent remembers of one instance (one task). */
export interface InstanceMemory {
  /** Decisions made so far. */
  t: number;
  /** Bandit statistics per action (all kinds keep them; MDPs per state would be too many). */
  counts: Float64Array;
  sums: Float64Array;
  /** Raw lines of the history, most recent last (bounded). */
  raw: string[];
  /** MDP: returns of finished episodes. */
  episodeReturns: number[];
  /** MDP: current episode's return and step. */
  episodeReturn: number;
  episodeStep: number;
  /** MDP: observations where a positive reward was received, with counts. */
  rewardedStates: Map<string, number>;
  /** MDP: number of distinct states visited. */
  visited: Set<string>;
}

export function newMemory(numActions: number): InstanceMemory {
  return {
    t: 0,
    counts: new Float64Array(numActions),
    sums: new Float64Array(numActions),
    raw: [],
    episodeReturns: [],
    episodeReturn: 0,
    episodeStep: 0,
    rewardedStates: new Map(),
    visited: new Set(),
  };
}

/** Bandit when every pull is its own episode and the observation is constant; contextual when it varies; MDP otherwise. */
export function promptKind(env: BatchedEnv): PromptKind {
  if (env.horizon > 1) return 'mdp';
  const sp = env.observationSpace as Partial<BoxSpace>;
  const spec = sp.spec as { kind?: string; low?: number[]; high?: number[] } | undefined;
  const constant = spec?.kind === 'box' && spec.low!.every((l, i) => l === spec.high![i]);
  return env.obsDim === 0 || constant ? 'bandit' : 'contextual';
}

export function fmtNum(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return x.toFixed(3);
}

export function fmtObs(obs: ArrayLike<number>): string {
  return `(${Array.from(obs, fmtNum).join(', ')})`;
}

/** UCB1-style index per action: mean + c * sqrt(ln(t) / n); untried actions get +Infinity. */
export function ucbIndices(mem: InstanceMemory, c: number): number[] {
  const t = Math.max(1, mem.t);
  return Array.from(mem.counts, (n, a) => (n === 0 ? Infinity : mem.sums[a] / n + c * Math.sqrt(Math.log(t) / n)));
}

export interface PromptOptions {
  history: HistoryMode;
  /** Most raw history lines shown. */
  maxHistory: number;
  hints: 'none' | 'ucb';
  hintC: number;
  /** Demonstration text (already formatted), or empty. */
  demonstrations: string;
}

function answerFormat(k: number): string {
  return `Answer with JSON only, exactly {"action": N} where N is an integer from 0 to ${k - 1}. No other text.`;
}

/** Fixed arm features of a linear bandit, one row per arm, or null when the family has none. */
export function armFeatures(env: BatchedEnv): { dim: number; rows: number[][] } | null {
  const f = env.armFeatures;
  const k = env.numActions;
  if (!f || k === 0) return null;
  const dim = f.dim;
  return { dim, rows: Array.from({ length: k }, (_, a) => Array.from(f.values.subarray(a * dim, (a + 1) * dim))) };
}

/** Describes the game (system message). */
export function systemPrompt(env: BatchedEnv, kind: PromptKind, opts: PromptOptions): string {
  const k = env.numActions;
  const lines: string[] = [];
  const features = armFeatures(env);
  if (kind === 'bandit' && features) {
    lines.push(
      `You are playing a linear bandit (a multi-armed bandit whose arms have known features) with ${k} arms, numbered 0 to ${k - 1} (valid actions: 0 to ${k - 1}).`,
      `Each arm has a feature vector of ${features.dim} numbers; the expected reward of an arm is the dot product of its features with a hidden parameter vector, plus noise.`,
      'Arms with similar features pay similar rewards, so what you learn from one arm tells you about the others. Maximise the total reward over many turns.',
      `Arm features:\n${features.rows.map((r, a) => `arm ${a}: ${fmtObs(r)}`).join('\n')}`,
    );
  } else if (kind === 'bandit') {
    lines.push(
      `You are playing a multi-armed bandit with ${k} arms, numbered 0 to ${k - 1} (valid actions: 0 to ${k - 1}).`,
      'Each turn you pull one arm and receive a noisy reward drawn around that arm\'s unknown mean. Your goal is to maximise the total reward over many turns:',
      'explore arms you know little about, and exploit the arm that looks best.',
    );
  } else if (kind === 'contextual') {
    lines.push(
      `You are playing a contextual bandit with ${k} actions, numbered 0 to ${k - 1} (valid actions: 0 to ${k - 1}).`,
      `Each turn you see a context vector of ${env.obsDim} numbers, choose one action, and receive a reward that depends on the context and the action.`,
      'Maximise the total reward: learn from past contexts which action pays best.',
    );
  } else if (env.promptDescription) {
    lines.push(...env.promptDescription());
  } else {
    lines.push(
      `You are playing a ${env.family} environment: each step you observe a vector of ${env.obsDim} numbers and choose one of ${k} actions (valid actions: 0 to ${k - 1}).`,
      `An episode lasts at most ${env.horizon} steps and you play several episodes of the same task. Maximise the reward.`,
    );
  }
  if (opts.demonstrations) lines.push('', opts.demonstrations);
  lines.push('', answerFormat(k));
  return lines.join('\n');
}

/** The user message for one decision. */
export function decisionPrompt(env: BatchedEnv, kind: PromptKind, mem: InstanceMemory, obs: ArrayLike<number>, opts: PromptOptions): string {
  const k = env.numActions;
  const parts: string[] = [];
  if (kind === 'mdp') {
    parts.push(`Episode ${mem.episodeReturns.length + 1}, step ${mem.episodeStep + 1} of ${env.horizon}. Reward so far this episode: ${fmtNum(mem.episodeReturn)}.`);
    if (mem.episodeReturns.length) parts.push(`Returns of earlier episodes: ${mem.episodeReturns.map(fmtNum).join(', ')}.`);
    if (opts.history === 'summary') {
      const rewarded = [...mem.rewardedStates.entries()].map(([s, n]) => `${s} x${n}`);
      parts.push(`Distinct positions visited so far: ${mem.visited.size}.`);
      parts.push(rewarded.length ? `Positions where you received reward: ${rewarded.join(', ')}.` : 'You have not received any reward yet.');
      const recent = mem.raw.slice(-Math.min(opts.maxHistory, 10));
      if (recent.length) parts.push(`Last steps (position, action -> reward):\n${recent.join('\n')}`);
    } else {
      const recent = mem.raw.slice(-opts.maxHistory);
      parts.push(recent.length ? `History, most recent last (position, action -> reward):\n${recent.join('\n')}` : 'No history yet.');
    }
    parts.push(`Your position now: ${fmtObs(obs)}.`);
  } else {
    parts.push(`Turn ${mem.t + 1}.`);
    if (opts.history === 'summary') {
      const stats = Array.from(mem.counts, (n, a) => (n === 0 ? `arm ${a}: 0 pulls` : `arm ${a}: ${n} pulls, mean reward ${fmtNum(mem.sums[a] / n)}`));
      parts.push(`Statistics so far:\n${stats.join('\n')}`);
      if (kind === 'contextual') {
        const recent = mem.raw.slice(-opts.maxHistory);
        if (recent.length) parts.push(`Recent turns (context, arm -> reward):\n${recent.join('\n')}`);
      }
    } else {
      const recent = mem.raw.slice(-opts.maxHistory);
      const label = kind === 'contextual' ? '(context, arm -> reward)' : '(turn: arm -> reward)';
      parts.push(recent.length ? `History, most recent last ${label}:\n${recent.join('\n')}` : 'No history yet.');
      if (mem.raw.length > recent.length) parts.push(`(${mem.raw.length - recent.length} earlier turns not shown.)`);
    }
    if (kind === 'contextual') parts.push(`Context now: ${fmtObs(obs)}.`);
    if (opts.hints === 'ucb') {
      const idx = ucbIndices(mem, opts.hintC);
      parts.push(
        `Hint from the UCB algorithm (index = mean + ${opts.hintC} * sqrt(ln t / pulls); higher is more promising):\n${idx
          .map((v, a) => `arm ${a}: UCB index ${Number.isFinite(v) ? fmtNum(v) : 'infinite (never pulled)'}`)
          .join('\n')}`,
      );
    }
  }
  parts.push(`Choose an action from 0 to ${k - 1}. ${answerFormat(k)}`);
  return parts.join('\n\n');
}

/** Records one step into the memory (called by the agent's observe). */
export function recordStep(kind: PromptKind, mem: InstanceMemory, obsBefore: ArrayLike<number>, action: number, reward: number, ended: boolean, maxLines: number): void {
  mem.t++;
  mem.counts[action] += 1;
  mem.sums[action] += reward;
  let line: string;
  if (kind === 'bandit') line = `${mem.t}: arm ${action} -> ${fmtNum(reward)}`;
  else if (kind === 'contextual') line = `${fmtObs(obsBefore)}, arm ${action} -> ${fmtNum(reward)}`;
  else {
    const pos = fmtObs(obsBefore);
    mem.visited.add(pos);
    line = `${pos}, action ${action} -> ${fmtNum(reward)}`;
    mem.episodeReturn += reward;
    mem.episodeStep++;
    if (ended) {
      mem.episodeReturns.push(mem.episodeReturn);
      mem.episodeReturn = 0;
      mem.episodeStep = 0;
      line += `   [episode ${mem.episodeReturns.length} ended, return ${fmtNum(mem.episodeReturns[mem.episodeReturns.length - 1])}]`;
    }
  }
  mem.raw.push(line);
  if (mem.raw.length > maxLines) mem.raw.splice(0, mem.raw.length - maxLines);
}

/** Records where a positive reward was received (MDPs); `obsAfter` is the state the step ended in. */
export function recordReward(mem: InstanceMemory, obsAfter: ArrayLike<number>, reward: number): void {
  if (reward > 0) {
    const s = fmtObs(obsAfter);
    mem.rewardedStates.set(s, (mem.rewardedStates.get(s) ?? 0) + 1);
  }
}

export type ParseFailure = 'not-json' | 'no-action' | 'out-of-range';

/**
 * Reads the chosen action from a reply. Accepts {"action": n} (also "arm"/"choice"), a bare JSON
 * integer, and JSON inside code fences or surrounded by prose; with `lenient`, also the last integer
 * in plain text. Returns the action or the reason it is invalid.
 */
export function parseAction(text: string, numActions: number, lenient = false): { action: number } | { failure: ParseFailure; detail: string } {
  const t = text.trim();
  let value: unknown = undefined;
  const candidates = [t];
  const fence = /```(?:json)?\s*([\s\S]*?)```/i.exec(t);
  if (fence) candidates.push(fence[1].trim());
  const brace = /\{[^{}]*\}/.exec(t);
  if (brace) candidates.push(brace[0]);
  let parsed = false;
  for (const c of candidates) {
    try {
      value = JSON.parse(c);
      parsed = true;
      break;
    } catch {
      // next candidate
    }
  }
  if (!parsed) {
    if (lenient) {
      const ints = t.match(/-?\d+/g);
      if (ints) value = Number(ints[ints.length - 1]);
      else return { failure: 'not-json', detail: t.slice(0, 120) };
    } else return { failure: 'not-json', detail: t.slice(0, 120) };
  }
  let a: unknown = value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    a = o.action ?? o.arm ?? o.choice;
  }
  if (typeof a === 'string' && /^\s*-?\d+\s*$/.test(a)) a = Number(a);
  if (typeof a !== 'number' || !Number.isInteger(a)) return { failure: 'no-action', detail: JSON.stringify(value)?.slice(0, 120) ?? String(value) };
  if (a < 0 || a >= numActions) return { failure: 'out-of-range', detail: `${a} is not in 0..${numActions - 1}` };
  return { action: a };
}
