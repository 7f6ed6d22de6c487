/**
 * Test helper: a local OpenAI-compatible server with a script of replies, served in order (the last
 * entry repeats, or a function decides). Built on the project's fake server (src/core/llm/fakeServer).
 */
import { startFakeOpenAI, type FakeReply, type FakeRequest, type FakeServer } from '../../src/core/llm/fakeServer.js';

export type { FakeReply, FakeRequest, FakeServer };

export type Script = FakeReply[] | ((req: FakeRequest) => FakeReply | Promise<FakeReply>);

/** Starts a server answering from `script`: an array is consumed in request order (the last reply repeats). */
export async function startScripted(script: Script): Promise<FakeServer> {
  if (typeof script === 'function') return startFakeOpenAI(script);
  if (script.length === 0) throw new Error('startScripted: empty script');
  return startFakeOpenAI((req) => script[Math.min(req.index, script.length - 1)]);
}

/** The user message of a request (the last message). */
export function lastUserMessage(req: FakeRequest): string {
  const m = req.body?.messages ?? [];
  return m.length ? String(m[m.length - 1].content) : '';
}

/** Common malformed and failing replies. */
export const replies = {
  ok: (content: string): FakeReply => ({ content }),
  notJson: (): FakeReply => ({ content: 'I think I will pull the lever that feels lucky.' }),
  http500: (): FakeReply => ({ status: 500 }),
  http429: (): FakeReply => ({ status: 429 }),
  http400: (): FakeReply => ({ status: 400 }),
  garbageBody: (): FakeReply => ({ body: '<html>gateway error</html>' }),
  hang: (): FakeReply => ({ hang: true }),
};
