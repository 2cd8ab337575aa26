import * as tf from '../tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../testing/tf-backend';
import { randomVgg } from '../models/vgg/vgg';
import { AlignmentLoss, disposeLoss, readLoss, type LossSpec } from './alignment-loss';
import { globalNcc, localNcc, multiScale, pixelMse } from './similarity';

beforeAll(async () => { await useBackend(); });

const img = (seed: number) => tf.tidy(() => tf.avgPool(tf.randomUniform([2, 32, 24, 1], 0, 1, 'float32', seed) as tf.Tensor4D, 3, 1, 'same') as tf.Tensor4D);
const scalar = (t: tf.Scalar) => { const v = t.dataSync()[0]; t.dispose(); return v; };

describe('similarities', () => {
  it('are zero for identical images', () => {
    const a = img(1);
    expect(scalar(pixelMse(a, a))).toBeCloseTo(0, 6);
    expect(scalar(globalNcc(a, a))).toBeCloseTo(0, 2);
    expect(scalar(localNcc(a, a, 5))).toBeCloseTo(0, 2);
    a.dispose();
  });

  it('NCC ignores brightness and contrast, pixel MSE does not', () => {
    const a = img(1);
    const b = tf.tidy(() => a.mul(0.6).add(0.3)) as tf.Tensor4D;
    expect(scalar(globalNcc(b, a))).toBeCloseTo(0, 2);
    expect(scalar(localNcc(b, a, 7))).toBeLessThan(0.02);
    expect(scalar(pixelMse(b, a))).toBeGreaterThan(0.01);
    tf.dispose([a, b]);
  });

  it('rank unrelated images as worse than a slightly shifted copy', () => {
    const a = img(1);
    const shifted = tf.tidy(() => tf.concat([a.slice([0, 1, 0, 0], [-1, 31, -1, -1]), a.slice([0, 31, 0, 0], [-1, 1, -1, -1])], 1)) as tf.Tensor4D;
    const other = img(2);
    for (const f of [(x: tf.Tensor4D) => localNcc(x, a, 9), (x: tf.Tensor4D) => globalNcc(x, a), (x: tf.Tensor4D) => multiScale((w, t) => localNcc(w, t, 5), x, a, 3)]) {
      expect(scalar(f(shifted))).toBeLessThan(scalar(f(other)));
    }
    tf.dispose([a, shifted, other]);
  });
});

describe('local NCC over a batch with one template', () => {
  it('is the mean of the films\' own values, with each film\'s own gradient', () => {
    const first = (x: tf.Tensor4D) => tf.tidy(() => x.slice([0, 0, 0, 0], [1, -1, -1, -1])) as tf.Tensor4D;
    const [t, a, b] = [1, 2, 3].map((seed) => { const x = img(seed); const y = first(x); x.dispose(); return y; });
    const c = tf.tidy(() => b.mul(0.5).add(0.2)) as tf.Tensor4D;
    b.dispose();
    const both = tf.concat([a, c]) as tf.Tensor4D;
    expect(scalar(localNcc(both, t, 9))).toBeCloseTo((scalar(localNcc(a, t, 9)) + scalar(localNcc(c, t, 9))) / 2, 5);
    const g = tf.grad((x: tf.Tensor) => localNcc(x as tf.Tensor4D, t, 9));
    const gBoth = g(both);
    const gA = g(a);
    // Film a's part of the batch gradient is its own gradient, halved by the batch mean.
    const diff = tf.tidy(() => gBoth.slice([0, 0, 0, 0], [1, -1, -1, -1]).mul(2).sub(gA).abs().max().dataSync()[0]);
    expect(diff).toBeLessThan(1e-5);
    tf.dispose([t, a, c, both, gBoth, gA]);
  });
});

describe('AlignmentLoss', () => {
  const specs: LossSpec[] = [
    { kind: 'pixel' }, { kind: 'ncc' }, { kind: 'lncc', window: 9 },
    { kind: 'multiscale', base: 'lncc', levels: 3, window: 5 }, { kind: 'perceptual', lambda: 20 },
  ];
  for (const spec of specs) {
    it(`${spec.kind}: finite value, raw parts, gradient to the warped image, no leaks`, async () => {
      const template = tf.tidy(() => img(3).slice([0, 0, 0, 0], [1, -1, -1, -1])) as tf.Tensor4D;
      const vgg = spec.kind === 'perceptual' ? randomVgg(1) : undefined;
      const loss = new AlignmentLoss(spec, { template, perceptual: vgg });
      const x = img(4);
      const before = tf.memory().numTensors;
      const v = loss.compute(x);
      const { total, parts } = await readLoss(v);
      disposeLoss(v);
      expect(Number.isFinite(total)).toBe(true);
      if (spec.kind === 'perceptual') {
        expect(Object.keys(parts).sort()).toEqual(['perceptual', 'pixel']);
        expect(total).toBeCloseTo(parts.perceptual + 20 * parts.pixel, 4);
      }
      const gradSize = tf.tidy(() => tf.grad((w: tf.Tensor) => loss.compute(w as tf.Tensor4D).total)(x).abs().sum().dataSync()[0]);
      expect(gradSize).toBeGreaterThan(0);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, template]);
      loss.dispose();
      vgg?.params.dispose();
    });
  }
});
