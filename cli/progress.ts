/**
 * Progress reporting on stderr. On a terminal one line is redrawn in place
 * (at most ~8 times a second); when stderr is a file or a pipe (CI logs,
 * `2> log`) a plain line is written every few seconds instead, so logs stay
 * readable.
 */

export interface ProgressSink {
  isTTY: boolean;
  columns?: number;
  write(text: string): void;
}

export function stderrSink(): ProgressSink {
  return {
    isTTY: !!process.stderr.isTTY,
    get columns() { return process.stderr.columns; },
    write: (t: string) => { process.stderr.write(t); },
  };
}

/** A sink that drops everything (tests, --quiet). */
export const silentSink: ProgressSink = { isTTY: false, write: () => {} };

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(h > 0 ? 2 : 1, '0');
  return h > 0 ? `${h}:${mm}:${String(sec).padStart(2, '0')}` : `${mm}:${String(sec).padStart(2, '0')}`;
}

/** A line redrawn in place on a terminal, or logged periodically elsewhere. */
export class StatusLine {
  private lastDraw = 0;
  private lastLog = 0;
  private drawn = false;
  private lastText = '';

  constructor(private readonly sink: ProgressSink = stderrSink(), private readonly logEveryMs = 5000) {}

  update(text: string, force = false): void {
    const now = performance.now();
    if (this.sink.isTTY) {
      if (!force && now - this.lastDraw < 120) return;
      this.lastDraw = now;
      const cols = this.sink.columns ?? 120;
      const line = text.length > cols - 1 ? `${text.slice(0, cols - 2)}…` : text;
      this.sink.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else if ((force && text !== this.lastText) || (!force && now - this.lastLog >= this.logEveryMs)) {
      this.lastLog = now;
      this.lastText = text;
      this.sink.write(`${text}\n`);
    }
  }

  /** Print a message above the status line (which is redrawn on the next update). */
  message(text: string): void {
    if (this.sink.isTTY && this.drawn) this.sink.write('\r\x1b[2K');
    this.sink.write(`${text}\n`);
    this.drawn = false;
    this.lastDraw = 0;
  }

  /** Leave the last status on screen and move to a new line. */
  done(text?: string): void {
    if (text !== undefined) this.update(text, true);
    if (this.sink.isTTY && this.drawn) this.sink.write('\n');
    this.drawn = false;
  }
}

/** Items/s and ETA over a sliding window, so the rate follows the current speed. */
export class RateMeter {
  private readonly samples: { t: number; n: number }[] = [];
  readonly start = performance.now();

  constructor(private readonly windowMs = 20_000) {}

  mark(done: number): void {
    const t = performance.now();
    this.samples.push({ t, n: done });
    while (this.samples.length > 2 && t - this.samples[0].t > this.windowMs) this.samples.shift();
  }

  /** Items per second (0 until two marks exist). */
  rate(): number {
    if (this.samples.length < 2) return 0;
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    return b.t > a.t ? ((b.n - a.n) * 1000) / (b.t - a.t) : 0;
  }

  eta(remaining: number): number {
    const r = this.rate();
    return r > 0 ? remaining / r : Number.NaN;
  }

  elapsedSeconds(): number {
    return (performance.now() - this.start) / 1000;
  }
}

/** A bar for a known number of items: `[#####·····] 120/500  24.1 img/s  ETA 0:16  2 failed`. */
export class ProgressBar {
  private readonly line: StatusLine;
  private readonly meter = new RateMeter();
  done = 0;
  failed = 0;

  constructor(readonly total: number, private readonly unit = 'img', sink: ProgressSink = stderrSink()) {
    this.line = new StatusLine(sink);
    this.meter.mark(0);
  }

  /** `n` items finished, `failed` more given up on (both count toward the total). */
  tick(n = 1, failed = 0): void {
    this.done += n + failed;
    this.failed += failed;
    this.meter.mark(this.done);
    this.line.update(this.text(), this.done === this.total);
  }

  message(text: string): void { this.line.message(text); }

  text(): string {
    const width = 24;
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const filled = Math.round(frac * width);
    const rate = this.meter.rate();
    const parts = [
      `[${'#'.repeat(filled)}${'·'.repeat(width - filled)}]`,
      `${this.done}/${this.total}`,
      `${rate.toFixed(rate < 10 ? 2 : 1)} ${this.unit}/s`,
      `ETA ${formatDuration(this.meter.eta(this.total - this.done))}`,
    ];
    if (this.failed) parts.push(`${this.failed} failed`);
    return parts.join('  ');
  }

  finish(): void { this.line.done(this.text()); }

  elapsedSeconds(): number { return this.meter.elapsedSeconds(); }
}
