/**
 * Where align's host jobs run: a pool of worker threads (decoding and PNG
 * encoding then overlap the network on the main thread), or inline.
 */
import { Worker } from 'node:worker_threads';
import { FilmStore, type FinishRequest, type FinishResult, type PrepareRequest, type PrepareResult } from './align-jobs';
import type { LoadNetworkRequest, NetworkResult, PredictRequest } from './align-network';

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

type Result = PrepareResult | FinishResult | NetworkResult;
type JobKind = 'prepare' | 'finish' | 'network';

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (v: Result) => void; kind: JobKind }>;
  dead?: string;
}

function failed(kind: JobKind, id: number, reason: string): Result {
  if (kind === 'prepare') return { type: 'prepared', id, ok: false, reason, ms: {} };
  if (kind === 'finish') return { type: 'finished', id, ok: false, reason, ms: {} };
  return { type: 'network', id, ok: false, reason, ms: 0 };
}

export class WorkerPool implements JobRunner {
  private readonly slots: Slot[] = [];

  constructor(readonly threads: number) {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(new URL('./align-worker.mjs', import.meta.url));
      const slot: Slot = { worker, pending: new Map() };
      worker.on('message', (m: Result | { type: 'ready' }) => {
        if (m.type === 'ready') return;
        const p = slot.pending.get(m.id);
        if (!p) return;
        slot.pending.delete(m.id);
        p.resolve(m);
      });
      const fail = (why: string) => {
        slot.dead = why;
        for (const [id, p] of slot.pending) p.resolve(failed(p.kind, id, `align worker stopped: ${why}`));
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
    return this.call(i, req.id, req, 'prepare').then((v) => ({ ...(v as PrepareResult), worker: i }));
  }

  finish(worker: number, req: FinishRequest): Promise<FinishResult> {
    return this.call(worker, req.id, req, 'finish', req.full ? [req.full.data.buffer as ArrayBuffer] : []) as Promise<FinishResult>;
  }

  /** Give a worker its own copy of the model (network workers: see align-network.ts). */
  loadNetwork(worker: number, req: LoadNetworkRequest): Promise<NetworkResult> {
    return this.call(worker, -1, req, 'network') as Promise<NetworkResult>;
  }

  predict(worker: number, req: PredictRequest): Promise<NetworkResult> {
    return this.call(worker, req.id, req, 'network') as Promise<NetworkResult>;
  }

  /** Post a job to a worker; a stopped worker answers with the job's failure. */
  private call(worker: number, id: number, msg: object, kind: JobKind, transfer: ArrayBuffer[] = []): Promise<Result> {
    const slot = this.slots[worker];
    if (!slot || slot.dead) return Promise.resolve(failed(kind, id, `align worker stopped: ${slot?.dead ?? 'unknown'}`));
    return new Promise((resolve) => {
      slot.pending.set(id, { resolve, kind });
      slot.worker.postMessage(msg, transfer);
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
