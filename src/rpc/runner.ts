/**
 * The caller side. Code talks to a Runner, never to a worker directly, so the
 * same code runs against a Web Worker, a Node worker thread, or an in-process
 * dispatcher in tests.
 */
import type { ApiOf, Control, FromCallee, MethodOf, ProgressOf, ReqOf, ResOf, ToCallee, Transfer } from './messages';

export interface Job<T> {
  readonly id: number;
  readonly done: Promise<T>;
  /** Pause, resume, stop or cancel the call (nothing once it has ended). */
  control(action: Control): void;
}

export interface Runner<A extends ApiOf<A>> {
  call<M extends MethodOf<A>>(
    method: M, params: ReqOf<A, M>, onProgress?: (event: ProgressOf<A, M>) => void, transfer?: Transfer[],
  ): Job<ResOf<A, M>>;
  terminate(): void;
}

/** Anything that carries messages both ways: a Web Worker, a worker thread, or a direct in-process link. */
export interface Port {
  postMessage(msg: ToCallee, transfer?: Transfer[]): void;
  onmessage: ((msg: FromCallee) => void) | null;
  /** The other side died (crash, out of memory, exit). */
  onfailure: ((reason: string) => void) | null;
  /** Stop the other side (a worker thread's exit can be awaited). */
  terminate(): void | Promise<unknown>;
}

export interface PortRunnerOptions {
  /** Who answers, for the message every pending call is rejected with when it dies ("the engine worker"). */
  name?: string;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  progress?: (e: unknown) => void;
}

export class PortRunner<A extends ApiOf<A>> implements Runner<A> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failed: string | null = null;
  private readonly name: string;
  private closing: Promise<unknown> | undefined;
  /** Called once if the other side dies: the caller can say so instead of hanging. */
  onStopped: ((reason: string) => void) | null = null;

  constructor(private readonly port: Port, options: PortRunnerOptions = {}) {
    this.name = options.name ?? 'the worker';
    port.onmessage = (msg) => this.receive(msg);
    port.onfailure = (reason) => this.fail(reason);
  }

  /** Calls sent and not answered yet. */
  get inFlight(): number { return this.pending.size; }

  /** Why the other side stopped ("… stopped: exit code 1"), null while it runs. */
  get stopped(): string | null { return this.failed; }

  call<M extends MethodOf<A>>(
    method: M, params: ReqOf<A, M>, onProgress?: (event: ProgressOf<A, M>) => void, transfer?: Transfer[],
  ): Job<ResOf<A, M>> {
    const id = this.nextId++;
    const done = new Promise<ResOf<A, M>>((resolve, reject) => {
      if (this.failed) { reject(new Error(this.failed)); return; }
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, progress: onProgress as ((e: unknown) => void) | undefined });
    });
    if (!this.failed) {
      try {
        this.port.postMessage({ type: 'call', id, method, params }, transfer);
      } catch (e) {
        // Not sent (a value that cannot be cloned, a buffer transferred twice): only this call fails.
        const p = this.pending.get(id);
        this.pending.delete(id);
        p?.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
    return {
      id,
      done,
      control: (action) => {
        if (this.failed || !this.pending.has(id)) return;
        this.port.postMessage({ type: 'control', target: id, action });
      },
    };
  }

  private receive(msg: FromCallee): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress') { p.progress?.(msg.event); return; }
    this.pending.delete(msg.id);
    if (msg.type === 'result') p.resolve(msg.value);
    else p.reject(new Error(msg.message));
  }

  /** Reject every pending call, and every later one, with why the other side stopped. */
  private fail(reason: string): void {
    if (this.failed) return;
    this.failed = `${this.name} stopped: ${reason}`;
    this.onStopped?.(this.failed);
    for (const p of this.pending.values()) p.reject(new Error(this.failed));
    this.pending.clear();
  }

  terminate(): void {
    void this.close();
  }

  /** terminate, awaiting the other side's end where the port can tell (a worker thread's exit). */
  close(): Promise<void> {
    this.closing ??= Promise.resolve(this.port.terminate()).then(() => {}, () => {});
    this.fail('terminated');
    return this.closing.then(() => {});
  }
}
