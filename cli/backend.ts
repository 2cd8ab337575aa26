import { initBackend, tf, wasmThreadsCount, type BackendName } from '../src/engine/index';
import type { OptionSpecs } from './args';
import { defaultWasmThreads, parseThreads, prepareNodeWasm, threadedWasmFailure } from './wasm-threads';
import { installNodeWebGpu, type NodeGpu } from './webgpu-node';

let current: BackendName | undefined;
let gpu: NodeGpu | undefined;

export type BackendChoice = 'auto' | 'wasm' | 'cpu' | 'webgpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'wasm', 'cpu', 'webgpu'];

/** The --threads option of the commands that run the network (align, train, eval, bench, canonical). */
export const THREADS_OPTION: OptionSpecs = {
  threads: {
    type: 'int', meta: 'N',
    help: 'threads of the WASM backend (XNNPACK\'s pool; default: every core Node may use, or $CXR_WASM_THREADS; 1 = tfjs\'s single-threaded build)',
  },
};

export interface BackendSetup {
  /** WASM threads; default defaultWasmThreads() (every core, or $CXR_WASM_THREADS). */
  threads?: number;
}

/**
 * Select the TensorFlow.js backend for a command: WASM (with cxr-align's
 * convolution-gradient kernels, on `threads` threads) unless it cannot start,
 * then the plain CPU backend. `webgpu` is only used when asked for: it needs
 * the optional Dawn binding, and on a machine without a GPU it runs on a
 * software rasteriser. A threaded WASM backend that does not start is an
 * error, not a fallback (--threads 1 is the single-threaded build).
 */
export async function setupBackend(choice: BackendChoice, log: (m: string) => void = () => {}, setup: BackendSetup = {}): Promise<BackendName> {
  const order: BackendName[] = choice === 'auto' ? ['wasm', 'cpu'] : [choice];
  if (current && (choice === 'auto' || choice === current)) return current;
  if (choice === 'webgpu') {
    gpu = await installNodeWebGpu();
    log(`WebGPU adapter: ${gpu.adapter}${gpu.software ? ' (a software rasteriser: figures mean correctness, not speed)' : ''}`);
  }
  const threads = setup.threads === undefined ? defaultWasmThreads() : parseThreads(setup.threads);
  if (order.includes('wasm')) await prepareNodeWasm(threads);
  let name: BackendName;
  try {
    name = await initBackend(order);
  } catch (e) {
    const why = threadedWasmFailure();
    throw why ? new Error(`${why.message} (--threads 1 runs tfjs's single-threaded build)`) : e;
  }
  if (name !== 'wasm' && order.includes('wasm') && threadedWasmFailure()) {
    throw new Error(`${threadedWasmFailure()!.message} (--threads 1 runs tfjs's single-threaded build)`);
  }
  current = name;
  // tfjs-backend-cpu greets Node users once (on its first tensor) with advice to install
  // tfjs-node, which cxr-align deliberately does not use; skip the greeting.
  if (name === 'cpu') (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  if (choice === 'auto' && name !== 'wasm') log(`notice: the WASM backend did not start; using the slower ${name} backend`);
  return name;
}

/** Threads the WASM backend runs on (1 = single-threaded build), null when it has not started. */
export function wasmThreads(): number | null {
  return wasmThreadsCount();
}

/** The WebGPU adapter in use, when the webgpu backend was set up. */
export function webGpuAdapter(): NodeGpu | undefined { return gpu; }
