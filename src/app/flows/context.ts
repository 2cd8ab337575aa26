/**
 * What every flow is given: the store it records into, the runner it calls
 * the worker through, the platform (object URLs, downloads, clock) and the
 * registry of long jobs in flight. Injected, so the same flows run in the
 * browser (PortRunner over the Worker) and in Node tests (in-process runner).
 */
import type { AppStore } from '../store';
import type { Job, Runner } from '../worker/runner';
import type { Jobs } from './jobs';

export type { Job, Runner };

/** The DOM, as far as the flows need it. */
export interface Platform {
  objectUrl(bytes: Uint8Array, type: string): string;
  revokeUrl(url: string): void;
  /** Offer a file for download (parts are concatenated). */
  save(name: string, parts: Uint8Array[], type: string): void;
  now(): number;
}

export interface FlowContext {
  readonly store: AppStore;
  readonly runner: Runner;
  readonly platform: Platform;
  readonly jobs: Jobs;
}
