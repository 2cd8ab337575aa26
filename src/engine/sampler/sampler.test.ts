import * as tf from '../tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { paramsToMatrix } from '../affine/affine';
import { useBackend } from '../../testing/tf-backend';
import { affineGrid } from './affine-grid';
import { gridSample, gridSampleDifferentiable } from './grid-sample';
import { composeTheta, warpAffine } from './warp';

beforeAll(async () => { await useBackend(); });

const ramp = () => tf.tensor4d(Array.from({ length: 30 }, (_, i) => i / 29), [1, 5, 6, 1]);

describe('affine grid + bilinear sampler', () => {
  it('identity warp returns the image', () => {
    const img = tf.randomUniform([2, 7, 9, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const theta = tf.tensor3d([1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0], [2, 2, 3]);
    const out = warpAffine(img, theta, { width: 9, height: 7 });
    expect(out.shape).toEqual([2, 7, 9, 3]);
    const diff = out.sub(img).abs().max().dataSync()[0];
    expect(diff).toBeLessThan(1e-6);
    tf.dispose([img, theta, out]);
  });

  it('matches PyTorch affine_grid + grid_sample on a rotated, scaled, shifted ramp', () => {
    // Reference printed by torch 1.13 F.grid_sample(align_corners=False, zeros) for
    // params (0.1, -0.2, 0.8, 1.1, 0.3), a 5x6 ramp, a 4x3 (HxW) output.
    const expected = [0.009365, 0.064493, 0.149702, 0.145184, 0.279415, 0.413646,
      0.400147, 0.534378, 0.668609, 0.65511, 0.789341, 0.923572];
    const img = ramp();
    const theta = tf.tensor3d(paramsToMatrix([0.1, -0.2, 0.8, 1.1, 0.3]).flat(), [1, 2, 3]);
    const out = warpAffine(img, theta, { width: 3, height: 4 });
    const got = Array.from(out.dataSync());
    got.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(1e-5));
    tf.dispose([img, theta, out]);
  });

  it('a shift by one pixel moves the image and pads with zeros', () => {
    // tx = 2/W shifts the sampled point by exactly one input pixel to the right.
    const img = ramp();
    const theta = tf.tensor3d([1, 0, 2 / 6, 0, 1, 0], [1, 2, 3]);
    const out = warpAffine(img, theta, { width: 6, height: 5 }).dataSync();
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) expect(out[i * 6 + j]).toBeCloseTo((i * 6 + j + 1) / 29, 5);
      expect(out[i * 6 + 5]).toBeCloseTo(0, 6);
    }
    tf.dispose([img, theta]);
  });

  it('gradient wrt θ matches central finite differences', () => {
    const img = tf.randomUniform([2, 12, 10, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
    const smooth = tf.avgPool(img, 3, 1, 'same') as tf.Tensor4D; // smooth so FD is well-posed
    const target = tf.randomUniform([2, 8, 6, 1], 0, 1, 'float32', 3);
    const frame = { width: 6, height: 8 };
    const loss = (th: tf.Tensor) => warpAffine(smooth, th as tf.Tensor3D, frame).sub(target).square().mean() as tf.Scalar;
    const base = [...paramsToMatrix([0.05, -0.1, 0.9, 0.8, 0.2]).flat(), ...paramsToMatrix([-0.1, 0.02, 1.1, 0.95, -0.15]).flat()];
    const theta = tf.tensor3d(base, [2, 2, 3]);
    const g = tf.grad(loss)(theta).dataSync();
    // Bilinear sampling is piecewise smooth: a small step keeps most sample
    // points inside their pixel cell, so the difference quotient is meaningful.
    const eps = 2e-4;
    const fd = base.map((_, k) => {
      const plus = base.slice(); plus[k] += eps;
      const minus = base.slice(); minus[k] -= eps;
      const lp = tf.tidy(() => loss(tf.tensor3d(plus, [2, 2, 3])).dataSync()[0]);
      const lm = tf.tidy(() => loss(tf.tensor3d(minus, [2, 2, 3])).dataSync()[0]);
      return (lp - lm) / (2 * eps);
    });
    const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));
    const err = norm(fd.map((v, k) => v - g[k]));
    expect(err / norm(fd)).toBeLessThan(1e-2);
    fd.forEach((v, k) => expect(Math.abs(g[k] - v)).toBeLessThan(0.05 * norm(fd)));
    tf.dispose([img, smooth, target, theta]);
  });

  it('the differentiable variant agrees and passes gradients to the image', () => {
    const img = tf.randomUniform([1, 6, 6, 2], 0, 1, 'float32', 5) as tf.Tensor4D;
    const grid = affineGrid(tf.tensor3d(paramsToMatrix([0.1, 0.1, 0.8, 0.9, 0.3]).flat(), [1, 2, 3]), { width: 5, height: 4 });
    const a = gridSample(img, grid);
    const b = gridSampleDifferentiable(img, grid);
    expect(a.sub(b).abs().max().dataSync()[0]).toBeLessThan(1e-6);
    const gi = tf.grad((x: tf.Tensor) => gridSampleDifferentiable(x as tf.Tensor4D, grid).sum() as tf.Scalar)(img);
    // Each output pixel spreads weight 1 over its (inside) neighbours: the total is ≤ outputs x channels.
    const total = gi.sum().dataSync()[0];
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(5 * 4 * 2 + 1e-4);
    tf.dispose([img, grid, a, b, gi]);
  });

  it('composes θ so one warp equals two', () => {
    const img = tf.randomUniform([1, 16, 16, 1], 0, 1, 'float32', 11) as tf.Tensor4D;
    const outer = tf.tensor3d(paramsToMatrix([0.05, 0, 1, 1, 0]).flat(), [1, 2, 3]);
    const inner = tf.tensor3d(paramsToMatrix([0, 0.05, 1, 1, 0]).flat(), [1, 2, 3]);
    const both = composeTheta(outer, inner).dataSync();
    expect(Array.from(both).map((v) => +v.toFixed(6))).toEqual([1, 0, 0.05, 0, 1, 0.05]);
    tf.dispose([img, outer, inner]);
  });

  it('does not leak tensors', () => {
    const img = tf.randomUniform([1, 8, 8, 1]) as tf.Tensor4D;
    const theta = tf.tensor3d([1, 0, 0, 0, 1, 0], [1, 2, 3]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      warpAffine(img, theta, { width: 4, height: 4 }).dispose();
      tf.grad((t: tf.Tensor) => warpAffine(img, t as tf.Tensor3D, { width: 4, height: 4 }).sum() as tf.Scalar)(theta).dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([img, theta]);
  });
});
