/**
 * The layer over Node's worker_threads: a Port for the parent's side of a
 * Worker, and the worker's side, which serves a Dispatcher on parentPort.
 */
import { parentPort, type Worker } from 'node:worker_threads';
import type { Dispatcher, Post } from './dispatcher';
import type { ApiOf, FromCallee, ToCallee } from './messages';
import type { Port } from './runner';

/**
 * A Port over a worker thread. An uncaught error in the worker, a message
 * that cannot be decoded, or the thread's exit (whatever its code) is a
 * failure: the runner rejects every pending call with the reason.
 */
export function nodeWorkerPort(worker: Worker): Port {
  const port: Port = {
    postMessage: (msg, transfer) => worker.postMessage(msg, transfer ?? []),
    onmessage: null,
    onfailure: null,
    terminate: () => worker.terminate(),
  };
  worker.on('message', (msg: FromCallee) => port.onmessage?.(msg));
  worker.on('error', (e: Error) => port.onfailure?.(e.message || e.name || 'uncaught error'));
  worker.on('messageerror', () => port.onfailure?.('a message could not be decoded'));
  worker.on('exit', (code: number) => port.onfailure?.(`exit code ${code}`));
  return port;
}

/** Worker side: post to the parent thread. */
export function parentPost(): Post {
  const port = parentPort;
  if (!port) throw new Error('not in a worker thread (no parentPort)');
  return (msg, transfer) => port.postMessage(msg, transfer ?? []);
}

/** Worker side: hand every message from the parent thread to `dispatcher` (built with parentPost()). */
export function serveOnParentPort<A extends ApiOf<A>>(dispatcher: Dispatcher<A>): void {
  const port = parentPort;
  if (!port) throw new Error('not in a worker thread (no parentPort)');
  port.on('message', (msg: ToCallee) => dispatcher.receive(msg));
}
