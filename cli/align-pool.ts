/**
 * Where align's host jobs run: a pool of worker threads (decoding and PNG
 * encoding then overlap the network on the main thread), or inline. Each
 * worker thread is a PortRunner of the project's RPC layer (src/rpc) over the
 * AlignWorkerApi (align-api.ts); a worker that dies answers its jobs, and
 * every later one, as failures naming why.
 */
import { Worker } from 'node:worker_threads';
import { errorMessage, PortRunner, type MethodOf, type ReqOf, type ResOf, type Transfer } from '../src/rpc/index';
import { nodeWorkerPort } from '../src/rpc/node-port';
import type { AlignWorkerApi, FinishRequest, FinishResult, LoadNetworkRequest, NetworkResult, PredictRequest, PrepareRequest, PrepareResult } from './align-api';
import { FilmStore } from './align-jobs';

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

type Method = MethodOf<AlignWorkerApi>;

export class WorkerPool implements JobRunner {
  private readonly workers: PortRunner<AlignWorkerApi>[] = [];

  constructor(readonly threads: number) {
    for (let i = 0; i < threads; i++) {
      const thread = new Worker(new URL('./align-worker.mjs', import.meta.url));
      this.workers.push(new PortRunner<AlignWorkerApi>(nodeWorkerPort(thread), { name: 'align worker' }));
    }
  }

  /** The live worker with the fewest jobs in flight. */
  private pick(): number {
    let best = -1;
    for (let i = 0; i < this.workers.length; i++) {
      if (this.workers[i].stopped) continue;
      if (best < 0 || this.workers[i].inFlight < this.workers[best].inFlight) best = i;
    }
    return best;
  }

  prepare(req: PrepareRequest): Promise<Prepared> {
    const i = this.pick();
    if (i < 0) return Promise.resolve({ id: req.id, ok: false, reason: 'no align worker is running', ms: {}, worker: -1 });
    return this.ask(i, 'prepare', req, (reason) => ({ id: req.id, ok: false, reason, ms: {} })).then((v) => ({ ...v, worker: i }));
  }

  finish(worker: number, req: FinishRequest): Promise<FinishResult> {
    // The film (with --refine) goes back to the worker that decoded it: moved, not copied.
    const transfer = req.full ? [req.full.data.buffer as ArrayBuffer] : undefined;
    return this.ask(worker, 'finish', req, (reason) => ({ id: req.id, ok: false, reason, ms: {} }), transfer);
  }

  /** Give a worker its own copy of the model (network workers: see align-network.ts). */
  loadNetwork(worker: number, req: LoadNetworkRequest): Promise<NetworkResult> {
    return this.ask(worker, 'loadNetwork', req, (reason) => ({ id: -1, ok: false, reason, ms: 0 }));
  }

  predict(worker: number, req: PredictRequest): Promise<NetworkResult> {
    return this.ask(worker, 'predict', req, (reason) => ({ id: req.id, ok: false, reason, ms: 0 }));
  }

  drop(worker: number, id: number): void {
    const w = this.workers[worker];
    if (w && !w.stopped) w.call('drop', { id }).done.catch(() => {});
  }

  /** A job on one worker; a stopped worker (or a job it could not take) answers with the job's failure. */
  private ask<M extends Method>(
    worker: number, method: M, req: ReqOf<AlignWorkerApi, M>, failed: (reason: string) => ResOf<AlignWorkerApi, M>, transfer?: Transfer[],
  ): Promise<ResOf<AlignWorkerApi, M>> {
    const w = this.workers[worker];
    if (!w) return Promise.resolve(failed('align worker stopped: unknown'));
    return w.call(method, req, undefined, transfer).done.catch((e: unknown) => failed(errorMessage(e)));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
