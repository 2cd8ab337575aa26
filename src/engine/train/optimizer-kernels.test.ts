import * as tf from '../tf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/backends';
import { hostSimd } from '../backend/simd/host-simd';
import { useBackend } from '../../testing/tf-backend';
import { AdamW, gradientNorm } from './adamw';

beforeAll(async () => { await useBackend(); });
afterAll(async () => { await tf.setBackend('wasm'); });

/** torch.optim.AdamW's update in float64, the reference. */
function referenceAdamW(w: Float64Array, grads: Float64Array[], lr: number, wd: number): Float64Array {
  const m = new Float64Array(w.length);
  const v = new Float64Array(w.length);
  const out = Float64Array.from(w);
  grads.forEach((g, s) => {
    const bc1 = 1 - 0.9 ** (s + 1);
    const bc2 = 1 - 0.999 ** (s + 1);
    for (let i = 0; i < w.length; i++) {
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
      out[i] = out[i] * (1 - lr * wd) - (lr * m[i] / bc1) / (Math.sqrt(v[i] / bc2) + 1e-8);
    }
  });
  return out;
}

// Sizes not a multiple of 4 take the scalar loop for their tail, 4099 the SIMD loop for the rest.
describe.each(['wasm', 'cpu'] as const)('optimizer kernels on %s', (backend) => {
  it.each([1, 7, 4099])('AdamW over %i weights follows torch.optim.AdamW for 3 steps; no leaks', async (n) => {
    if (backend === 'cpu') await initBackend(['cpu']);
    else await tf.setBackend('wasm');
    if (backend === 'wasm') expect(hostSimd(tf.backend())).not.toBeNull();
    const w0 = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
    const gs = [1, 2, 3].map((s) => Float64Array.from({ length: n }, (_, i) => Math.cos(i * s) * 0.1 * s));
    const w = tf.variable(tf.tensor1d(Float32Array.from(w0)));
    const opt = new AdamW();
    const before = tf.memory().numTensors;
    for (const g of gs) {
      const gt = tf.tensor1d(Float32Array.from(g));
      opt.apply(new Map([['w', w]]), new Map([['w', gt]]), 1e-2);
      gt.dispose();
    }
    expect(tf.memory().numTensors).toBe(before + 2); // the two moment slots, nothing else
    const got = await w.data();
    const want = referenceAdamW(w0, gs, 1e-2, 1e-4);
    for (let i = 0; i < n; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(want[i])));
    opt.dispose();
    w.dispose();
  });

  it('the gradient norm is √Σg² over every tensor, tails included', async () => {
    if (backend === 'cpu') await initBackend(['cpu']);
    else await tf.setBackend('wasm');
    const parts = [3, 4, 4097].map((n, k) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * (k + 1)) + 0.5));
    const ts = parts.map((p) => tf.tensor1d(p));
    const before = tf.memory().numTensors;
    const norm = gradientNorm(ts);
    const want = Math.sqrt(parts.reduce((s, p) => s + p.reduce((a, x) => a + x * x, 0), 0));
    expect((await norm.data())[0]).toBeCloseTo(want, 3);
    norm.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(ts);
  });
});
