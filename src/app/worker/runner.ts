/**
 * The page side of the protocol. Flows talk to a Runner, never to a Worker
 * directly, so the same flow code runs against the real worker in the browser
 * and against an in-process dispatcher in Node tests.
 */
import type { Control, FromWorker, Method, Progress, Req, Res, ToWorker } from './protocol';

export interface Job<T> {
  readonly id: number;
  readonly done: Promise<T>;
  control(action: Control): void;
}

export interface Runner {
  call<M extends Exclude<Method, 'control'>>(
    method: M, params: Req<M>, onProgress?: (event: Progress<M>) => void, transfer?: Transferable[],
  ): Job<Res<M>>;
  terminate(): void;
}

/** Anything that carries messages both ways: a Worker, or a direct in-process link. */
export interface Port {
  postMessage(msg: ToWorker, transfer?: Transferable[]): void;
  onmessage: ((msg: FromWorker) => void) | null;
  /** The other side died (worker crash, out of memory). */
  onfailure: ((reason: string) => void) | null;
  terminate(): void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  progress?: (e: unknown) => void;
}

export class PortRunner implements Runner {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failed: string | null = null;
  /** Called once if the worker dies (crash, out of memory): the page can say so instead of hanging. */
  onStopped: ((reason: string) => void) | null = null;

  constructor(private readonly port: Port) {
    port.onmessage = (msg) => this.receive(msg);
    port.onfailure = (reason) => this.fail(reason);
  }

  call<M extends Exclude<Method, 'control'>>(
    method: M, params: Req<M>, onProgress?: (event: Progress<M>) => void, transfer?: Transferable[],
  ): Job<Res<M>> {
    const id = this.nextId++;
    const done = new Promise<Res<M>>((resolve, reject) => {
      if (this.failed) { reject(new Error(this.failed)); return; }
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, progress: onProgress as ((e: unknown) => void) | undefined });
    });
    if (!this.failed) this.port.postMessage({ type: 'call', id, method, params } as ToWorker, transfer);
    return {
      id,
      done,
      control: (action) => {
        if (this.failed || !this.pending.has(id)) return;
        this.port.postMessage({ type: 'call', id: this.nextId++, method: 'control', params: { target: id, action } });
      },
    };
  }

  private receive(msg: FromWorker): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress') { p.progress?.(msg.event); return; }
    this.pending.delete(msg.id);
    if (msg.type === 'result') p.resolve(msg.value);
    else p.reject(new Error(msg.message));
  }

  private fail(reason: string): void {
    if (this.failed) return;
    this.failed = `the engine worker stopped: ${reason}`;
    this.onStopped?.(this.failed);
    for (const p of this.pending.values()) p.reject(new Error(this.failed));
    this.pending.clear();
  }

  terminate(): void {
    this.port.terminate();
    this.fail('terminated');
  }
}

/** A Port over a dedicated Web Worker. */
export function workerPort(worker: Worker): Port {
  const port: Port = {
    postMessage: (msg, transfer) => worker.postMessage(msg, transfer ?? []),
    onmessage: null,
    onfailure: null,
    terminate: () => worker.terminate(),
  };
  worker.onmessage = (e: MessageEvent<FromWorker>) => port.onmessage?.(e.data);
  worker.onerror = (e: ErrorEvent) => port.onfailure?.(e.message || 'worker error (see the browser console)');
  worker.onmessageerror = () => port.onfailure?.('a message could not be decoded');
  return port;
}
