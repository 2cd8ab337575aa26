/**
 * The worker side of the protocol, DOM-free so the in-process runner (Node
 * tests) runs exactly the code the Web Worker runs. Long calls are serialised
 * (two trainings, or an alignment racing a backend switch, would fight over
 * the same model); the IMMEDIATE methods, control messages above all, are
 * answered at once so a running job can be paused or cancelled.
 */
import { IMMEDIATE_METHODS, type Control, type FromWorker, type Method, type Progress, type Req, type Res, type ToWorker } from './protocol';

export type Post = (msg: FromWorker, transfer?: Transferable[]) => void;

/** What a running job checks between units of work. */
export class JobSignal {
  cancelled = false;
  stopped = false;
  paused = false;
  private wake: (() => void)[] = [];
  onState?: (state: 'running' | 'paused') => void;

  control(action: Control): void {
    if (action === 'pause') { this.paused = true; this.onState?.('paused'); return; }
    if (action === 'stop') this.stopped = true;
    if (action === 'cancel') this.cancelled = true;
    if (this.paused) { this.paused = false; this.onState?.('running'); }
    for (const w of this.wake.splice(0)) w();
  }

  /** True when the job should end now (stop or cancel). */
  get ending(): boolean { return this.cancelled || this.stopped; }

  /**
   * Let queued messages (control above all) be handled, then wait out a pause.
   * A macrotask, not a microtask: the worker only delivers messages between tasks.
   */
  async checkpoint(): Promise<void> {
    await new Promise<void>((r) => setTimeout(r, 0));
    while (this.paused && !this.ending) await new Promise<void>((r) => this.wake.push(r));
  }
}

export interface JobContext<E> {
  id: number;
  emit(event: E, transfer?: Transferable[]): void;
  signal: JobSignal;
}

export type Handlers = { [M in Method]: (params: Req<M>, ctx: JobContext<Progress<M>>) => Promise<Res<M>> };

const resultTransfers = new WeakMap<object, Transferable[]>();

/** Mark buffers of a result to be moved, not copied, to the page (large zips). */
export function withTransfer<T extends object>(value: T, transfer: Transferable[]): T {
  resultTransfers.set(value, transfer);
  return value;
}

export class Dispatcher {
  private readonly signals = new Map<number, JobSignal>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly handlers: Omit<Handlers, 'control'>, private readonly post: Post) {}

  receive(msg: ToWorker): void {
    if (msg.type !== 'call') return;
    if (msg.method === 'control') {
      const { target, action } = msg.params;
      const signal = this.signals.get(target);
      signal?.control(action);
      this.post({ type: 'result', id: msg.id, value: { found: !!signal } });
      return;
    }
    const signal = new JobSignal();
    this.signals.set(msg.id, signal);
    const run = () => this.run(msg, signal);
    if (IMMEDIATE_METHODS.has(msg.method)) void run();
    else this.queue = this.queue.then(run);
  }

  private async run(msg: ToWorker, signal: JobSignal): Promise<void> {
    const ctx: JobContext<unknown> = {
      id: msg.id,
      signal,
      emit: (event, transfer) => this.post({ type: 'progress', id: msg.id, event }, transfer),
    };
    try {
      // Cancelled while still queued: answer without starting.
      const handler = this.handlers[msg.method as Exclude<Method, 'control'>] as (p: unknown, c: JobContext<unknown>) => Promise<unknown>;
      const value = await handler(msg.params, ctx);
      const transfer = value && typeof value === 'object' ? resultTransfers.get(value) : undefined;
      this.post({ type: 'result', id: msg.id, value }, transfer);
    } catch (e) {
      this.post({ type: 'error', id: msg.id, message: errorMessage(e) });
    } finally {
      this.signals.delete(msg.id);
    }
  }
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return typeof e === 'string' ? e : JSON.stringify(e);
}
