/**
 * The host side of `align` around the network: films are prepared (read,
 * decoded, shrunk for the encoder) a few batches ahead, and once their
 * matrices are known they are finished (warped, encoded, written) and
 * journaled, with the writes in flight bounded to about two batches.
 * The jobs themselves run on a JobRunner (align-pool.ts).
 */
import { join } from 'node:path';
import { isFiniteMatrix, matrixToParams, type InputCrop, type Size } from '../src/engine/index';
import type { ReadyFilm, Predicted } from './align-lanes';
import type { JobRunner, Prepared } from './align-pool';
import type { Work } from './align-setup';
import type { DoneLine, FailedLine, JournalWriter } from './journal';
import type { ProgressBar } from './progress';

export interface FilmJobsOptions {
  runner: JobRunner;
  work: readonly Work[];
  batchSize: number;
  locSize: number;
  inputCrop: InputCrop;
  /** --refine: the decoded films travel to the main thread and back. */
  sendFull: boolean;
  out: string;
  frame: Size | 'original';
  bitDepth: 8 | 16 | 'auto';
  done: Map<number, DoneLine>;
  failedAt: Map<number, FailedLine>;
  journal: JournalWriter;
  bar: ProgressBar;
  /** Milliseconds per stage, summed over the run; `wait` is main-thread idle time. */
  stageMs: Record<string, number>;
}

export class FilmJobs {
  /** Aligned by this run. */
  aligned = 0;
  /** When the first batch was written, and its films (the steady throughput excludes them). */
  steadyFrom = 0;
  firstBatch = 0;
  private readonly dispatched: Promise<Prepared>[][] = [];
  private finishing: Promise<void>[] = [];

  constructor(private readonly o: FilmJobsOptions) {}

  /** Start preparing batch k (once). */
  dispatch(k: number): void {
    const { batchSize: B, work } = this.o;
    if (k * B >= work.length || this.dispatched[k]) return;
    this.dispatched[k] = work.slice(k * B, (k + 1) * B).map((f, i) => this.o.runner.prepare({
      id: k * B + i, path: f.path, key: f.key, locSize: this.o.locSize, inputCrop: this.o.inputCrop, sendFull: this.o.sendFull,
    }));
  }

  /** Batch k's films once prepared; those that could not be are failed here. */
  async prepared(k: number): Promise<ReadyFilm[]> {
    this.dispatch(k);
    const ws = performance.now();
    const prepared = await Promise.all(this.dispatched[k]);
    this.o.stageMs.wait += performance.now() - ws;
    const ok: ReadyFilm[] = [];
    for (const r of prepared) {
      this.addMs(r.ms);
      if (r.ok) ok.push(r);
      else { this.fail(this.o.work[r.id], r.reason); this.o.bar.tick(0, 1); }
    }
    return ok;
  }

  /** Batch k is in the network's hands: its prepared results are no longer needed here. */
  forget(k: number): void { this.dispatched[k] = []; }

  /** Finish a predicted batch: one write job per film, journaled once its PNG is in place. */
  async write(k: number, { ok, matrices, reason }: Predicted): Promise<void> {
    if (ok.length === 0) return;
    if (k === 0) { this.steadyFrom = performance.now(); this.firstBatch = ok.length; }
    if (this.finishing.length > 2 * this.o.batchSize) await this.drain();
    ok.forEach((r, i) => {
      const f = this.o.work[r.id];
      const matrix = matrices[i];
      if (reason || !matrix || !isFiniteMatrix(matrix)) {
        this.fail(f, reason ?? 'the model predicted a non-finite transform');
        this.o.bar.tick(0, 1);
        this.o.runner.drop(r.worker, r.id);
        return;
      }
      this.finishing.push(this.finish(f, r, matrix));
    });
  }

  /** Wait out the writes in flight. */
  async drain(): Promise<void> {
    const fs = performance.now();
    await Promise.all(this.finishing);
    this.o.stageMs.wait += performance.now() - fs;
    this.finishing = [];
  }

  fail(f: Work, reason: string): void {
    const line: FailedLine = { type: 'failed', i: f.i, key: f.key, reason };
    this.o.failedAt.set(f.i, line);
    this.o.journal.failed(line);
    this.o.bar.message(`error: ${f.key}: ${reason}`);
  }

  private async finish(f: Work, r: ReadyFilm, matrix: DoneLine['matrix']): Promise<void> {
    const { frame } = this.o;
    const p = matrixToParams(matrix);
    const size = frame === 'original' ? { width: r.width, height: r.height } : frame;
    const fr = await this.o.runner.finish(r.worker, {
      id: r.id, matrix, frame: frame === 'original' ? null : frame, outPath: join(this.o.out, f.outRel),
      bitDepth: this.o.bitDepth, full: r.full ? { data: r.full, width: r.width, height: r.height, bitDepth: r.bitDepth } : undefined,
    });
    this.addMs(fr.ms);
    if (fr.ok) {
      // Journaled only now that the PNG is in place under its final name.
      const line: DoneLine = { type: 'done', i: f.i, key: f.key, out: f.outRel, sha256: fr.sha256, matrix, params: p, size: [size.width, size.height] };
      this.o.done.set(f.i, line);
      this.o.journal.done(line);
      this.aligned++;
      this.o.bar.tick(1);
    } else {
      this.fail(f, fr.reason);
      this.o.bar.tick(0, 1);
    }
  }

  private addMs(ms: Record<string, number>): void {
    for (const [k, v] of Object.entries(ms)) this.o.stageMs[k] = (this.o.stageMs[k] ?? 0) + v;
  }
}
