import * as tf from '../tf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../testing/tf-backend';
import { paramsToMatrix } from '../affine/affine';
import { warpAffine } from './warp';
import { affineSample, affineSampleAvailable } from './affine-sample-kernel';

const THETAS = [
  [[1, 0, 0], [0, 1, 0]],
  paramsToMatrix([0.2, -0.1, 0.8, 1.1, 0.3]),
  paramsToMatrix([-0.6, 0.7, 1.4, 0.6, -0.5]), // mostly outside: zero padding and border corners
  [[0.9, 0.2, 0.05], [-0.15, 1.2, -0.3]],
].flat(2);

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`fused affine sampler on ${backend}`, () => {
    beforeAll(async () => { await useBackend(backend); });
    afterAll(() => { tf.disposeVariables(); });

    it('is registered', () => { expect(affineSampleAvailable()).toBe(true); });

    for (const c of [1, 2]) {
      it(`forward and d/dθ equal the composed sampler (C=${c})`, () => {
        const frame = { width: 23, height: 19 };
        const images = tf.randomUniform([4, 17, 29, c], 0, 1, 'float32', 11) as tf.Tensor4D;
        const theta = tf.tensor3d(THETAS, [4, 2, 3]);
        const weights = tf.randomNormal([4, frame.height, frame.width, c], 0, 1, 'float32', 12);
        const before = tf.memory().numTensors;
        const a = warpAffine(images, theta, frame);
        const b = affineSample(images, theta, frame);
        expect(b.shape).toEqual(a.shape);
        const maxAbs = (x: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(x)).dataSync()[0]);
        const diff = (x: tf.Tensor, y: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(x.sub(y))).dataSync()[0]);
        expect(diff(a, b)).toBeLessThan(1e-5);
        const lossOf = (f: typeof warpAffine) => (th: tf.Tensor) => f(images, th as tf.Tensor3D, frame).mul(weights).sum();
        const ga = tf.grad(lossOf(warpAffine))(theta);
        const gb = tf.grad(lossOf(affineSample))(theta);
        const scale = maxAbs(ga);
        expect(scale).toBeGreaterThan(0.1);
        expect(diff(ga, gb) / scale).toBeLessThan(2e-4);
        tf.dispose([a, b, ga, gb]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([images, theta, weights]);
      });
    }
  });
}
