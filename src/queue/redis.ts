/**
 * Where the queue is: a Redis URL (`redis://[user:password@]host:port[/db]`, or `rediss://` for
 * TLS) from `--queue` or `ICRL_REDIS_URL`. The URL is checked here and never printed as given: every
 * message, log line and results file shows {@link maskRedisUrl}'s form, with the password replaced.
 */
import { IcrlError } from '../core/errors.js';

/** A Redis URL that cannot be used (bad scheme, no host, bad port or database). */
export class RedisUrlError extends IcrlError {
  constructor(message: string) {
    super(message, 'REDIS_URL');
  }
}

export interface RedisTarget {
  /** The URL as given (holds the password: never print it). */
  url: string;
  /** The URL with its password replaced by `***` (safe to print and write). */
  masked: string;
  tls: boolean;
  host: string;
  port: number;
  db: number;
}

/** The URL with the password (and a user-only credential) replaced by `***`; unparsable text is masked whole. */
export function maskRedisUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '<redis url>';
  }
  if (u.password) u.password = '***';
  else if (u.username) u.username = '***';
  return u.toString();
}

/** Replaces every occurrence of the URL and its password in `text` (error messages of the client). */
export function scrubSecrets(text: string, target: Pick<RedisTarget, 'url' | 'masked'>): string {
  let out = text.split(target.url).join(target.masked);
  try {
    const p = decodeURIComponent(new URL(target.url).password);
    if (p.length >= 3) out = out.split(p).join('***');
  } catch {
    // not a URL: nothing more to scrub
  }
  return out;
}

/** Checks a Redis URL (`redis://` or `rediss://`); errors show the masked form only. */
export function parseRedisUrl(url: string, source = '--queue'): RedisTarget {
  const masked = maskRedisUrl(url);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisUrlError(`${source}: not a URL (expected redis://host:port or rediss://host:port for TLS)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new RedisUrlError(`${source}: ${masked}: the scheme must be redis:// or rediss:// (TLS)`);
  if (!u.hostname) throw new RedisUrlError(`${source}: ${masked}: no host`);
  const port = u.port === '' ? 6379 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RedisUrlError(`${source}: ${masked}: bad port "${u.port}"`);
  const path = u.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) throw new RedisUrlError(`${source}: ${masked}: the path must be a database number, got "/${path}"`);
  return { url, masked, tls: u.protocol === 'rediss:', host: u.hostname, port, db };
}

/** The queue's URL: the flag, else ICRL_REDIS_URL, else null (run locally). */
export function queueUrlFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): RedisTarget | null {
  if (flag !== undefined && flag !== '') return parseRedisUrl(flag, '--queue');
  const e = env.ICRL_REDIS_URL;
  if (e !== undefined && e !== '') return parseRedisUrl(e, 'ICRL_REDIS_URL');
  return null;
}

/** Connection options for BullMQ (ioredis): the URL, plus what workers need (no retry limit per request). */
export function connectionOptions(t: RedisTarget): { url: string; maxRetriesPerRequest: null; tls?: Record<string, never> } {
  return { url: t.url, maxRetriesPerRequest: null, ...(t.tls ? { tls: {} } : {}) };
}
