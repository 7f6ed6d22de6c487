import { rngBackend, setRngBackend, type RngBackend } from '../../src/core/rng.js';

/** Runs `f` with the RNG's block generator set to `b`, restoring the previous one afterwards. */
export function withBackend<T>(b: RngBackend, f: () => T): T {
  const before = rngBackend();
  setRngBackend(b);
  try {
    return f();
  } finally {
    setRngBackend(before);
  }
}
