/**
 * The host globals the engine reads, in the narrow shapes it uses, and the
 * one place it reads them.
 *
 * The engine is compiled on its own (tsconfig.engine.json) against ES2022
 * alone: no DOM, no WebWorker, no @types/node, so `document`, `window`,
 * `process`, `Buffer`, … do not exist there and a new dependence on a host
 * is a compile error until it is added here. Every host the engine runs on
 * (browser page, worker, Node >= 18) provides these globals natively.
 *
 * Engine files import them by their global names (`import { performance }
 * from '../host'`), so their code reads as before. This is a module rather
 * than ambient declarations in a .d.ts: TypeScript 7's incremental build
 * (tsc -b) does not re-check other files when a global declarations file
 * changes, while an edit here re-checks its importers.
 *
 * WebGPU's types (GPUDevice, …) reach the engine program through tfjs-core's
 * own `/// <reference types="@webgpu/types/dist" />`; the engine itself reads
 * devices through narrow *Like interfaces (backend/device-guard.ts).
 */

export interface HostClock {
  now(): number;
}

export interface HostTextEncoder {
  encode(input?: string): Uint8Array<ArrayBuffer>;
}

export interface HostTextDecoder {
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}

/** The part of `navigator` the engine touches (absent in older Node). */
export interface HostNavigator {
  hardwareConcurrency?: number;
}

/** A WebAssembly.Memory, as far as the engine reads one. */
export interface HostWasmMemory {
  readonly buffer: ArrayBufferLike;
}

/** The part of `WebAssembly` the engine uses (synchronous compile of its small SIMD module). */
export interface HostWebAssembly {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}

interface Host {
  performance: HostClock;
  WebAssembly?: HostWebAssembly;
  atob(data: string): string;
  TextEncoder: new () => HostTextEncoder;
  TextDecoder: new (label?: string) => HostTextDecoder;
  navigator?: HostNavigator;
}

const host = globalThis as unknown as Host;

/** The host's high-resolution clock (read at each call, so a stubbed clock is seen). */
export const performance: HostClock = { now: () => host.performance.now() };

/** UTF-8 encoder (model.json). */
export const TextEncoder: new () => HostTextEncoder = host.TextEncoder;

/** UTF-8 decoder (model.json). */
export const TextDecoder: new (label?: string) => HostTextDecoder = host.TextDecoder;

/** The host's `navigator`, where it has one (read at each call). */
export function hostNavigator(): HostNavigator | undefined {
  return host.navigator;
}

/** The host's `WebAssembly`, where it has one. */
export function hostWebAssembly(): HostWebAssembly | undefined {
  return host.WebAssembly;
}

/** Bytes of a base64 string (the engine's embedded SIMD module). */
export function decodeBase64(data: string): Uint8Array {
  const text = host.atob(data);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
