/**
 * The running-job registry: which long jobs are in flight, so one flow can
 * cancel another (training cancels the alignment) or wait for it to end
 * (an invalidation awaits the cancelled alignment before starting the next).
 * A job is registered by the flow that calls it and stays until that flow
 * has applied its outcome to the store (`end()`, in a finally), so waiting
 * on `ended` means "its results have landed", not only "the worker answered".
 */
import type { Control } from '../worker/protocol';
import type { Job } from './context';

export type JobKind = 'load' | 'align' | 'doubts' | 'train' | 'export';

export interface Running<T> {
  readonly job: Job<T>;
  /** Resolves once `end()` has been called. */
  readonly ended: Promise<void>;
  end(): void;
}

export class Jobs {
  private readonly live = new Map<JobKind, Set<Running<unknown>>>();
  private readonly counters = new Map<'film' | 'view', number>();
  /** Films asked for while an alignment runs: aligned together once it ends (flows/align.ts). */
  readonly alignNext = new Set<string>();

  /** Register a job from its call until the flow that started it calls `end()`. */
  begin<T>(kind: JobKind, job: Job<T>): Running<T> {
    let resolve!: () => void;
    const ended = new Promise<void>((r) => { resolve = r; });
    const set = this.live.get(kind) ?? new Set();
    this.live.set(kind, set);
    const running: Running<T> = { job, ended, end: () => { set.delete(running as Running<unknown>); resolve(); } };
    set.add(running as Running<unknown>);
    return running;
  }

  has(kind: JobKind): boolean { return this.count(kind) > 0; }

  count(kind: JobKind): number { return this.live.get(kind)?.size ?? 0; }

  /** Pause, resume, stop or cancel every job of this kind in flight. */
  control(kind: JobKind, action: Control): void {
    for (const r of this.live.get(kind) ?? []) r.job.control(action);
  }

  /** Resolves once every job of this kind in flight now has ended (their own promises: no polling). */
  async ended(kind: JobKind): Promise<void> {
    await Promise.all([...(this.live.get(kind) ?? [])].map((r) => r.ended));
  }

  /** The next number of a per-workbench sequence (film ids, compare-view requests). */
  next(counter: 'film' | 'view'): number {
    const n = (this.counters.get(counter) ?? 0) + 1;
    this.counters.set(counter, n);
    return n;
  }

  /** The sequence's last number handed out. */
  last(counter: 'film' | 'view'): number { return this.counters.get(counter) ?? 0; }
}
