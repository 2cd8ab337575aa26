import { initBackend, tf, type BackendName } from '../src/engine/index';
import { installNodeWebGpu, type NodeGpu } from './webgpu-node';

let current: BackendName | undefined;
let gpu: NodeGpu | undefined;

export type BackendChoice = 'auto' | 'wasm' | 'cpu' | 'webgpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'wasm', 'cpu', 'webgpu'];

/**
 * Select the TensorFlow.js backend for a command: WASM (with cxr-align's
 * convolution-gradient kernels) unless it cannot start, then the plain CPU
 * backend. `webgpu` is only used when asked for: it needs the optional Dawn
 * binding, and on a machine without a GPU it runs on a software rasteriser.
 */
export async function setupBackend(choice: BackendChoice, log: (m: string) => void = () => {}): Promise<BackendName> {
  const order: BackendName[] = choice === 'auto' ? ['wasm', 'cpu'] : [choice];
  if (current && (choice === 'auto' || choice === current)) return current;
  if (choice === 'webgpu') {
    gpu = await installNodeWebGpu();
    log(`WebGPU adapter: ${gpu.adapter}${gpu.software ? ' (a software rasteriser: figures mean correctness, not speed)' : ''}`);
  }
  const name = await initBackend(order);
  current = name;
  // tfjs-backend-cpu greets Node users once (on its first tensor) with advice to install
  // tfjs-node, which cxr-align deliberately does not use; skip the greeting.
  if (name === 'cpu') (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  if (choice === 'auto' && name !== 'wasm') log(`notice: the WASM backend did not start; using the slower ${name} backend`);
  return name;
}

/** The WebGPU adapter in use, when the webgpu backend was set up. */
export function webGpuAdapter(): NodeGpu | undefined { return gpu; }
