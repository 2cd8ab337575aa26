/**
 * The optimizer's two full passes over the weights as host kernels (wasm,
 * cpu): one AdamW update per parameter, and the sum of squares of every
 * gradient (the step's gradient norm).
 *
 * Why: as tf ops AdamW is 15 elementwise kernels per parameter, each a pass
 * over it that allocates its result, and the norm a Square and a Sum per
 * gradient: over ResNet18's 11.2 M weights ~190 ms of a ~1,330 ms training
 * step at the default resolution on wasm (profiled). Here each is one loop:
 * on wasm host-kernels.wat's SIMD loops (float32 lanes, a float64 sum;
 * AdamW ~25 ms a step), elsewhere the scalar float64 loops below.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { hostOutputs, hostRead, registerHostKernel } from '../backend/host-kernel';
import { hostSimd } from '../backend/simd/host-simd';

export const ADAMW_UPDATE = 'CxrAdamWUpdate';
export const SUM_OF_SQUARES = 'CxrSumOfSquares';

export interface AdamWUpdateAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** Bias corrections 1 − β1^t and 1 − β2^t. */
  bc1: number;
  bc2: number;
}

// The scalar loops (the cpu backend, a wasm build without SIMD, and the last
// n mod 4 elements on wasm, whose whole vectors host-kernels.wat does).
function adamwLoop(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, w1: Float32Array, m1: Float32Array, v1: Float32Array,
  lr: number, beta1: number, beta2: number, epsilon: number, decay: number, bc1: number, bc2: number): void {
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    const mi = m[i] * beta1 + gi * c1;
    const vi = v[i] * beta2 + gi * gi * c2;
    m1[i] = mi;
    v1[i] = vi;
    w1[i] = w[i] * decay - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + epsilon);
  }
}

function squares(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

/** w, g, m, v → w', m', v' (as adamw.ts's tf-op form: w' = w·(1 − lr·wd) − lr·m̂/(√v̂ + ε)). */
const adamw: KernelFunc = ({ inputs, backend, attrs }) => {
  const { w, g, m, v } = inputs as Record<'w' | 'g' | 'm' | 'v', TensorInfo>;
  const { lr, beta1, beta2, epsilon, weightDecay, bc1, bc2 } = attrs as unknown as AdamWUpdateAttrs;
  for (const t of [g, m, v]) {
    if (t.shape.join() !== w.shape.join()) throw new Error(`${ADAMW_UPDATE}: shapes differ: ${JSON.stringify(w.shape)} vs ${JSON.stringify(t.shape)}`);
  }
  const read = (t: TensorInfo) => hostRead(backend, t, ADAMW_UPDATE);
  const decay = 1 - lr * weightDecay;
  const simd = hostSimd(backend);
  // SIMD does the whole vectors of 4; the scalar loop the rest (all of it off wasm).
  const n4 = simd ? w.shape.reduce((a, b) => a * b, 1) & ~3 : 0;
  const outs = hostOutputs(backend, [w.shape, w.shape, w.shape], ([w1, m1, v1]) => {
    const tail = (a: Float32Array) => a.subarray(n4);
    adamwLoop(tail(read(w)), tail(read(g)), tail(read(m)), tail(read(v)), tail(w1), tail(m1), tail(v1), lr, beta1, beta2, epsilon, decay, bc1, bc2);
  });
  if (simd) {
    const [w1, m1, v1] = outs.map((o) => simd.ptr(o));
    simd.loops.adamw(simd.ptr(w), simd.ptr(g), simd.ptr(m), simd.ptr(v), w1, m1, v1, n4, beta1, beta2, lr / bc1, 1 / bc2, epsilon, decay);
  }
  return outs;
};

/** Any number of tensors (inputs t0, t1, …) → Σ x² over all of them, a scalar. */
const sumOfSquares: KernelFunc = ({ inputs, backend }) => {
  const simd = hostSimd(backend);
  return hostOutputs(backend, [[]], ([out]) => {
    let s = 0;
    for (const t of Object.values(inputs) as TensorInfo[]) {
      const x = hostRead(backend, t, SUM_OF_SQUARES);
      const from = simd ? x.length & ~3 : 0;
      if (simd) s += simd.loops.sumOfSquares(simd.ptr(t), from);
      s += squares(x.subarray(from));
    }
    out[0] = s;
  })[0];
};

/** Registers both kernels on the host backends (idempotent). */
export function registerOptimizerKernels(): void {
  registerHostKernel(ADAMW_UPDATE, adamw);
  registerHostKernel(SUM_OF_SQUARES, sumOfSquares);
}
