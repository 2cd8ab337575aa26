import type { BackendName } from './worker/protocol';

export const ALL_BACKENDS: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
export const BACKEND_KEY = 'cxr-align.backend';

export const BACKEND_LABEL: Record<BackendName, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' };

/**
 * WebGPU first, then WebGL, WASM, CPU — unless the user picked one before
 * (remembered) or the URL asks for one (?backend=wasm, used by tests and for
 * support); the chosen one is tried first and the usual order follows.
 */
export function backendOrder(search: string, storage?: Pick<Storage, 'getItem'>): BackendName[] {
  const asked = new URLSearchParams(search).get('backend') ?? storage?.getItem(BACKEND_KEY) ?? null;
  const first = ALL_BACKENDS.find((b) => b === asked);
  return first ? [first, ...ALL_BACKENDS.filter((b) => b !== first)] : [...ALL_BACKENDS];
}
