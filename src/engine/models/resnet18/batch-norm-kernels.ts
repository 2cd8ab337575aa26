/**
 * Training-mode batch normalisation (optionally followed by ReLU) and its
 * gradient as two host kernels (wasm, cpu): batch-norm-train.ts runs them
 * where they exist and the elementwise formulation elsewhere.
 *
 * Why: as tf ops the forward is moments (a transpose and two reductions on
 * wasm, whose Mean/Sum reduce innermost axes only), sub, mul, add and a ReLU,
 * and the backward as many again plus ReLU's Step/Cast/Multiply: profiled at
 * the default resolution, batch 8, ~300 of a training step's ~1,330 ms. Here
 * each direction is two passes over the activations with the channel
 * innermost, accumulating in float64: on wasm in host-kernels.wat's SIMD
 * loops (channels a multiple of 4; ~60 ms a step), elsewhere in the plain
 * loops below.
 *
 * Forward:  μ, σ² (biased) per channel, y = x·s + t with s = γ/√(σ²+ε),
 *           t = β − μ·s, then max(y, 0) when `relu` (NaN stays NaN).
 * Backward: d = dy masked by y > 0 when `relu` (y recomputed from x, as the
 *           forward did), dβ = Σ d, dγ = Σ d·x̂ with x̂ = (x − μ)/σ,
 *           dx = γ/(σ·N) · (N·d − dβ − x̂·dγ).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { hostOutputs, hostRead, registerHostKernel } from '../../backend/host-kernel';
import { hostSimd, type HostSimd } from '../../backend/simd/host-simd';

export const BATCH_NORM_TRAIN = 'CxrBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'CxrBatchNormTrainGrad';

export interface BatchNormTrainAttrs {
  epsilon: number;
  relu: boolean;
}

interface Affine {
  scale: Float64Array;
  shift: Float64Array;
  invStd: Float64Array;
}

/** The per-channel y = x·scale + shift of normalisation, from float32 moments (both directions use the same). */
function affineOf(mean: Float32Array, variance: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number): Affine {
  const C = mean.length;
  const scale = new Float64Array(C);
  const shift = new Float64Array(C);
  const invStd = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    invStd[c] = 1 / Math.sqrt(variance[c] + eps);
    scale[c] = gamma[c] * invStd[c];
    shift[c] = beta[c] - mean[c] * scale[c];
  }
  return { scale, shift, invStd };
}

function channels(x: TensorInfo, kernel: string): number {
  if (x.shape.length !== 4) throw new Error(`${kernel}: expected [B, H, W, C], got ${JSON.stringify(x.shape)}`);
  return x.shape[3];
}

/** μ and the biased σ² per channel from Σx and Σx² over n pixels. */
function momentsFromSums(sum: Float64Array, sq: Float64Array, n: number, mean: Float32Array, variance: Float32Array): void {
  for (let c = 0; c < sum.length; c++) {
    const mu = sum[c] / n;
    mean[c] = mu;
    variance[c] = Math.max(0, sq[c] / n - mu * mu);
  }
}

function moments(x: Float32Array, C: number, mean: Float32Array, variance: Float32Array): void {
  const sum = new Float64Array(C);
  const sq = new Float64Array(C);
  for (let o = 0; o < x.length; o += C) {
    for (let c = 0; c < C; c++) {
      const v = x[o + c];
      sum[c] += v;
      sq[c] += v * v;
    }
  }
  momentsFromSums(sum, sq, x.length / C, mean, variance);
}

function normalise(x: Float32Array, y: Float32Array, C: number, scale: Float64Array, shift: Float64Array, relu: boolean): void {
  for (let o = 0; o < x.length; o += C) {
    for (let c = 0; c < C; c++) {
      const v = x[o + c] * scale[c] + shift[c];
      y[o + c] = relu && v < 0 ? 0 : v;
    }
  }
}

/** Σ d and Σ d·x per channel, d = dy masked by the forward's y > 0 when `relu`. */
function gradientSums(x: Float32Array, dy: Float32Array, C: number, scale: Float64Array, shift: Float64Array, relu: boolean, sd: Float64Array, sdx: Float64Array): void {
  for (let o = 0; o < x.length; o += C) {
    for (let c = 0; c < C; c++) {
      const v = x[o + c];
      const d = relu && !(v * scale[c] + shift[c] > 0) ? 0 : dy[o + c];
      sd[c] += d;
      sdx[c] += d * v;
    }
  }
}

function inputGradient(x: Float32Array, dy: Float32Array, dx: Float32Array, C: number, scale: Float64Array, shift: Float64Array, relu: boolean, a: Float64Array, b: Float64Array, k: Float64Array): void {
  for (let o = 0; o < x.length; o += C) {
    for (let c = 0; c < C; c++) {
      const v = x[o + c];
      const d = relu && !(v * scale[c] + shift[c] > 0) ? 0 : dy[o + c];
      dx[o + c] = a[c] * d - b[c] * v + k[c];
    }
  }
}

/** dγ, dβ and dx = a·d − b·x + k per channel (the closed form above, expanded). */
function inputGradientCoefficients(
  sd: Float64Array, sdx: Float64Array, mu: Float32Array, gm: Float32Array, invStd: Float64Array, n: number,
  dGamma: Float32Array, dBeta: Float32Array, a: Float64Array | Float32Array, b: Float64Array | Float32Array, k: Float64Array | Float32Array,
): void {
  for (let c = 0; c < sd.length; c++) {
    const dg = invStd[c] * (sdx[c] - mu[c] * sd[c]);
    dBeta[c] = sd[c];
    dGamma[c] = dg;
    const ac = gm[c] * invStd[c];
    const bc = (ac * invStd[c] * dg) / n;
    a[c] = ac;
    b[c] = bc;
    k[c] = bc * mu[c] - (ac * sd[c]) / n;
  }
}

/** The same two directions on the wasm heap, in host-kernels.wat's SIMD loops (C a multiple of 4). */
function simdForward(
  backend: unknown, simd: HostSimd, x: TensorInfo, gamma: TensorInfo, beta: TensorInfo, C: number, epsilon: number, relu: boolean,
  read: (t: TensorInfo) => Float32Array,
): TensorInfo[] {
  const n = x.shape.reduce((p, q) => p * q, 1);
  const outs = hostOutputs(backend, [x.shape, [C], [C]], () => {});
  const [y, meanT, varianceT] = outs;
  simd.scratch(C, 2, 2, ([sumP, sqP, scaleP, shiftP], [sum, sq], [scale32, shift32]) => {
    simd.loops.bnMoments(simd.ptr(x), n, 4 * C, sumP, sqP);
    const mean = read(meanT);
    const variance = read(varianceT);
    momentsFromSums(sum, sq, n / C, mean, variance);
    const { scale, shift } = affineOf(mean, variance, read(gamma), read(beta), epsilon);
    scale32.set(scale);
    shift32.set(shift);
    simd.loops.bnNormalise(simd.ptr(x), simd.ptr(y), n, 4 * C, scaleP, shiftP, relu ? 1 : 0);
  });
  return outs;
}

function simdBackward(
  backend: unknown, simd: HostSimd, t: Record<'dy' | 'x' | 'mean' | 'variance' | 'gamma' | 'beta', TensorInfo>, C: number, epsilon: number, relu: boolean,
  read: (t: TensorInfo) => Float32Array,
): TensorInfo[] {
  const n = t.x.shape.reduce((p, q) => p * q, 1);
  const outs = hostOutputs(backend, [t.x.shape, [C], [C]], () => {});
  const [dx, dGammaT, dBetaT] = outs;
  simd.scratch(C, 2, 5, ([sdP, sdxP, scaleP, shiftP, aP, bP, kP], [sd, sdx], [scale32, shift32, a, b, k]) => {
    const mu = read(t.mean);
    const gm = read(t.gamma);
    const { scale, shift, invStd } = affineOf(mu, read(t.variance), gm, read(t.beta), epsilon);
    scale32.set(scale);
    shift32.set(shift);
    const flag = relu ? 1 : 0;
    simd.loops.bnGradSums(simd.ptr(t.x), simd.ptr(t.dy), n, 4 * C, scaleP, shiftP, flag, sdP, sdxP);
    inputGradientCoefficients(sd, sdx, mu, gm, invStd, n / C, read(dGammaT), read(dBetaT), a, b, k);
    simd.loops.bnGradInput(simd.ptr(t.x), simd.ptr(t.dy), simd.ptr(dx), n, 4 * C, scaleP, shiftP, flag, aP, bP, kP);
  });
  return outs;
}

const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
  const { epsilon, relu } = attrs as unknown as BatchNormTrainAttrs;
  const C = channels(x, BATCH_NORM_TRAIN);
  const read = (t: TensorInfo) => hostRead(backend, t, BATCH_NORM_TRAIN);
  const simd = C % 4 === 0 ? hostSimd(backend) : null;
  if (simd) return simdForward(backend, simd, x, gamma, beta, C, epsilon, relu, read);
  return hostOutputs(backend, [x.shape, [C], [C]], ([y, mean, variance]) => {
    const xv = read(x);
    moments(xv, C, mean, variance);
    const { scale, shift } = affineOf(mean, variance, read(gamma), read(beta), epsilon);
    normalise(xv, y, C, scale, shift, relu);
  });
};

const backward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, x, mean, variance, gamma, beta } = inputs as Record<'dy' | 'x' | 'mean' | 'variance' | 'gamma' | 'beta', TensorInfo>;
  const { epsilon, relu } = attrs as unknown as BatchNormTrainAttrs;
  const C = channels(x, BATCH_NORM_TRAIN_GRAD);
  const read = (t: TensorInfo) => hostRead(backend, t, BATCH_NORM_TRAIN_GRAD);
  const simd = C % 4 === 0 ? hostSimd(backend) : null;
  if (simd) return simdBackward(backend, simd, { dy, x, mean, variance, gamma, beta }, C, epsilon, relu, read);
  return hostOutputs(backend, [x.shape, [C], [C]], ([dx, dGamma, dBeta]) => {
    const xv = read(x);
    const g = read(dy);
    const mu = read(mean);
    const gm = read(gamma);
    const n = xv.length / C;
    const { scale, shift, invStd } = affineOf(mu, read(variance), gm, read(beta), epsilon);
    const sd = new Float64Array(C);
    const sdx = new Float64Array(C);
    gradientSums(xv, g, C, scale, shift, relu, sd, sdx);
    const a = new Float64Array(C);
    const b = new Float64Array(C);
    const k = new Float64Array(C);
    inputGradientCoefficients(sd, sdx, mu, gm, invStd, n, dGamma, dBeta, a, b, k);
    inputGradient(xv, g, dx, C, scale, shift, relu, a, b, k);
  });
};

/** Registers both kernels on the host backends (idempotent). */
export function registerBatchNormKernels(): void {
  registerHostKernel(BATCH_NORM_TRAIN, forward);
  registerHostKernel(BATCH_NORM_TRAIN_GRAD, backward);
}
