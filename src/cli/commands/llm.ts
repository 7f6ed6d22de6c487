/**
 * `icrl llm`: tools for the LLM side. `serve-fake` starts a local OpenAI-compatible endpoint with a
 * scripted, rule-based responder (NOT a language model) so the LLM agent and the task proposer can be
 * tried without a model; `ask` sends one prompt to a real or fake endpoint and prints the answer and
 * its token count.
 */
import { intFlag, numberFlag } from '../options.js';
import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { startFakeOpenAI } from '../../core/llm/fakeServer.js';
import { LlmClient, type LlmConfig } from '../../core/llm/client.js';
import { IcrlError } from '../../core/errors.js';
import { scriptedPolicyResponder } from '../../eval/llm/scriptedPolicy.js';


interface ServeOptions {
  port: number;
  host: string;
  policy: 'ucb' | 'greedy' | 'random';
  c: number;
  seed: number;
  notJson: number;
  outOfRange: number;
  http500: number;
  timeout: number;
  http429: number;
  retryAfter: number;
  endlessBody: number;
  badUsage: number;
  delayMs: number;
  model: string;
  clientTimeoutMs?: number;
  run?: string;
}

export function register(program: Command): void {
  const llm = program.command('llm').description('LLM endpoint tools: a scripted local endpoint for trying the LLM agent without a model, and a one-shot query');

  llm
    .command('serve-fake')
    .description('Serve a scripted OpenAI-compatible endpoint (NOT a language model: rule-based answers computed from the prompt)')
    .option('--port <n>', 'port (0 = any free port)', intFlag('--port', 0, 65535), 8089)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--policy <name>', 'bandit rule: ucb | greedy | random', 'ucb')
    .option('--c <x>', 'UCB exploration constant', numberFlag('--c', 0), 1)
    .option('--seed <n>', 'seed of the answers and the injected faults', intFlag('--seed', 0), 0)
    .option('--not-json <p>', 'share of answers that are prose, not JSON', numberFlag('--not-json', 0, 1), 0)
    .option('--out-of-range <p>', 'share of answers with an action out of range (proposals: an extra out-of-space task)', numberFlag('--out-of-range', 0, 1), 0)
    .option('--http-500 <p>', 'share of requests answered with HTTP 500', numberFlag('--http-500', 0, 1), 0)
    .option('--timeout <p>', 'share of requests never answered (the client times out)', numberFlag('--timeout', 0, 1), 0)
    .option('--http-429 <p>', 'share of requests answered with HTTP 429 and a Retry-After header', numberFlag('--http-429', 0, 1), 0)
    .option('--retry-after <s>', 'seconds in the Retry-After header of the HTTP 429 answers', intFlag('--retry-after', 0, 3600), 1)
    .option('--endless-body <p>', 'share of requests answered with a chunked body that never ends', numberFlag('--endless-body', 0, 1), 0)
    .option('--bad-usage <p>', 'share of answers reporting -5 prompt tokens', numberFlag('--bad-usage', 0, 1), 0)
    .option('--delay-ms <n>', 'delay of every answer in milliseconds', numberFlag('--delay-ms', 0), 0)
    .option('--model <name>', 'model name exported to --run as ICRL_LLM_MODEL', 'scripted-ucb')
    .option('--client-timeout-ms <n>', 'exported to --run as ICRL_LLM_TIMEOUT_MS (the client timeout when a config does not set llm.timeoutMs)', intFlag('--client-timeout-ms', 1, 3_600_000))
    .option('--run <command>', 'run this shell command with ICRL_LLM_BASE_URL / ICRL_LLM_MODEL pointing at the server, then stop the server and exit with its status')
    .addHelpText(
      'after',
      `
This endpoint is a script, not a language model. For the LLM agent's bandit prompts it reads the
per-arm statistics (or the raw pull history) from the prompt and answers {"action": k} with the UCB1
(or greedy, or random) choice; for prompts it cannot read (Dark Room, contextual bandits) it answers
a random valid action; for xland task-proposal prompts a seeded ruleset writer that learns from the
prompt's library and feedback and makes deliberate mistakes (docs/llm.md); for other task-proposal
prompts it samples parameters uniformly from the spaces the prompt lists. The fault options inject broken answers to exercise the agent's error handling.
Answers depend on the seed, the request and how often it was seen; use the client's response cache
(llm.cacheDir) for reruns that replay exactly.

Examples:
  icrl llm serve-fake --port 8089                       # then point ICRL_LLM_BASE_URL at http://127.0.0.1:8089/v1
  icrl llm serve-fake --port 0 --not-json 0.03 --out-of-range 0.02 --http-500 0.01 --timeout 0.002 \\
      --client-timeout-ms 500 --run "icrl eval configs/llm-bandit.yaml"`,
    )
    .action(async (o: ServeOptions) => {
      const responder = scriptedPolicyResponder({
        policy: o.policy,
        c: o.c,
        seed: o.seed,
        delayMs: o.delayMs,
        faults: { notJson: o.notJson, outOfRange: o.outOfRange, http500: o.http500, timeout: o.timeout, http429: o.http429, endlessBody: o.endlessBody, badUsage: o.badUsage },
        retryAfterS: o.retryAfter,
      });
      const server = await startFakeOpenAI(responder, { port: o.port, host: o.host });
      process.stderr.write(`scripted endpoint (not a language model) at ${server.url}\n`);
      if (o.run) {
        const child = spawn(o.run, {
          shell: true,
          stdio: 'inherit',
          env: {
            ...process.env,
            ICRL_LLM_BASE_URL: server.url,
            ICRL_LLM_MODEL: o.model,
            ...(o.clientTimeoutMs !== undefined ? { ICRL_LLM_TIMEOUT_MS: String(o.clientTimeoutMs) } : {}),
          },
        });
        const code = await new Promise<number>((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
        await server.close();
        process.stderr.write(`scripted endpoint: served ${server.requests.length} requests\n`);
        process.exitCode = code;
        return;
      }
      process.stderr.write('Ctrl-C to stop\n');
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
      process.stderr.write(`scripted endpoint: served ${server.requests.length} requests\n`);
    });

  llm
    .command('ask')
    .description('Send one prompt to an OpenAI-compatible endpoint and print the answer with its token count')
    .argument('<prompt>', 'the user message')
    .option('--base-url <url>', 'endpoint (default ICRL_LLM_BASE_URL), e.g. http://localhost:11434/v1')
    .option('--model <name>', 'model (default ICRL_LLM_MODEL)')
    .option('--system <text>', 'system message')
    .option('--timeout-ms <n>', 'request timeout (default ICRL_LLM_TIMEOUT_MS, else 30000)', intFlag('--timeout-ms', 1, 3_600_000))
    .option('--max-tokens-param <name>', 'field of the token limit: auto (max_tokens, switching once when the endpoint asks), max_tokens or max_completion_tokens')
    .option('--json', 'ask for a JSON object (response_format json_object)')
    .addHelpText('after', '\nThe API key comes from ICRL_LLM_API_KEY or OPENAI_API_KEY. A flag wins over the environment variable of the same setting.')
    .action(async (prompt: string, o: { baseUrl?: string; model?: string; system?: string; timeoutMs?: number; maxTokensParam?: string; json?: boolean }) => {
      const flags: LlmConfig = { maxRetries: 1 };
      if (o.baseUrl !== undefined) flags.baseUrl = o.baseUrl;
      if (o.model !== undefined) flags.model = o.model;
      if (o.timeoutMs !== undefined) flags.timeoutMs = o.timeoutMs;
      if (o.maxTokensParam !== undefined) flags.maxTokensParam = o.maxTokensParam as LlmConfig['maxTokensParam'];
      const client = LlmClient.fromConfig(undefined, process.env, 'icrl llm ask', flags);
      const messages = [...(o.system ? [{ role: 'system' as const, content: o.system }] : []), { role: 'user' as const, content: prompt }];
      try {
        const r = await client.chat({ messages, json: o.json });
        process.stdout.write(`${r.content}\n`);
        process.stderr.write(`model ${r.model}: ${r.usage.promptTokens} prompt + ${r.usage.completionTokens} completion tokens\n`);
      } catch (e) {
        throw new IcrlError(`icrl llm ask: ${(e as Error).message}`);
      }
    });
}
