import * as tf from '../tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../testing/tf-backend';
import { applyToPoint, paramsToMatrix, type AffineMatrix } from '../affine/affine';
import { matrixTargetLoss } from './matrix-target';

beforeAll(async () => { await useBackend(); });

const CORNERS = [[-1, -1], [1, -1], [-1, 1], [1, 1]] as const;
const cornerMse = (a: AffineMatrix, b: AffineMatrix) => CORNERS.reduce((s, [x, y]) => {
  const p = applyToPoint(a, { x, y });
  const q = applyToPoint(b, { x, y });
  return s + ((p.x - q.x) ** 2 + (p.y - q.y) ** 2) / 4;
}, 0);

describe('matrixTargetLoss', () => {
  it('is the mean squared corner displacement, over the films that have a target', async () => {
    const a = paramsToMatrix([0.1, -0.05, 1.1, 0.9, 0.2]);
    const b = paramsToMatrix([0.02, 0.03, 1, 1.05, -0.1]);
    const c = paramsToMatrix([-0.3, 0.2, 0.8, 0.8, 0.4]);
    const theta = tf.tensor3d([a, a, c].flatMap((m) => m.flat()), [3, 2, 3]);
    const target = tf.tensor3d([b, a, [[9, 9, 9], [9, 9, 9]] as AffineMatrix].flatMap((m) => m.flat()), [3, 2, 3]);
    const mask = tf.tensor1d([1, 1, 0]);
    const before = tf.memory().numTensors;
    const l = matrixTargetLoss(theta, target, mask);
    expect(tf.memory().numTensors).toBe(before + 1);
    // Film 3 has no target (mask 0): its absurd "target" must not count.
    expect((await l.data())[0]).toBeCloseTo((cornerMse(a, b) + 0) / 2, 6);
    tf.dispose([theta, target, mask, l]);
  });

  it('is zero at the target and pulls the prediction toward it', () => {
    const t = paramsToMatrix([0.1, 0.1, 1.2, 1.1, 0.05]);
    const target = tf.tensor3d(t.flat(), [1, 2, 3]);
    const mask = tf.ones([1]) as tf.Tensor1D;
    const init = tf.tensor3d(paramsToMatrix([0, 0, 1, 1, 0]).flat(), [1, 2, 3]);
    const v = tf.variable(init);
    const start = tf.tidy(() => matrixTargetLoss(v as unknown as tf.Tensor3D, target, mask).dataSync()[0]);
    const opt = tf.train.sgd(0.2);
    for (let i = 0; i < 20; i++) opt.minimize(() => matrixTargetLoss(v as unknown as tf.Tensor3D, target, mask));
    const end = tf.tidy(() => matrixTargetLoss(v as unknown as tf.Tensor3D, target, mask).dataSync()[0]);
    expect(start).toBeGreaterThan(0.01);
    expect(end).toBeLessThan(start * 1e-3);
    expect(tf.tidy(() => matrixTargetLoss(target, target, mask).dataSync()[0])).toBe(0);
    tf.dispose([target, mask, v, init]);
    opt.dispose();
  });
});
