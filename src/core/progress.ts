/**
 * Progress reporting for long work: a redrawn bar with rate and ETA on a terminal, plain lines
 * (at most one every few seconds) when stderr is not a TTY, e.g. in CI. Silent when disabled.
 */
export interface ProgressOptions {
  /** What is being counted, e.g. "tasks" or "steps". */
  unit?: string;
  /** Stream to write to (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Minimum milliseconds between plain-line updates (default 5000). */
  lineIntervalMs?: number;
  /** Disable output entirely (tests, library use). */
  silent?: boolean;
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${Math.floor(s % 60).toString().padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60).toString().padStart(2, '0')}m`;
}

function fmtRate(r: number): string {
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)}M`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)}k`;
  return r.toFixed(r >= 10 ? 0 : 2);
}

export class Progress {
  private done = 0;
  private readonly start = Date.now();
  private lastDraw = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly unit: string;
  private readonly interval: number;
  private readonly silent: boolean;
  private finished = false;

  constructor(
    readonly label: string,
    readonly total: number,
    opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY) && !process.env.CI;
    this.unit = opts.unit ?? 'items';
    this.interval = opts.lineIntervalMs ?? 5000;
    this.silent = opts.silent ?? false;
  }

  /** Advances by `n` (default 1). */
  tick(n = 1, note?: string): void {
    this.update(this.done + n, note);
  }

  /** Sets the absolute count. */
  update(done: number, note?: string): void {
    this.done = done;
    if (this.silent) return;
    const now = Date.now();
    const due = this.tty ? now - this.lastDraw >= 100 : now - this.lastDraw >= this.interval;
    if (due || done >= this.total) this.draw(now, note);
  }

  private draw(now: number, note?: string): void {
    this.lastDraw = now;
    const elapsed = (now - this.start) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    const eta = rate > 0 ? (this.total - this.done) / rate : Infinity;
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const pct = (frac * 100).toFixed(1).padStart(5);
    const tail = `${this.done}/${this.total} ${this.unit} ${fmtRate(rate)}/s ETA ${fmtDuration(eta)}${note ? ` ${note}` : ''}`;
    if (this.tty) {
      const width = 24;
      const full = Math.round(frac * width);
      this.stream.write(`\r${this.label} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${pct}% ${tail}\x1b[K`);
    } else {
      this.stream.write(`${this.label}: ${pct}% ${tail}\n`);
    }
  }

  /** Draws the final state and ends the line. */
  finish(note?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.silent) return;
    this.draw(Date.now(), note);
    if (this.tty) this.stream.write('\n');
  }
}
