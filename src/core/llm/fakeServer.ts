/**
 * A local HTTP server that speaks the OpenAI chat-completions protocol with scripted answers. It is
 * NOT a language model: a responder function decides every reply (content, HTTP status, raw body,
 * delay). Tests use it to script good, malformed and failing answers; `icrl llm serve-fake` uses it
 * with a rule-based responder so that the LLM pipeline can be tried without a model.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeReply {
  /** Text of choices[0].message.content. */
  content?: string;
  /** HTTP status (default 200). */
  status?: number;
  /** Raw response body; replaces the JSON envelope (e.g. to send something that is not JSON). */
  body?: string;
  /** Milliseconds to wait before answering. */
  delayMs?: number;
  /** Never answer (the client must time out); the socket is closed when the server closes. */
  hang?: boolean;
  /** Model name in the answer (default: the requested model). */
  model?: string;
  /** Usage to report (any values, to script bad token counts); by default about one token per four characters. */
  usage?: Record<string, unknown>;
  /** Extra response headers, e.g. `{ 'retry-after': '2' }` on a 429. */
  headers?: Record<string, string>;
  /**
   * Send a chunked body of `chunks` chunks of `chunkBytes` spaces instead of an answer (default: no
   * end, until the client goes away), one chunk every `intervalMs` (default: as fast as the client
   * reads); `contentLength` declares the total length (finite streams only).
   */
  stream?: { chunkBytes?: number; chunks?: number; intervalMs?: number; contentLength?: boolean };
}

export interface FakeRequest {
  /** Parsed JSON body of the request (or null when it was not JSON). */
  body: { model?: string; messages?: { role: string; content: string }[]; [k: string]: unknown } | null;
  /** 0-based index of this request since the server started. */
  index: number;
  headers: IncomingMessage['headers'];
  path: string;
}

export type FakeResponder = (req: FakeRequest) => FakeReply | Promise<FakeReply>;

export interface FakeServer {
  /** Base URL to give the client, e.g. http://127.0.0.1:PORT/v1 */
  readonly url: string;
  readonly port: number;
  /** Every request received, in arrival order. */
  readonly requests: FakeRequest[];
  close(): Promise<void>;
}

function tokensOf(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Writes the scripted stream of `reply` with the client's flow control (never faster than it reads). */
function streamBody(res: ServerResponse, reply: FakeReply, timers: Set<NodeJS.Timeout>): void {
  const o = reply.stream!;
  const chunk = Buffer.alloc(o.chunkBytes ?? 65_536, 0x20);
  const chunks = o.chunks ?? Infinity;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(reply.headers ?? {}) };
  if (o.contentLength && Number.isFinite(chunks)) headers['content-length'] = String(chunks * chunk.length);
  res.writeHead(reply.status ?? 200, headers);
  let sent = 0;
  const pump = (): void => {
    while (!res.destroyed && sent < chunks) {
      sent++;
      const more = res.write(chunk);
      if (o.intervalMs && o.intervalMs > 0) {
        const t = setTimeout(() => {
          timers.delete(t);
          pump();
        }, o.intervalMs);
        timers.add(t);
        return;
      }
      if (!more) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

/** Starts the server on `port` (0 = any free port) of `host` (default 127.0.0.1). */
export async function startFakeOpenAI(responder: FakeResponder, opts: { port?: number; host?: string } = {}): Promise<FakeServer> {
  const requests: FakeRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let index = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = req.url ?? '/';
    const text = await readBody(req);
    if (req.method === 'GET' && path.endsWith('/models')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'scripted', object: 'model', owned_by: 'icrl-fake' }] }));
      return;
    }
    if (req.method !== 'POST' || !path.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${path}` } }));
      return;
    }
    let body: FakeRequest['body'] = null;
    try {
      body = JSON.parse(text) as FakeRequest['body'];
    } catch {
      body = null;
    }
    const fr: FakeRequest = { body, index: index++, headers: req.headers, path };
    requests.push(fr);
    let reply: FakeReply;
    try {
      reply = await responder(fr);
    } catch (e) {
      reply = { status: 500, body: JSON.stringify({ error: { message: `responder failed: ${(e as Error).message}` } }) };
    }
    if (reply.hang) return; // never answers; closed by close()
    if (reply.stream) {
      streamBody(res, reply, timers);
      return;
    }
    const send = (): void => {
      if (res.destroyed) return;
      const status = reply.status ?? 200;
      let out: string;
      if (reply.body !== undefined) out = reply.body;
      else if (status >= 200 && status < 300) {
        const content = reply.content ?? '';
        const promptChars = (body?.messages ?? []).reduce((s, m) => s + String(m.content ?? '').length, 0);
        out = JSON.stringify({
          id: `chatcmpl-fake-${fr.index}`,
          object: 'chat.completion',
          created: 0,
          model: reply.model ?? body?.model ?? 'scripted',
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: reply.usage ?? { prompt_tokens: tokensOf('x'.repeat(promptChars)), completion_tokens: tokensOf(content), total_tokens: 0 },
        });
      } else out = JSON.stringify({ error: { message: `scripted HTTP ${status}` } });
      res.writeHead(status, { 'content-type': 'application/json', ...(reply.headers ?? {}) });
      res.end(out);
    };
    if (reply.delayMs && reply.delayMs > 0) {
      const t = setTimeout(() => {
        timers.delete(t);
        send();
      }, reply.delayMs);
      timers.add(t);
    } else send();
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e.message));
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}/v1`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
