import * as tf from '../tf';
import type { Size } from '../affine/affine';
import { affineGrid } from './affine-grid';
import { gridSample } from './grid-sample';
import { affineSample, affineSampleAvailable } from './affine-sample-kernel';

/** Warp a batch of NHWC images into `frame` with per-image 2x3 matrices [B, 2, 3]. */
export function warpAffine(images: tf.Tensor4D, theta: tf.Tensor3D, frame: Size): tf.Tensor4D {
  // The fused host kernel (WASM, CPU) replaces ~40 gather/slice/tile kernels per warp.
  if (affineSampleAvailable()) return affineSample(images, theta, frame);
  return tf.tidy(() => gridSample(images, affineGrid(theta, frame)));
}

/**
 * Compose per-image matrices as 3x3 products: the result maps output → input
 * through `inner` first, then `outer` (outer ∘ inner). Differentiable.
 */
export function composeTheta(outer: tf.Tensor3D, inner: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const b = Math.max(outer.shape[0], inner.shape[0]);
    const lastRow = tf.tensor3d([0, 0, 1], [1, 1, 3]).tile([b, 1, 1]);
    const o = tf.concat([outer.tile([b / outer.shape[0], 1, 1]), lastRow], 1);
    const i = tf.concat([inner.tile([b / inner.shape[0], 1, 1]), lastRow], 1);
    return tf.matMul(o, i).slice([0, 0, 0], [b, 2, 3]) as tf.Tensor3D;
  });
}
