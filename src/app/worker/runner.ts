/**
 * The page side of the workbench's protocol: the generic RPC layer (src/rpc)
 * over the app's Api, plus the Port over a dedicated Web Worker. Flows talk
 * to a Runner, never to a Worker directly, so the same flow code runs against
 * the real worker in the browser and an in-process dispatcher in Node tests.
 */
import { PortRunner as RpcPortRunner, type FromCallee, type Job, type Port, type Runner as RpcRunner } from '../../rpc/index';
import type { AppApi } from './dispatcher';

export type { Job, Port };

export type Runner = RpcRunner<AppApi>;

export class PortRunner extends RpcPortRunner<AppApi> {
  constructor(port: Port) {
    super(port, { name: 'the engine worker' });
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
  worker.onmessage = (e: MessageEvent<FromCallee>) => port.onmessage?.(e.data);
  worker.onerror = (e: ErrorEvent) => port.onfailure?.(e.message || 'worker error (see the browser console)');
  worker.onmessageerror = () => port.onfailure?.('a message could not be decoded');
  return port;
}
