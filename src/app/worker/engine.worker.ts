/// <reference lib="webworker" />
/**
 * The Web Worker that owns the engine. Every URL it fetches is on the page's
 * own origin: the tfjs .wasm binaries are bundled assets and the default
 * model/template come from the app's models/ folder.
 */
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { WorkbenchCore } from './core';
import { Dispatcher } from './dispatcher';
import type { FromWorker, ToWorker } from './protocol';
import { IdbWeightStore, MemoryWeightStore } from './weight-store';

declare const self: DedicatedWorkerGlobalScope;

const base = new URL(import.meta.env.BASE_URL, self.location.origin);

async function fetchAsset(path: string): Promise<Uint8Array | null> {
  const res = await fetch(new URL(path, base), { cache: 'no-cache' });
  // Dev servers answer unknown paths with the app's index.html; that is "absent" too.
  if (!res.ok || (res.headers.get('content-type') ?? '').includes('text/html')) return null;
  return new Uint8Array(await res.arrayBuffer());
}

const core = new WorkbenchCore({
  fetchAsset,
  weightStore: typeof indexedDB !== 'undefined' ? new IdbWeightStore() : new MemoryWeightStore(),
  wasmPaths: {
    'tfjs-backend-wasm.wasm': new URL(wasmPlain, base).href,
    'tfjs-backend-wasm-simd.wasm': new URL(wasmSimd, base).href,
    'tfjs-backend-wasm-threaded-simd.wasm': new URL(wasmThreaded, base).href,
  },
});

const dispatcher = new Dispatcher(core.handlers(), (msg: FromWorker, transfer?: Transferable[]) => self.postMessage(msg, transfer ?? []));
self.onmessage = (e: MessageEvent<ToWorker>) => dispatcher.receive(e.data);
