import * as tf from '../tf';
import type { Size } from '../affine/affine';

/**
 * Normalized (align_corners=False) coordinates of every pixel centre of a frame,
 * as two [1, H·W] rows. Cached because every warp of a frame size reuses them.
 */
const baseCache = new Map<string, { xs: Float32Array; ys: Float32Array }>();

export function frameCoordinates(frame: Size): { xs: Float32Array; ys: Float32Array } {
  const key = `${frame.width}x${frame.height}`;
  let hit = baseCache.get(key);
  if (!hit) {
    const n = frame.width * frame.height;
    const xs = new Float32Array(n);
    const ys = new Float32Array(n);
    for (let i = 0; i < frame.height; i++) {
      const y = (2 * i + 1) / frame.height - 1;
      for (let j = 0; j < frame.width; j++) {
        xs[i * frame.width + j] = (2 * j + 1) / frame.width - 1;
        ys[i * frame.width + j] = y;
      }
    }
    hit = { xs, ys };
    if (baseCache.size > 32) baseCache.clear();
    baseCache.set(key, hit);
  }
  return hit;
}

/**
 * PyTorch `affine_grid(theta, [B, C, H, W], align_corners=False)`:
 * theta [B, 2, 3] → grid [B, H, W, 2] holding (x, y) input coordinates.
 * Written with broadcasts rather than a batched matMul so the gradient to theta
 * is plain elementwise arithmetic on every backend.
 */
export function affineGrid(theta: tf.Tensor3D, frame: Size): tf.Tensor4D {
  return tf.tidy(() => {
    const b = theta.shape[0];
    const { xs, ys } = frameCoordinates(frame);
    const x = tf.tensor2d(xs, [1, xs.length]);
    const y = tf.tensor2d(ys, [1, ys.length]);
    const t = theta.reshape([b, 6]);
    const col = (k: number) => t.slice([0, k], [b, 1]);
    const gx = col(0).mul(x).add(col(1).mul(y)).add(col(2));
    const gy = col(3).mul(x).add(col(4).mul(y)).add(col(5));
    return tf.stack([gx, gy], 2).reshape([b, frame.height, frame.width, 2]) as tf.Tensor4D;
  });
}
