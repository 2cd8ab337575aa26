/**
 * What a kernel written in plain JavaScript needs from the backends whose
 * tensors live in host memory: 'wasm' (its heap) and 'cpu' (its arrays).
 *
 * Why hand-written kernels at all: tfjs runs a fused computation (a warp, a
 * batch norm, an optimizer update) as a chain of elementwise kernels, each a
 * full pass that allocates its result; on these backends one loop over the
 * memory does the same work in one or two passes (measured in each kernel's
 * module). Kernels may not call tf ops, so they read and write through typed
 * array views here. Registering for a backend that is not loaded is harmless,
 * so importing a kernel module never pulls a backend in.
 */
import * as tf from '../tf';
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

export const HOST_BACKENDS = ['wasm', 'cpu'] as const;

export interface HostBackend {
  /** wasm */
  makeOutput?(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap?(t: TensorInfo): Float32Array;
  /** cpu */
  data?: { get(id: unknown): { values: unknown } };
  makeTensorInfo?(shape: number[], dtype: DataType, values?: Float32Array): TensorInfo;
}

/**
 * A float32 view of a tensor's memory. On wasm any allocation may grow (and so
 * detach) the heap: take views inside `hostOutputs`' fill, never across it.
 */
export function hostRead(backend: unknown, t: TensorInfo, kernel: string): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`${kernel}: float32 only, got ${t.dtype}`);
  const be = backend as HostBackend;
  if (be.typedArrayFromHeap) return be.typedArrayFromHeap(t);
  const v = be.data?.get(t.dataId).values;
  if (!(v instanceof Float32Array)) throw new Error(`${kernel}: expected float32 data on the ${tf.getBackend()} backend`);
  return v;
}

/**
 * Allocates float32 outputs of these shapes, lets `fill` write them (inputs
 * read inside it), returns them. Outputs start zeroed only when `zero`.
 */
export function hostOutputs(backend: unknown, shapes: number[][], fill: (outs: Float32Array[]) => void, zero = false): TensorInfo[] {
  const be = backend as HostBackend;
  if (be.makeOutput && be.typedArrayFromHeap) {
    const outs = shapes.map((s) => be.makeOutput!(s, 'float32'));
    const views = outs.map((o) => be.typedArrayFromHeap!(o));
    if (zero) for (const v of views) v.fill(0);
    fill(views);
    return outs;
  }
  if (!be.makeTensorInfo) throw new Error(`host kernels run on ${HOST_BACKENDS.join(' and ')} only, not ${tf.getBackend()}`);
  const views = shapes.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));
  fill(views);
  return views.map((v, i) => be.makeTensorInfo!(shapes[i], 'float32', v));
}

/** Registers `kernelFunc` as `name` on both host backends (idempotent). */
export function registerHostKernel(name: string, kernelFunc: KernelFunc): void {
  for (const backendName of HOST_BACKENDS) {
    if (!tf.getKernel(name, backendName)) tf.registerKernel({ kernelName: name, backendName, kernelFunc });
  }
}

/** Whether the current backend runs host kernels. */
export function onHostBackend(): boolean {
  return (HOST_BACKENDS as readonly string[]).includes(tf.getBackend());
}

/**
 * Registers `kernelFunc` as `kernelName` on `backendName` in place of the
 * built-in kernel, which goes into `originals` (for the shapes it still
 * serves) and keeps its setupFunc. Idempotent. Importing a backend package
 * re-registers its kernels silently, so callers re-check where that matters.
 */
export function overrideKernel(backendName: string, kernelName: string, kernelFunc: KernelFunc, originals: Map<string, KernelConfig>): void {
  const current = tf.getKernel(kernelName, backendName);
  if (current?.kernelFunc === kernelFunc) return;
  if (current != null) {
    originals.set(kernelName, current);
    tf.unregisterKernel(kernelName, backendName);
  }
  tf.registerKernel({ kernelName, backendName, kernelFunc, setupFunc: current?.setupFunc });
}
