/**
 * A fused affine warp kernel: affine_grid + grid_sample (bilinear, zero
 * padding, align_corners=False — PyTorch's) in one pass, with its gradient
 * with respect to θ in one more pass, for the 'wasm' and 'cpu' backends.
 *
 * Why: the composed sampler (affine-grid.ts + grid-sample.ts) builds the grid
 * as a [B, H, W, 2] tensor and gathers four corners through a dozen
 * elementwise ops, slices and GatherV2; on tfjs-wasm the column slices and
 * gathers of a 8x320x256 frame alone cost ~1 s per training step (profiled:
 * GatherV2 ~0.5 s, Slice ~0.25 s, Pack/Tile/Concat ~0.4 s). The fused kernel
 * reads four pixels per output pixel and writes one value: a few milliseconds.
 *
 * Semantics are exactly `warpAffine(images, theta, frame)` (warp.ts): the
 * images are constants (no gradient flows to them, as in `gridSample`), θ gets
 * d(loss)/dθ = Σ_pixels dy · ∂out/∂(x_in, y_in) · ∂(x_in, y_in)/∂θ.
 *
 * The kernels are plain JavaScript over the backend's own memory (the wasm
 * heap or the CPU backend's arrays): no tf ops inside kernels, no dataSync.
 * Registering for a backend that is not loaded is harmless, so importing this
 * module never pulls a backend in.
 */
import * as tf from '../tf';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { HOST_BACKENDS, hostOutputs, hostRead } from '../backend/host-kernel';
import type { Size } from '../affine/affine';

export const AFFINE_SAMPLE = 'CxrAffineSample';
export const AFFINE_SAMPLE_GRAD = 'CxrAffineSampleGradTheta';

const read = (backend: unknown, t: TensorInfo) => hostRead(backend, t, AFFINE_SAMPLE);
/** One zeroed float32 output. */
const output = (backend: unknown, shape: number[], fill: (out: Float32Array) => void): TensorInfo =>
  hostOutputs(backend, [shape], ([out]) => fill(out), true)[0];

function check(image: TensorInfo, theta: TensorInfo): [number, number, number, number] {
  const [b, h, w, c] = image.shape as [number, number, number, number];
  if (image.shape.length !== 4 || theta.shape.length !== 3 || theta.shape[0] !== b || theta.shape[1] !== 2 || theta.shape[2] !== 3) {
    throw new Error(`${AFFINE_SAMPLE}: images [B,H,W,C] ${JSON.stringify(image.shape)} need θ [B,2,3], got ${JSON.stringify(theta.shape)}`);
  }
  if (image.dtype !== 'float32' || theta.dtype !== 'float32') throw new Error(`${AFFINE_SAMPLE}: float32 only`);
  return [b, h, w, c];
}

const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const { image, theta } = inputs as { image: TensorInfo; theta: TensorInfo };
  const { height: Ho, width: Wo } = attrs as unknown as { height: number; width: number };
  const [b, h, w, c] = check(image, theta);
  return output(backend, [b, Ho, Wo, c], (out) => {
    const img = read(backend, image);
    const th = read(backend, theta);
    const hw = w / 2;
    const hh = h / 2;
    for (let n = 0; n < b; n++) {
      const [a0, a1, a2, a3, a4, a5] = th.subarray(n * 6, n * 6 + 6);
      const base = n * h * w * c;
      for (let i = 0; i < Ho; i++) {
        const yn = Math.fround((2 * i + 1) / Ho - 1);
        const rx = a1 * yn + a2;
        const ry = a4 * yn + a5;
        for (let j = 0; j < Wo; j++) {
          const xn = Math.fround((2 * j + 1) / Wo - 1);
          const x = (a0 * xn + rx + 1) * hw - 0.5;
          const y = (a3 * xn + ry + 1) * hh - 0.5;
          const x0 = Math.floor(x);
          const y0 = Math.floor(y);
          if (!(x0 >= -1 && y0 >= -1 && x0 <= w - 1 && y0 <= h - 1)) continue; // all four corners outside (or NaN): 0
          const fx = x - x0;
          const fy = y - y0;
          const okx0 = x0 >= 0;
          const okx1 = x0 + 1 <= w - 1;
          const oky0 = y0 >= 0;
          const oky1 = y0 + 1 <= h - 1;
          const p00 = base + (y0 * w + x0) * c;
          const o = ((n * Ho + i) * Wo + j) * c;
          for (let k = 0; k < c; k++) {
            const v00 = okx0 && oky0 ? img[p00 + k] : 0;
            const v01 = okx1 && oky0 ? img[p00 + c + k] : 0;
            const v10 = okx0 && oky1 ? img[p00 + w * c + k] : 0;
            const v11 = okx1 && oky1 ? img[p00 + w * c + c + k] : 0;
            const top = v00 * (1 - fx) + v01 * fx;
            const bottom = v10 * (1 - fx) + v11 * fx;
            out[o + k] = top + (bottom - top) * fy;
          }
        }
      }
    }
  });
};

const gradTheta: KernelFunc = ({ inputs, backend }) => {
  const { image, theta, dy } = inputs as { image: TensorInfo; theta: TensorInfo; dy: TensorInfo };
  const [b, h, w, c] = check(image, theta);
  const [, Ho, Wo] = dy.shape;
  return output(backend, [b, 2, 3], (out) => {
    const img = read(backend, image);
    const th = read(backend, theta);
    const g = read(backend, dy);
    const hw = w / 2;
    const hh = h / 2;
    for (let n = 0; n < b; n++) {
      const [a0, a1, a2, a3, a4, a5] = th.subarray(n * 6, n * 6 + 6);
      const base = n * h * w * c;
      // Float64 accumulators: a frame has up to millions of terms.
      let s0 = 0; let s1 = 0; let s2 = 0; let s3 = 0; let s4 = 0; let s5 = 0;
      for (let i = 0; i < Ho; i++) {
        const yn = Math.fround((2 * i + 1) / Ho - 1);
        const rx = a1 * yn + a2;
        const ry = a4 * yn + a5;
        let rowX = 0; let rowXx = 0; let rowY = 0; let rowYx = 0;
        for (let j = 0; j < Wo; j++) {
          const xn = Math.fround((2 * j + 1) / Wo - 1);
          const x = (a0 * xn + rx + 1) * hw - 0.5;
          const y = (a3 * xn + ry + 1) * hh - 0.5;
          const x0 = Math.floor(x);
          const y0 = Math.floor(y);
          if (!(x0 >= -1 && y0 >= -1 && x0 <= w - 1 && y0 <= h - 1)) continue;
          const fx = x - x0;
          const fy = y - y0;
          const okx0 = x0 >= 0;
          const okx1 = x0 + 1 <= w - 1;
          const oky0 = y0 >= 0;
          const oky1 = y0 + 1 <= h - 1;
          const p00 = base + (y0 * w + x0) * c;
          const o = ((n * Ho + i) * Wo + j) * c;
          let dx = 0;
          let dyp = 0;
          for (let k = 0; k < c; k++) {
            const v00 = okx0 && oky0 ? img[p00 + k] : 0;
            const v01 = okx1 && oky0 ? img[p00 + c + k] : 0;
            const v10 = okx0 && oky1 ? img[p00 + w * c + k] : 0;
            const v11 = okx1 && oky1 ? img[p00 + w * c + c + k] : 0;
            const gk = g[o + k];
            dx += gk * ((v01 - v00) * (1 - fy) + (v11 - v10) * fy);
            dyp += gk * ((v10 - v00) * (1 - fx) + (v11 - v01) * fx);
          }
          // x_pix = (x_norm + 1)·w/2 − 0.5, x_norm = a0·xn + a1·yn + a2.
          rowX += dx; rowXx += dx * xn;
          rowY += dyp; rowYx += dyp * xn;
        }
        s0 += rowXx; s1 += rowX * yn; s2 += rowX;
        s3 += rowYx; s4 += rowY * yn; s5 += rowY;
      }
      out[n * 6] = s0 * hw; out[n * 6 + 1] = s1 * hw; out[n * 6 + 2] = s2 * hw;
      out[n * 6 + 3] = s3 * hh; out[n * 6 + 4] = s4 * hh; out[n * 6 + 5] = s5 * hh;
    }
  });
};

let registered = false;

/** Register both kernels for the host backends (idempotent). */
export function registerAffineSampleKernels(): void {
  if (registered) return;
  registered = true;
  for (const backendName of HOST_BACKENDS) {
    if (!tf.getKernel(AFFINE_SAMPLE, backendName)) tf.registerKernel({ kernelName: AFFINE_SAMPLE, backendName, kernelFunc: forward });
    if (!tf.getKernel(AFFINE_SAMPLE_GRAD, backendName)) tf.registerKernel({ kernelName: AFFINE_SAMPLE_GRAD, backendName, kernelFunc: gradTheta });
  }
}

/** Whether the current backend has the fused kernels (wasm and cpu do once registered). */
export function affineSampleAvailable(): boolean {
  registerAffineSampleKernels();
  const name = tf.getBackend();
  return !!name && !!tf.getKernel(AFFINE_SAMPLE, name) && !!tf.getKernel(AFFINE_SAMPLE_GRAD, name);
}

/**
 * `warpAffine(images, theta, frame)` as one fused kernel: images [B, H, W, C]
 * (constants), θ [B, 2, 3] (differentiable) → [B, frame.height, frame.width, C].
 * Only for backends where `affineSampleAvailable()`.
 */
export function affineSample(images: tf.Tensor4D, theta: tf.Tensor3D, frame: Size): tf.Tensor4D {
  registerAffineSampleKernels();
  const attrs = { height: frame.height, width: frame.width };
  const op = tf.customGrad(((th: tf.Tensor, save: tf.GradSaveFunc) => {
    const value = tf.engine().runKernel(AFFINE_SAMPLE, { image: images, theta: th }, attrs as never) as tf.Tensor4D;
    save([th]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(AFFINE_SAMPLE_GRAD, { image: images, theta: saved[0], dy }, {}) as tf.Tensor3D,
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(theta) as tf.Tensor4D;
}
