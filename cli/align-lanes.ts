/**
 * The network lanes of `align`. Lane 0 is the main thread's model; lanes
 * 1…n are copies of it in worker threads (align-network.ts). A lane takes the
 * next batch when it is free — a worker once its model has loaded — at most
 * `depth` batches ahead of the one being written. Every lane runs the
 * engine's align stages 1–3 (alignMatrices) on the batch's encoder inputs,
 * and the films beside them with --refine.
 */
import { alignMatrices, type AffineMatrix, type ContentCrop, type AlignmentModel, type GrayImage, type RefineSettings } from '../src/engine/index';
import { networkRequest } from './align-network';
import { WorkerPool, type Prepared } from './align-pool';
import type { BackendChoice } from './backend';

export type ReadyFilm = Prepared & { ok: true };

/** A batch as the network takes it. */
export interface NetworkBatch {
  locs: Float32Array[];
  /** Where each input's view lies on its film. */
  crops: ContentCrop[];
  /** The decoded films, with --refine only. */
  films?: GrayImage[];
}

export interface Predicted { ok: ReadyFilm[]; matrices: AffineMatrix[]; reason?: string }

/** `retire`: the lane stops after this batch (its worker failed; the main thread's model did the batch). */
export type Predict = (batch: NetworkBatch, k: number) => Promise<{ matrices: AffineMatrix[]; ms: number; reason?: string; retire?: boolean }>;

export interface LaneOptions {
  batches: number;
  depth: number;
  /** Batch k's films once prepared (those that failed are reported by the callee). */
  prepared(k: number): Promise<ReadyFilm[]>;
  /** --refine: the network needs the decoded films too. */
  withFilms: boolean;
  /** A batch's network time. */
  spent(ms: number): void;
}

export class NetworkLanes {
  private next = 0;
  private written = 0;
  private stopping = false;
  private readonly waiting: (() => void)[] = [];
  private readonly running: Promise<void>[] = [];
  private readonly results: { promise: Promise<Predicted>; resolve: (p: Predicted) => void }[];

  constructor(private readonly o: LaneOptions) {
    this.results = Array.from({ length: o.batches }, () => {
      let resolve!: (p: Predicted) => void;
      const promise = new Promise<Predicted>((r) => { resolve = r; });
      return { promise, resolve };
    });
  }

  /** Batch k's matrices, from whichever lane took it. */
  batch(k: number): Promise<Predicted> { return this.results[k].promise; }

  /** Batches up to k are written: the lanes may go further. */
  writtenUpTo(k: number): void {
    this.written = k + 1;
    this.wake();
  }

  add(predict: Predict): void { this.running.push(this.lane(predict)); }

  /** A lane that starts once `ready` gives it its predict function (undefined: it never starts). */
  addWhenReady(ready: Promise<Predict | undefined>): void {
    this.running.push(ready.then((p) => (p ? this.lane(p) : undefined)));
  }

  /** Lanes finish the batch in hand (an interrupted run), then end. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await Promise.allSettled(this.running);
  }

  private wake(): void { for (const w of this.waiting.splice(0)) w(); }

  private async lane(predict: Predict): Promise<void> {
    for (;;) {
      // Back to the event loop between batches: the main thread's network resolves through microtasks
      // only, and would otherwise starve the workers' messages (a loaded model, Ctrl-C, the progress bar).
      await new Promise<void>((r) => setImmediate(r));
      while (!this.stopping && this.next < this.o.batches && this.next >= this.written + this.o.depth) await new Promise<void>((w) => this.waiting.push(w));
      if (this.stopping || this.next >= this.o.batches) return;
      const k = this.next++;
      const r = await this.predictBatch(k, predict);
      this.results[k].resolve(r);
      if (r.retire) return;
    }
  }

  private async predictBatch(k: number, predict: Predict): Promise<Predicted & { retire?: boolean }> {
    const ok = await this.o.prepared(k);
    if (ok.length === 0) return { ok, matrices: [] };
    const batch: NetworkBatch = {
      locs: ok.map((r) => r.loc),
      crops: ok.map((r) => r.crop),
      films: this.o.withFilms ? ok.map((r) => ({ width: r.width, height: r.height, data: r.full! })) : undefined,
    };
    const r = await predict(batch, k);
    this.o.spent(r.ms);
    return { ok, matrices: r.matrices, reason: r.reason, retire: r.retire };
  }
}

/** Lane 0: the main thread's model. */
export function mainLane(model: AlignmentModel, batchSize: number, refine: RefineSettings | undefined): Predict {
  return async ({ locs, crops, films }) => {
    const t = performance.now();
    try {
      const { matrices } = await alignMatrices(model, locs, { films, refine, batchSize, crops });
      return { matrices, ms: performance.now() - t };
    } catch (e) {
      return { matrices: [], ms: performance.now() - t, reason: `the network failed: ${(e as Error).message}` };
    }
  };
}

/**
 * Lanes 1…count: worker threads, each with its own copy of `model`. One that
 * cannot load the model leaves the batches to the others; one that fails a
 * batch hands it to the main thread's lane and retires.
 */
export async function addWorkerLanes(
  lanes: NetworkLanes, count: number,
  o: { model: AlignmentModel; backend: BackendChoice; refine: RefineSettings | undefined; batchSize: number; main: Predict; notice: (m: string) => void },
): Promise<WorkerPool | undefined> {
  if (count <= 0) return undefined;
  const pool = new WorkerPool(count);
  const request = await networkRequest(o.model, o.backend, o.refine);
  for (let w = 0; w < count; w++) {
    lanes.addWhenReady(pool.loadNetwork(w, request).then((loaded): Predict | undefined => {
      if (!loaded.ok) { o.notice(`notice: a network worker could not load the model (${loaded.reason}); going on without it`); return undefined; }
      return async (batch, k) => {
        const r = await pool.predict(w, { id: k, locs: batch.locs, crops: batch.crops, films: batch.films, batch: o.batchSize });
        if (r.ok) return { matrices: r.matrices, ms: r.ms };
        o.notice(`notice: a network worker failed (${r.reason}); the main thread takes its batches`);
        return { ...await o.main(batch, k), retire: true };
      };
    }));
  }
  return pool;
}
