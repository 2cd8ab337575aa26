import * as tf from '../tf';
import { hostNavigator } from '../host';
import { watchDevice } from './device-guard';
import { convGemm, convGemmFailure } from './simd/conv-gemm';
import { hostSimd, hostSimdFailure } from './simd/host-simd';
import { applyWebGpuLimits } from './webgpu-limits';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface BackendOptions {
  /** Where the browser fetches tfjs-backend-wasm's .wasm binaries (Node finds them itself). */
  wasmPaths?: string | Record<string, string>;
  /**
   * Threads for the browser's threaded WASM build (it starts once; later values
   * are ignored). tfjs's default is half the logical cores, for hyperthreads.
   */
  wasmThreads?: number;
}

let wasmGradsRegistered = false;
let wasmPackage: typeof import('@tensorflow/tfjs-backend-wasm') | undefined;

/**
 * Threads XNNPACK runs on in the WASM backend (1: the single-threaded build),
 * or null when the WASM backend has not started. The browser gets the threaded
 * build when the page is cross-origin isolated; Node when cli/wasm-threads.ts
 * prepared it.
 */
export function wasmThreadsCount(): number | null {
  try {
    return wasmPackage ? wasmPackage.getThreadsCount() : null;
  } catch {
    return null; // "WASM backend not initialized"
  }
}

/**
 * Load the backend's package on demand (WebGPU and WebGL are not importable in
 * Node, and the page should not pay for backends it does not use), then select it.
 */
async function loadBackend(name: BackendName, opts: BackendOptions): Promise<void> {
  switch (name) {
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasmPackage = wasm;
      if (opts.wasmPaths) wasm.setWasmPaths(opts.wasmPaths as never);
      if (opts.wasmThreads) {
        wasm.setThreadsCount(opts.wasmThreads);
        // The build's C side caps its pool at half of emscripten_num_logical_cores(), which reads
        // navigator.hardwareConcurrency (it assumes two hyperthreads a core): report twice the
        // threads asked for, before the module starts, so the pool gets exactly those.
        const nav = hostNavigator();
        if (nav && typeof (nav as { hardwareConcurrency?: number }).hardwareConcurrency === 'number') {
          Object.defineProperty(nav, 'hardwareConcurrency', { value: 2 * opts.wasmThreads, configurable: true });
        }
      }
      if (!wasmGradsRegistered) {
        const { registerWasmGradKernels } = await import('./wasm-grad-kernels');
        const { registerWasmScatterKernels } = await import('./wasm-scatter-kernels');
        const { registerWasmIdentity } = await import('./wasm-identity');
        const { registerWasmConv } = await import('./wasm-conv');
        registerWasmConv();
        registerWasmGradKernels();
        registerWasmScatterKernels();
        registerWasmIdentity();
        wasmGradsRegistered = true;
      }
      return;
    }
    case 'webgl':
      await import('@tensorflow/tfjs-backend-webgl');
      return;
    case 'webgpu':
      await import('@tensorflow/tfjs-backend-webgpu');
      return;
  }
}

/**
 * How training's host kernels run on the wasm backend: 'SIMD' (host-kernels.wat
 * on its heap) or 'scalar (reason)'; null until wasm has started.
 */
export function wasmKernelMode(): string | null {
  const backend = tf.findBackend('wasm');
  if (!backend) return null;
  return hostSimd(backend) ? 'SIMD' : `scalar (${hostSimdFailure()})`;
}

/**
 * How the wasm backend runs convolutions: 'relaxed-SIMD GEMM, N threads' (or
 * 'SIMD GEMM', without relaxed SIMD) or 'XNNPACK (reason)'; null until wasm
 * has started.
 */
export function wasmConvMode(): string | null {
  const backend = tf.findBackend('wasm');
  if (!backend) return null;
  const gemm = convGemm(backend, wasmThreadsCount() ?? 1);
  return gemm ? `${gemm.fused ? 'relaxed-SIMD' : 'SIMD'} GEMM, ${gemm.threadCount} thread${gemm.threadCount > 1 ? 's' : ''}` : `XNNPACK (${convGemmFailure()})`;
}

/**
 * Select `name`. Resolves to null on success, else the reason it cannot start
 * here (the current backend is left as it was).
 */
export async function trySetBackend(name: BackendName, opts: BackendOptions = {}): Promise<string | null> {
  try {
    await loadBackend(name, opts);
    const ok = await tf.setBackend(name);
    if (ok) await tf.ready();
    if (!ok || tf.getBackend() !== name) return `${name} did not initialise`;
    if (name === 'webgpu') {
      applyWebGpuLimits();
      watchDevice();
    }
    return null;
  } catch (e) {
    return `${name}: ${(e as Error).message}`;
  }
}

/** First backend of `order` that starts; throws with every reason when none does. */
export async function initBackend(order: readonly BackendName[], opts: BackendOptions = {}): Promise<BackendName> {
  const reasons: string[] = [];
  for (const name of order) {
    const reason = await trySetBackend(name, opts);
    if (reason === null) return name;
    reasons.push(reason);
  }
  throw new Error(`no TensorFlow.js backend could start: ${reasons.join('; ')}`);
}
