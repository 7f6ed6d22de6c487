/**
 * On-disk cache of LLM responses, one small JSON file per request under `<dir>/<first two hex
 * digits>/<key>.json`, written atomically (temp file + rename) so that a run killed mid-write leaves
 * either the whole entry or none. A rerun with the same requests replays the same answers.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic.js';
import { canonicalJson } from '../json.js';

export { canonicalJson } from '../json.js';
import type { ChatUsage, LlmFailureReason } from './types.js';

export interface CachedResponse {
  content: string;
  model: string;
  usage: ChatUsage;
  /** The request body that produced this answer (for inspection). */
  request: Record<string, unknown>;
  time: string;
  /** Set when the request failed after all retries and failures are cached (cacheFailures). */
  failure?: { reason: LlmFailureReason; message: string; status?: number };
}


/** SHA-256 (hex) of the canonical JSON of a request body. */
export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}



const tokenCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export class ResponseCache {
  constructor(readonly dir: string) {}

  path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** The cached answer, or null on a miss; an unreadable entry counts as a miss (it is rewritten). */
  get(key: string): CachedResponse | null {
    const p = this.path(key);
    if (!existsSync(p)) return null;
    try {
      const e = JSON.parse(readFileSync(p, 'utf8')) as CachedResponse;
      if (typeof e.content !== 'string' || !e.usage || !tokenCount(e.usage.promptTokens) || !tokenCount(e.usage.completionTokens)) return null;
      return e;
    } catch {
      return null;
    }
  }

  put(key: string, entry: CachedResponse): void {
    writeFileAtomic(this.path(key), JSON.stringify(entry));
  }
}
