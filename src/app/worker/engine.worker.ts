/// <reference lib="webworker" />
/**
 * The Web Worker that owns the engine. Every URL it fetches is on the page's
 * own origin: the tfjs .wasm binaries are bundled assets and the default
 * model/template come from the app's models/ folder.
 */
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { setConvThreadSpawner } from '../../engine';
import { engineHandlers } from './handlers';
import type { ToCallee } from '../../rpc/index';
import { Dispatcher } from './dispatcher';
import { IdbWeightStore, MemoryWeightStore } from './weight-store';

declare const self: DedicatedWorkerGlobalScope;

const base = new URL(import.meta.env.BASE_URL, self.location.origin);

// The wasm convolution's helper threads (engine/backend/simd/conv-gemm.ts): workers
// of this worker on the backend's shared memory (the page is cross-origin isolated).
// One blob URL for the session: revoking it while a worker still loads it would fail the load.
let convThreadUrl: string | null = null;
setConvThreadSpawner((source, args) => {
  convThreadUrl ??= URL.createObjectURL(new Blob([`onmessage = (e) => { const d = e.data; (${source})(d.module, d.memory, d.control, d.id); };`], { type: 'text/javascript' }));
  new Worker(convThreadUrl, { name: `cxr-align-conv-${args.id}` }).postMessage(args);
});

let listed: Promise<Set<string> | null> | null = null;

/** The files models/index.json lists (null when there is no index: then every file is tried). */
function modelsListing(): Promise<Set<string> | null> {
  listed ??= fetch(new URL('models/index.json', base), { cache: 'no-cache' })
    .then(async (r) => (r.ok && (r.headers.get('content-type') ?? '').includes('json') ? new Set<string>((await r.json()).files.map((f: string) => `models/${f}`)) : null))
    .catch(() => null);
  return listed;
}

async function fetchAsset(path: string): Promise<Uint8Array | null> {
  const index = path.startsWith('models/') ? await modelsListing() : null;
  if (index && !index.has(path)) return null;
  const res = await fetch(new URL(path, base), { cache: 'no-cache' });
  // Dev servers answer unknown paths with the app's index.html; that is "absent" too.
  if (!res.ok || (res.headers.get('content-type') ?? '').includes('text/html')) return null;
  return new Uint8Array(await res.arrayBuffer());
}

const handlers = engineHandlers({
  fetchAsset,
  weightStore: typeof indexedDB !== 'undefined' ? new IdbWeightStore() : new MemoryWeightStore(),
  wasmPaths: {
    'tfjs-backend-wasm.wasm': new URL(wasmPlain, base).href,
    'tfjs-backend-wasm-simd.wasm': new URL(wasmSimd, base).href,
    'tfjs-backend-wasm-threaded-simd.wasm': new URL(wasmThreaded, base).href,
  },
});

const dispatcher = new Dispatcher(handlers, (msg, transfer) => self.postMessage(msg, transfer ?? []));
self.onmessage = (e: MessageEvent<ToCallee>) => dispatcher.receive(e.data);
