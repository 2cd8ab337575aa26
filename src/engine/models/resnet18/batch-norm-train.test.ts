import * as tf from '../../tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../testing/tf-backend';
import { batchNormTrain } from './batch-norm-train';

beforeAll(async () => { await useBackend(); });

/** The plain elementwise formulation (what autodiff differentiates). */
function reference(x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return x.sub(mean).mul(variance.add(eps).rsqrt()).mul(g).add(b);
}

describe('fused training batch norm', () => {
  it('matches the elementwise formulation: output and gradients to x, γ, β; reports the moments; no leaks', () => {
    const x = tf.randomNormal([3, 5, 4, 6], 0.7, 2, 'float32', 1) as tf.Tensor4D;
    const g = tf.randomUniform([6], 0.5, 1.5, 'float32', 2) as tf.Tensor1D;
    const b = tf.randomNormal([6], 0, 1, 'float32', 3) as tf.Tensor1D;
    const w = tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 4);
    const before = tf.memory().numTensors;
    const diff = (p: tf.Tensor, q: tf.Tensor) => tf.tidy(() => p.sub(q).abs().max().dataSync()[0] / Math.max(1e-6, q.abs().max().dataSync()[0]));
    let seen: number[] = [];
    const f = tf.tidy(() => batchNormTrain(x, g, b, 1e-5, (m) => { seen = Array.from(m.dataSync()); }));
    const r = tf.tidy(() => reference(x, g, b, 1e-5));
    expect(diff(f, r)).toBeLessThan(1e-5);
    const mean = tf.tidy(() => Array.from(tf.moments(x, [0, 1, 2]).mean.dataSync()));
    seen.forEach((v, i) => expect(v).toBeCloseTo(mean[i], 5));
    const loss = (fn: typeof reference) => (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => fn(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-5).mul(w).sum();
    const gf = tf.grads(loss((a, c, d, e) => batchNormTrain(a, c, d, e)))([x, g, b]);
    const gr = tf.grads(loss(reference))([x, g, b]);
    for (let i = 0; i < 3; i++) expect(diff(gf[i], gr[i])).toBeLessThan(1e-4);
    tf.dispose([f, r, ...gf, ...gr]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, g, b, w]);
  });
});
