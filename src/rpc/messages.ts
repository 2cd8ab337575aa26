/**
 * The wire format of the RPC layer, shared by both sides and generic over an
 * API map: `{ method: { req, res, progress } }`. The caller sends `call`s
 * (and `control`s addressed to a running call); the callee answers each call
 * once (`result` or `error`) and may send any number of `progress` events
 * before that. Types only, and no host library: the layer runs on a page, in
 * a Web Worker, in Node's main thread and in its worker threads alike.
 */

/** One method: what it takes, what it answers, what it reports on the way. */
export interface Endpoint {
  req: unknown;
  res: unknown;
  progress: unknown;
}

/**
 * An API map. Written as a constraint on A itself (`A extends ApiOf<A>`) so
 * that interfaces qualify too, not only type aliases with an index signature.
 */
export type ApiOf<A> = { [M in keyof A]: Endpoint };

export type MethodOf<A> = keyof A & string;
export type ReqOf<A extends ApiOf<A>, M extends keyof A> = A[M]['req'];
export type ResOf<A extends ApiOf<A>, M extends keyof A> = A[M]['res'];
export type ProgressOf<A extends ApiOf<A>, M extends keyof A> = A[M]['progress'];

/**
 * What a message may move rather than copy to the other side. ArrayBuffers
 * are all this project transfers; a local alias keeps the layer free of the
 * DOM's and Node's lib types.
 */
export type Transfer = ArrayBuffer;

/** Pause, resume, stop (end at the next checkpoint, keeping the work done) or cancel a running call. */
export type Control = 'pause' | 'resume' | 'stop' | 'cancel';

export interface CallMessage {
  type: 'call';
  id: number;
  method: string;
  params: unknown;
}

/** Addressed to a call by its id; answered by nothing (the call's own answer says how it ended). */
export interface ControlMessage {
  type: 'control';
  target: number;
  action: Control;
}

export type ToCallee = CallMessage | ControlMessage;

export type FromCallee =
  | { type: 'progress'; id: number; event: unknown }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; message: string };

/** Human-readable text of anything thrown. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return typeof e === 'string' ? e : JSON.stringify(e);
}

/** The host timers and cloning the layer needs, read once from globalThis (every host has them). */
export const host = globalThis as unknown as {
  setTimeout(f: () => void, ms?: number): unknown;
  structuredClone?<T>(value: T): T;
};
