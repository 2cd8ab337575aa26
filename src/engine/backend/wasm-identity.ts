/**
 * A zero-copy Identity for tfjs's 'wasm' backend.
 *
 * tfjs-backend-wasm 4.22's Identity copies its input into a new heap buffer,
 * where the cpu backend (and wasm's own Reshape) share the data and count a
 * reference. tfjs tensors are immutable, so sharing is what the op means;
 * copying made every tf.clone, every gradient passed through unchanged and
 * the trainer's pre-step snapshot of 11 M weights and 22 M optimizer moments
 * a full copy: ~55 ms of a ~1,330 ms training step at the default resolution
 * (profiled: 521 Identity calls).
 */
import * as tf from '../tf';
import type { DataId, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

const identity: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  (backend as { incRef(dataId: DataId): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/**
 * Replaces the wasm backend's Identity (idempotent). Importing
 * tfjs-backend-wasm registers its own again, so call this after the import.
 */
export function registerWasmIdentity(): void {
  if (tf.getKernel(tf.Identity, 'wasm')?.kernelFunc === identity) return;
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel({ kernelName: tf.Identity, backendName: 'wasm', kernelFunc: identity });
}
