/**
 * A Runner without a Worker: the dispatcher runs in this thread. Node tests
 * use it to drive the flows end to end; messages are delivered on later
 * tasks, as a Worker would, so ordering bugs still show.
 */
import { Dispatcher, type Handlers } from './dispatcher';
import type { FromWorker, ToWorker } from './protocol';
import { PortRunner, type Port } from './runner';

export function inProcessRunner(handlers: Omit<Handlers, 'control'>): PortRunner {
  let alive = true;
  const port: Port = {
    postMessage: (msg: ToWorker) => { if (alive) setTimeout(() => dispatcher.receive(msg), 0); },
    onmessage: null,
    onfailure: null,
    terminate: () => { alive = false; },
  };
  const dispatcher = new Dispatcher(handlers, (msg: FromWorker) => {
    if (alive) setTimeout(() => port.onmessage?.(msg), 0);
  });
  return new PortRunner(port);
}
