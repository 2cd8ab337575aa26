/**
 * Where align's host jobs run: a pool of worker threads (decoding and PNG
 * encoding then overlap the network on the main thread), or inline.
 */
import { Worker } from 'node:worker_threads';
import { FilmStore, type FinishRequest, type FinishResult, type PrepareRequest, type PrepareResult } from './align-jobs';

export type Prepared = PrepareResult & { worker: number };

export interface JobRunner {
  readonly threads: number;
  prepare(req: PrepareRequest): Promise<Prepared>;
  finish(worker: number, req: FinishRequest): Promise<FinishResult>;
  /** Forget a prepared film that will not be finished. */
  drop(worker: number, id: number): void;
  close(): Promise<void>;
}

export class InlineRunner implements JobRunner {
  readonly threads = 0;
  private readonly store = new FilmStore();
  async prepare(req: PrepareRequest): Promise<Prepared> { return { ...this.store.prepare(req), worker: 0 }; }
  async finish(_worker: number, req: FinishRequest): Promise<FinishResult> { return this.store.finish(req); }
  drop(_worker: number, id: number): void { this.store.drop(id); }
  async close(): Promise<void> {}
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (v: PrepareResult | FinishResult) => void; kind: 'prepare' | 'finish' }>;
  dead?: string;
}

export class WorkerPool implements JobRunner {
  private readonly slots: Slot[] = [];

  constructor(readonly threads: number) {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(new URL('./align-worker.mjs', import.meta.url));
      const slot: Slot = { worker, pending: new Map() };
      worker.on('message', (m: PrepareResult | FinishResult | { type: 'ready' }) => {
        if (m.type === 'ready') return;
        const p = slot.pending.get(m.id);
        if (!p) return;
        slot.pending.delete(m.id);
        p.resolve(m);
      });
      const fail = (why: string) => {
        slot.dead = why;
        for (const [id, p] of slot.pending) {
          const reason = `align worker stopped: ${why}`;
          p.resolve(p.kind === 'prepare' ? { type: 'prepared', id, ok: false, reason, ms: {} } : { type: 'finished', id, ok: false, reason, ms: {} });
        }
        slot.pending.clear();
      };
      worker.on('error', (e: Error) => fail(e.message));
      worker.on('exit', (code) => { if (slot.pending.size) fail(`exit code ${code}`); });
      this.slots.push(slot);
    }
  }

  /** The live worker with the fewest jobs in flight. */
  private pick(): number {
    let best = -1;
    for (let i = 0; i < this.slots.length; i++) {
      if (this.slots[i].dead) continue;
      if (best < 0 || this.slots[i].pending.size < this.slots[best].pending.size) best = i;
    }
    return best;
  }

  prepare(req: PrepareRequest): Promise<Prepared> {
    const i = this.pick();
    if (i < 0) return Promise.resolve({ type: 'prepared', id: req.id, ok: false, reason: 'no align worker is running', ms: {}, worker: -1 });
    const slot = this.slots[i];
    return new Promise((resolve) => {
      slot.pending.set(req.id, { resolve: (v) => resolve({ ...(v as PrepareResult), worker: i }), kind: 'prepare' });
      slot.worker.postMessage(req);
    });
  }

  finish(worker: number, req: FinishRequest): Promise<FinishResult> {
    const slot = this.slots[worker];
    if (!slot || slot.dead) return Promise.resolve({ type: 'finished', id: req.id, ok: false, reason: `align worker stopped: ${slot?.dead ?? 'unknown'}`, ms: {} });
    return new Promise((resolve) => {
      slot.pending.set(req.id, { resolve: (v) => resolve(v as FinishResult), kind: 'finish' });
      slot.worker.postMessage(req, req.full ? [req.full.data.buffer as ArrayBuffer] : []);
    });
  }

  drop(worker: number, id: number): void {
    const slot = this.slots[worker];
    if (slot && !slot.dead) slot.worker.postMessage({ type: 'drop', id });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
