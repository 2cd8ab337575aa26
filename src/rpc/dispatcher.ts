/**
 * The callee side: routes `call`s to handlers and `control`s to the signals
 * of running calls. Long calls are serialised (two trainings, or an alignment
 * racing a backend switch, would fight over one model); the methods named
 * `immediate` run at once, even while a long call is in progress, and so do
 * controls, which are their own message kind, not a method.
 */
import {
  errorMessage, host,
  type ApiOf, type CallMessage, type Control, type FromCallee, type MethodOf, type ProgressOf, type ReqOf, type ResOf, type ToCallee, type Transfer,
} from './messages';

export { errorMessage };

export type Post = (msg: FromCallee, transfer?: Transfer[]) => void;

/** What a running call checks between units of work. */
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

  /** True when the call should end now (stop or cancel). */
  get ending(): boolean { return this.cancelled || this.stopped; }

  /**
   * Let queued messages (controls above all) be handled, then wait out a pause.
   * A macrotask, not a microtask: a worker only delivers messages between tasks.
   */
  async checkpoint(): Promise<void> {
    await new Promise<void>((r) => { host.setTimeout(r, 0); });
    while (this.paused && !this.ending) await new Promise<void>((r) => this.wake.push(r));
  }
}

export interface JobContext<E> {
  id: number;
  emit(event: E, transfer?: Transfer[]): void;
  signal: JobSignal;
}

export type Handler<A extends ApiOf<A>, M extends keyof A> = (params: ReqOf<A, M>, ctx: JobContext<ProgressOf<A, M>>) => Promise<ResOf<A, M>>;

export type Handlers<A extends ApiOf<A>> = { [M in MethodOf<A>]: Handler<A, M> };

const resultTransfers = new WeakMap<object, Transfer[]>();

/** Mark buffers of a result to be moved, not copied, to the caller (large zips, decoded films). */
export function withTransfer<T extends object>(value: T, transfer: Transfer[]): T {
  resultTransfers.set(value, transfer);
  return value;
}

export interface DispatcherOptions<A> {
  /** Methods answered at once instead of queueing behind the long calls (reads, quick or synchronous jobs). */
  immediate?: Iterable<MethodOf<A>>;
}

export class Dispatcher<A extends ApiOf<A>> {
  private readonly signals = new Map<number, JobSignal>();
  private readonly immediate: ReadonlySet<string>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly handlers: Handlers<A>, private readonly post: Post, options: DispatcherOptions<A> = {}) {
    this.immediate = new Set<string>(options.immediate ?? []);
  }

  receive(msg: ToCallee): void {
    if (msg.type === 'control') {
      this.signals.get(msg.target)?.control(msg.action);
      return;
    }
    if (msg.type !== 'call') return;
    const signal = new JobSignal();
    this.signals.set(msg.id, signal);
    const run = () => this.run(msg, signal);
    if (this.immediate.has(msg.method)) void run();
    else this.queue = this.queue.then(run);
  }

  private async run(msg: CallMessage, signal: JobSignal): Promise<void> {
    const ctx: JobContext<unknown> = {
      id: msg.id,
      signal,
      emit: (event, transfer) => this.post({ type: 'progress', id: msg.id, event }, transfer),
    };
    try {
      const handler = (this.handlers as Record<string, (p: unknown, c: JobContext<unknown>) => Promise<unknown>>)[msg.method];
      if (typeof handler !== 'function') throw new Error(`unknown method "${msg.method}"`);
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
