/**
 * A Runner without a Worker: the dispatcher runs in this thread. Node tests
 * use it to drive the flows end to end. Messages are structured-cloned and
 * delivered on later tasks, as across a real Worker boundary, so neither
 * shared objects nor ordering assumptions can hide bugs.
 */
import { Dispatcher, type Handlers } from './dispatcher';
import type { FromWorker, ToWorker } from './protocol';
import { PortRunner, type Port } from './runner';

export function inProcessRunner(handlers: Omit<Handlers, 'control'>): PortRunner {
  let alive = true;
  const port: Port = {
    postMessage: (msg: ToWorker) => { if (alive) setTimeout(() => dispatcher.receive(clone(msg)), 0); },
    onmessage: null,
    onfailure: null,
    terminate: () => { alive = false; },
  };
  const dispatcher = new Dispatcher(handlers, (msg: FromWorker) => {
    if (alive) setTimeout(() => port.onmessage?.(clone(msg)), 0);
  });
  return new PortRunner(port);
}

/** Blobs do not clone in every Node version; they are immutable, so sharing them is safe. */
function clone<T>(msg: T): T {
  try { return structuredClone(msg); } catch { return msg; }
}
