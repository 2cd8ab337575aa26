import * as tf from '../../tf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../backend/backends';
import { hostSimd } from '../../backend/simd/host-simd';
import { useBackend } from '../../../testing/tf-backend';
import { batchNormTrain } from './batch-norm-train';

beforeAll(async () => { await useBackend(); });
afterAll(async () => { await tf.setBackend('wasm'); });

/** The plain elementwise formulation (what autodiff differentiates). */
function reference(x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D, eps: number, relu: boolean): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const y = x.sub(mean).mul(variance.add(eps).rsqrt()).mul(g).add(b) as tf.Tensor4D;
  return relu ? tf.relu(y) : y;
}

// C = 6: the kernels' scalar loops; C = 8 on wasm: host-kernels.wat's SIMD loops (C % 4 == 0).
const cases = [
  { backend: 'wasm', shape: [3, 5, 4, 6], relu: false },
  { backend: 'wasm', shape: [3, 5, 4, 6], relu: true },
  { backend: 'wasm', shape: [2, 5, 3, 8], relu: false },
  { backend: 'wasm', shape: [2, 5, 3, 8], relu: true },
  { backend: 'cpu', shape: [2, 5, 3, 8], relu: true },
] as const;

describe('fused training batch norm (+ ReLU)', () => {
  it.each(cases)('$backend $shape relu=$relu: output and gradients to x, γ, β match the elementwise formulation; moments reported; no leaks', async ({ backend, shape, relu }) => {
    if (backend === 'cpu') await initBackend(['cpu']);
    else await tf.setBackend('wasm');
    if (backend === 'wasm' && shape[3] % 4 === 0) expect(hostSimd(tf.backend()), 'SIMD loops on the wasm heap').not.toBeNull();
    const C = shape[3];
    const x = tf.randomNormal([...shape], 0.7, 2, 'float32', 1) as tf.Tensor4D;
    const g = tf.randomUniform([C], 0.5, 1.5, 'float32', 2) as tf.Tensor1D;
    const b = tf.randomNormal([C], 0, 1, 'float32', 3) as tf.Tensor1D;
    const w = tf.randomNormal([...shape], 0, 1, 'float32', 4);
    const before = tf.memory().numTensors;
    const diff = (p: tf.Tensor, q: tf.Tensor) => tf.tidy(() => p.sub(q).abs().max().dataSync()[0] / Math.max(1e-6, q.abs().max().dataSync()[0]));
    let seen: number[] = [];
    let seenVar: number[] = [];
    const f = tf.tidy(() => batchNormTrain(x, g, b, 1e-5, (m, v) => { seen = Array.from(m.dataSync()); seenVar = Array.from(v.dataSync()); }, relu));
    const r = tf.tidy(() => reference(x, g, b, 1e-5, relu));
    expect(diff(f, r)).toBeLessThan(1e-5);
    if (relu) expect(tf.tidy(() => f.min().dataSync()[0])).toBe(0);
    const m = tf.tidy(() => { const mm = tf.moments(x, [0, 1, 2]); return [Array.from(mm.mean.dataSync()), Array.from(mm.variance.dataSync())]; });
    seen.forEach((v, i) => expect(v).toBeCloseTo(m[0][i], 5));
    seenVar.forEach((v, i) => expect(v).toBeCloseTo(m[1][i], 4));
    const loss = (fn: typeof reference) => (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => fn(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-5, relu).mul(w).sum();
    const gf = tf.grads(loss((a, c, d, e, rl) => batchNormTrain(a, c, d, e, undefined, rl)))([x, g, b]);
    const gr = tf.grads(loss(reference))([x, g, b]);
    for (let i = 0; i < 3; i++) expect(diff(gf[i], gr[i]), ['dx', 'dγ', 'dβ'][i]).toBeLessThan(1e-4);
    tf.dispose([f, r, ...gf, ...gr]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, g, b, w]);
  });

  it('a NaN in the input stays NaN through the ReLU (a diverged step is seen, not zeroed)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d([1, 2, NaN, 4, 5, 6, 7, 8], [1, 2, 1, 4]);
    const y = batchNormTrain(x, tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D, 1e-5, undefined, true);
    const v = await y.data();
    expect(Number.isNaN(v[2]) && Number.isNaN(v[6])).toBe(true);
    tf.dispose([x, y]);
  });
});
