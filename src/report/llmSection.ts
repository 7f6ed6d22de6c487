/**
 * The report section for agents that expose LLM counters (see LlmAgent.diagnostics): per agent, the
 * decisions taken, the share of answers that gave no valid action and of decisions made by the
 * fallback, the failures by reason, tokens and cost. The evaluation report appends it when any agent
 * of a results file has diagnostics.
 */
import type { AgentResult } from '../eval/results.js';
import type { ReportSection } from './charts.js';
import { SCRIPTED_MODEL_NAME } from '../eval/llm/scriptedPolicy.js';

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function llmDiagnosticsSection(agents: AgentResult[]): ReportSection | null {
  const rows = agents.filter((a) => a.diagnostics && typeof a.diagnostics.decisions === 'number');
  if (rows.length === 0) return null;
  const served = (a: AgentResult): string[] => (Array.isArray(a.diagnostics!.servedModels) ? (a.diagnostics!.servedModels as string[]) : []);
  const scripted = rows.filter((a) => served(a).includes(SCRIPTED_MODEL_NAME)).map((a) => a.name);
  return {
    title: 'LLM agents: answers, failures and tokens',
    text: [
      'Every decision is one chat request (plus re-asks after an invalid answer). "invalid answers" is the share of requests that gave no valid action (not JSON, no action, action out of range, HTTP error, timeout); "fallback" is the share of decisions the fallback policy made after the LLM failed. Retried requests failed at the HTTP level (HTTP 500/429, timeout, refused connection) and were sent again by the client; only failures that outlast the retries count as invalid answers. Tokens come from the endpoint\'s usage fields; cost uses the configured prices. Cache hits are answers replayed from the response cache.',
      ...(scripted.length
        ? [`${scripted.join(', ')}: answered by the scripted endpoint of \`icrl llm serve-fake\` (rule-based UCB on the prompt's statistics with injected faults), NOT by a language model. These lines test the pipeline; they say nothing about how a language model plays.`]
        : []),
    ],
    tables: [
      {
        columns: ['agent', 'model', 'decisions', 'invalid answers', 'fallback', 'failures by reason', 'retried requests', 'prompt tokens', 'completion tokens', 'tokens / decision', 'cost USD', 'cache hits'],
        rows: rows.map((a) => {
          const d = a.diagnostics!;
          const decisions = num(d.decisions) ?? 0;
          const pt = num(d.promptTokens) ?? 0;
          const ct = num(d.completionTokens) ?? 0;
          const reasons = Object.entries((d.invalid ?? {}) as Record<string, number>)
            .filter(([, n]) => n > 0)
            .map(([r, n]) => `${r}: ${n}`)
            .join(', ');
          const retried = Object.entries((d.retried ?? {}) as Record<string, number>)
            .filter(([, n]) => n > 0)
            .map(([r, n]) => `${r}: ${n}`)
            .join(', ');
          const pct = (v: unknown) => (num(v) === null ? null : `${(100 * num(v)!).toFixed(1)}%`);
          return [
            a.name,
            typeof d.model === 'string' ? d.model + (served(a).length && !served(a).includes(d.model) ? ` (answers from: ${served(a).join(', ')})` : '') : null,
            decisions,
            pct(d.invalidRate),
            pct(d.fallbackRate),
            reasons || 'none',
            retried || 'none',
            pt,
            ct,
            decisions ? Number(((pt + ct) / decisions).toFixed(1)) : null,
            num(d.costUsd),
            num(d.cacheHits),
          ];
        }),
      },
    ],
  };
}
