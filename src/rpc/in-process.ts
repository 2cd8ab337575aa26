/**
 * A Runner without a worker: the dispatcher runs in this thread. Tests use it
 * to drive whole flows. Messages are structured-cloned and delivered on later
 * tasks, as across a real worker boundary, so neither shared objects nor
 * ordering assumptions can hide bugs.
 */
import { Dispatcher, type DispatcherOptions, type Handlers } from './dispatcher';
import { host, type ApiOf, type FromCallee, type ToCallee } from './messages';
import { PortRunner, type Port, type PortRunnerOptions } from './runner';

export function inProcessPort<A extends ApiOf<A>>(handlers: Handlers<A>, options: DispatcherOptions<A> = {}): Port {
  let alive = true;
  const port: Port = {
    postMessage: (msg: ToCallee) => { if (alive) host.setTimeout(() => dispatcher.receive(clone(msg)), 0); },
    onmessage: null,
    onfailure: null,
    terminate: () => { alive = false; },
  };
  const dispatcher = new Dispatcher<A>(handlers, (msg: FromCallee) => {
    if (alive) host.setTimeout(() => port.onmessage?.(clone(msg)), 0);
  }, options);
  return port;
}

export function inProcessRunner<A extends ApiOf<A>>(handlers: Handlers<A>, options: DispatcherOptions<A> & PortRunnerOptions = {}): PortRunner<A> {
  return new PortRunner<A>(inProcessPort(handlers, options), options);
}

/** Blobs do not clone in every Node version; they are immutable, so sharing them is safe. */
function clone<T>(msg: T): T {
  try { return host.structuredClone ? host.structuredClone(msg) : msg; } catch { return msg; }
}
