/**
 * The `llm` entry of the evaluation agent registry: `{ type: llm, llm: {baseUrl, model, ...}, history,
 * hints, demonstrations, fallback, ... }` in an eval config. Relative cache folders resolve against the
 * config's folder; demonstration sources other than the built-in ones are any agent type registered
 * for evaluation (ucb, thompson, a trained model, ...).
 */
import { isAbsolute, resolve } from 'node:path';
import { validateConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import type { Agent } from '../../algorithms/agent.js';
import { makeAgentFrom, type AgentContext } from '../../algorithms/index.js';
import { LlmAgent, llmAgentSpecSchema } from './agent.js';

export function makeLlmEvalAgent(spec: Record<string, unknown>, ctx: AgentContext, env: NodeJS.ProcessEnv = process.env): Agent {
  const s = validateConfig(llmAgentSpecSchema, spec, ctx.source);
  if (s.llm.apiKey !== undefined) {
    // the agent spec is copied into results.json; keys belong in the environment
    throw new ConfigError(`${ctx.source}.llm.apiKey: do not put API keys in eval configs (they are copied into results.json); set llm.apiKeyEnv or ICRL_LLM_API_KEY / OPENAI_API_KEY instead`, ctx.source, 'llm.apiKey');
  }
  const llm = { ...s.llm };
  if (llm.cacheDir && !isAbsolute(llm.cacheDir)) llm.cacheDir = resolve(ctx.baseDir ?? '.', llm.cacheDir);
  return new LlmAgent(
    { ...s, llm },
    {
      env,
      source: ctx.source,
      sourceAgents: async (name) => makeAgentFrom({ type: name }, { ...ctx, source: `${ctx.source}.demonstrations.source` }, 'type'),
    },
  );
}
