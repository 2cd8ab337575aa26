import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// In Node, tfjs-core resolves to its CJS bundle, which carries no gradient
// definitions; the union package registers them (and the CPU backend).
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmGradKernels } from './wasm-grad-kernels';
import { registerWasmConv } from './wasm-conv';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { defaultWasmThreads, prepareNodeWasm } from '../../../cli/wasm-threads';
import { relErr, values } from '../../testing/arrays';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  x: Shape4;
  w: Shape4;
  strides: number | [number, number];
  pad: Pad;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Runs f on 'cpu' then on 'wasm' and returns both results as flat arrays. */
async function onBoth(f: () => tf.Tensor[]): Promise<{ cpu: Float32Array[]; wasm: Float32Array[] }> {
  const read = async (backend: string) => {
    await tf.setBackend(backend);
    const outs = tf.tidy(f);
    const data = await Promise.all(outs.map(async (t) => new Float32Array(await t.data())));
    tf.dispose(outs);
    return data;
  };
  const cpu = await read('cpu');
  const wasm = await read('wasm');
  return { cpu, wasm };
}

function convGrads(c: ConvCase, seed: number): () => tf.Tensor[] {
  const xv = values(size(c.x), seed);
  const wv = values(size(c.w), seed + 1);
  return () => {
    const x = tf.tensor4d(xv, c.x);
    const w = tf.tensor4d(wv, c.w);
    const y = tf.conv2d(x, w, c.strides, c.pad);
    // A non-uniform upstream gradient exercises every dy element.
    const dyv = values(size(y.shape), seed + 2);
    const dy = tf.tensor(dyv, y.shape);
    const loss = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), dy));
    const [dx, dw] = tf.grads(loss)([x, w]);
    return [dx, dw, y];
  };
}

const cases: ConvCase[] = [
  { x: [1, 5, 5, 1], w: [3, 3, 1, 1], strides: 1, pad: 'same' },
  { x: [3, 8, 8, 4], w: [3, 3, 4, 6], strides: 1, pad: 'same' },
  { x: [1, 13, 13, 16], w: [3, 3, 16, 16], strides: 1, pad: 'valid' },
  { x: [3, 8, 8, 4], w: [3, 3, 4, 6], strides: 2, pad: 'same' },
  { x: [2, 9, 9, 3], w: [3, 3, 3, 5], strides: 2, pad: 'same' },
  { x: [2, 9, 9, 3], w: [3, 3, 3, 5], strides: 2, pad: 'valid' },
  { x: [2, 10, 10, 3], w: [3, 3, 3, 5], strides: 2, pad: 'valid' },
  { x: [2, 10, 9, 3], w: [3, 3, 3, 5], strides: 2, pad: 1 },
  { x: [2, 9, 8, 4], w: [3, 3, 4, 3], strides: 2, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [2, 7, 10, 2], w: [3, 3, 2, 3], strides: [2, 1], pad: 'same' },
  { x: [1, 12, 12, 3], w: [7, 7, 3, 8], strides: 2, pad: 3 },
  // Ci * stride^2 > 32 takes the one-convolution-per-phase path for dx (while
  // kh*kw*Ci <= B*OH*OW; beyond it dx is one GEMM, as for the cases below).
  { x: [2, 16, 16, 12], w: [3, 3, 12, 4], strides: 2, pad: 'same' },
  { x: [2, 18, 17, 10], w: [3, 3, 10, 5], strides: 2, pad: 1 },
  { x: [2, 9, 9, 9], w: [3, 3, 9, 4], strides: 2, pad: 'same' },
  { x: [2, 10, 9, 10], w: [3, 3, 10, 4], strides: 2, pad: 1 },
  { x: [2, 9, 8, 12], w: [3, 3, 12, 3], strides: 2, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [1, 12, 11, 9], w: [7, 7, 9, 4], strides: 2, pad: 3 },
  { x: [2, 6, 6, 9], w: [1, 1, 9, 4], strides: 2, pad: 2 },
  { x: [2, 7, 10, 17], w: [3, 3, 17, 3], strides: [1, 2], pad: 'same' },
  { x: [3, 11, 11, 2], w: [7, 7, 2, 4], strides: 2, pad: 'same' },
  { x: [1, 16, 16, 3], w: [7, 7, 3, 4], strides: 1, pad: 'same' },
  { x: [3, 8, 8, 16], w: [1, 1, 16, 8], strides: 2, pad: 'valid' },
  { x: [2, 7, 7, 8], w: [1, 1, 8, 16], strides: 2, pad: 'same' },
  { x: [2, 6, 6, 5], w: [1, 1, 5, 7], strides: 1, pad: 'valid' },
  // Deep layers at a small input (kh*kw*Ci > B*OH*OW): dx as one GEMM + col2im.
  { x: [2, 4, 4, 64], w: [3, 3, 64, 32], strides: 1, pad: 'same' },
  // Stride 1 with Ci a multiple of 4: dx as one GEMM with the filter packed flipped (wasm-conv.ts),
  // layer 4's shape at two films, asymmetric explicit padding, an even 'same' kernel.
  { x: [2, 2, 2, 512], w: [3, 3, 512, 512], strides: 1, pad: 'same' },
  { x: [2, 7, 6, 8], w: [3, 3, 8, 12], strides: 1, pad: [[0, 0], [2, 0], [1, 2], [0, 0]] },
  { x: [1, 6, 5, 16], w: [2, 2, 16, 4], strides: 1, pad: 'same' },
  { x: [2, 8, 8, 16], w: [3, 3, 16, 32], strides: 2, pad: 1 },
  { x: [2, 4, 5, 48], w: [1, 1, 48, 16], strides: 2, pad: 'valid' },
  // Pads wider than the kernel turn into crops inside both kernels.
  { x: [2, 5, 5, 3], w: [1, 1, 3, 4], strides: 1, pad: 1 },
  { x: [2, 6, 6, 3], w: [1, 1, 3, 4], strides: 2, pad: 2 },
];

// Captured before registerWasmGradKernels() replaces it.
const builtinBackpropInput = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');

// CXR_WASM_THREADS=1 runs these on tfjs's single-threaded build, any other count on the threaded one.
const threads = defaultWasmThreads();

beforeAll(async () => {
  // The gradients' own convolutions run on the engine's GEMM, as in the product (backends.ts).
  registerWasmConv();
  registerWasmGradKernels();
  await prepareNodeWasm(threads);
  expect(await tf.setBackend('wasm')).toBe(true);
  expect(getThreadsCount()).toBe(threads);
  console.log(`wasm-grad-kernels: on ${threads} WASM thread(s)`);
  // Idempotent, and valid after the backend is initialised too.
  registerWasmGradKernels();
});

describe('wasm conv2d gradients match the CPU backend', () => {
  cases.forEach((c, i) => {
    const name = `x=${c.x} w=${c.w} s=${c.strides} pad=${JSON.stringify(c.pad)}`;
    it(name, async () => {
      const { cpu, wasm } = await onBoth(convGrads(c, 100 + 7 * i));
      expect(relErr(wasm[2], cpu[2]), 'forward').toBeLessThan(1e-4);
      expect(relErr(wasm[0], cpu[0]), 'dx').toBeLessThan(1e-4);
      expect(relErr(wasm[1], cpu[1]), 'dW').toBeLessThan(1e-4);
    });
  });

  // tf.grad cannot cover this: the Conv2D gradient drops dimRoundingMode, and
  // wasm's forward Conv2D ignores it. The kernels themselves must honour it.
  it("kernels honour dimRoundingMode 'ceil' (last window past the input)", async () => {
    const attrs = { strides: [2, 2], pad: 0, dataFormat: 'NHWC', dimRoundingMode: 'ceil' };
    const xv = values(2 * 10 * 9 * 3, 31);
    const wv = values(3 * 3 * 3 * 4, 32);
    const dyv = values(2 * 5 * 4 * 4, 33);
    const { cpu, wasm } = await onBoth(() => {
      const x = tf.tensor4d(xv, [2, 10, 9, 3]);
      const filter = tf.tensor4d(wv, [3, 3, 3, 4]);
      const dy = tf.tensor4d(dyv, [2, 5, 4, 4]);
      return [
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { ...attrs, inputShape: [2, 10, 9, 3] }) as tf.Tensor,
        tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: [3, 3, 3, 4] }) as tf.Tensor,
      ];
    });
    expect(relErr(wasm[0], cpu[0]), 'dx').toBeLessThan(1e-4);
    expect(relErr(wasm[1], cpu[1]), 'dW').toBeLessThan(1e-4);
  });

  it('fused conv2d (bias + relu) gradients', async () => {
    const xv = values(2 * 9 * 9 * 4, 7);
    const wv = values(3 * 3 * 4 * 6, 8);
    const bv = values(6, 9);
    const { cpu, wasm } = await onBoth(() => {
      const x = tf.tensor4d(xv, [2, 9, 9, 4]);
      const w = tf.tensor4d(wv, [3, 3, 4, 6]);
      const bias = tf.tensor1d(bv);
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(tf.fused.conv2d({
        x: a as tf.Tensor4D, filter: b as tf.Tensor4D, bias: c, strides: 2, pad: 'same', activation: 'relu',
      })));
      return tf.grads(f)([x, w, bias]);
    });
    for (let k = 0; k < 3; k++) expect(relErr(wasm[k], cpu[k])).toBeLessThan(1e-4);
  });

  it('re-asserts its kernels if a late wasm import re-registers the built-ins', async () => {
    expect(builtinBackpropInput).toBeDefined();
    const ours = tf.getKernel(tf.Conv2DBackpropInput, 'wasm')?.kernelFunc;
    expect(ours).not.toBe(builtinBackpropInput?.kernelFunc);
    tf.unregisterKernel(tf.Conv2DBackpropInput, 'wasm');
    tf.registerKernel(builtinBackpropInput!);
    const { cpu, wasm } = await onBoth(convGrads(cases[3], 5));
    expect(tf.getKernel(tf.Conv2DBackpropInput, 'wasm')?.kernelFunc).toBe(ours);
    expect(relErr(wasm[0], cpu[0])).toBeLessThan(1e-4);
    expect(relErr(wasm[1], cpu[1])).toBeLessThan(1e-4);
  });

  it('hands NCHW input gradients to the built-in kernel', async () => {
    const dyv = values(2 * 3 * 4 * 4, 51);
    const wv = values(3 * 3 * 5 * 3, 52);
    const { cpu, wasm } = await onBoth(() => [tf.engine().runKernel(tf.Conv2DBackpropInput, {
      dy: tf.tensor4d(dyv, [2, 3, 4, 4]), filter: tf.tensor4d(wv, [3, 3, 5, 3]),
    }, { strides: [2, 2], pad: 'same', dataFormat: 'NCHW', inputShape: [2, 5, 8, 7] }) as tf.Tensor]);
    expect(relErr(wasm[0], cpu[0])).toBeLessThan(1e-4);
  });

  it('rejects NCHW in the filter gradient with a clear error', () => {
    const x = tf.zeros([1, 2, 5, 5]);
    const dy = tf.zeros([1, 3, 5, 5]);
    expect(() => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
      strides: [1, 1], pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 3],
    })).toThrow(/NHWC/);
    tf.dispose([x, dy]);
  });

  it('does not leak wasm tensors across gradient steps', async () => {
    await tf.setBackend('wasm');
    // Covers stride 1, the combined and per-phase stride-2 dx paths, crops
    // from over-wide pads, and max pooling.
    const configs: Array<[Shape4, Shape4, number, Pad]> = [
      [[2, 9, 9, 4], [3, 3, 4, 5], 1, 'same'],
      [[2, 9, 9, 4], [3, 3, 4, 5], 2, 'same'],
      [[2, 9, 9, 12], [3, 3, 12, 5], 2, 1],
      [[2, 6, 6, 12], [1, 1, 12, 5], 2, 2],
      [[2, 10, 10, 3], [3, 3, 3, 5], 2, 'valid'],
    ];
    for (const [xs, ws, s, pad] of configs) {
      const x = tf.tensor4d(values(size(xs), 1), xs);
      const w = tf.tensor4d(values(size(ws), 2), ws);
      const step = () => tf.tidy(() => {
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.maxPool(
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), 3, 2, 1)))([x, w]);
        return tf.add(tf.sum(dx), tf.sum(dw));
      });
      step().dispose();
      const before = tf.engine().backend.numDataIds();
      step().dispose();
      expect(tf.engine().backend.numDataIds(), JSON.stringify([xs, ws, s, pad])).toBe(before);
      tf.dispose([x, w]);
    }
  });
});

describe('ResNet training-step ops on wasm', () => {
  const pools: Array<{ x: Shape4; f: number; s: number; pad: 'same' | 'valid' | number }> = [
    { x: [2, 9, 10, 3], f: 3, s: 2, pad: 1 },
    { x: [2, 9, 10, 3], f: 3, s: 2, pad: 'same' },
    { x: [1, 9, 10, 1], f: 3, s: 2, pad: 'same' },
    { x: [3, 8, 8, 16], f: 3, s: 2, pad: 1 },
    { x: [2, 11, 7, 5], f: 3, s: 2, pad: 'valid' },
    { x: [2, 6, 6, 4], f: 2, s: 2, pad: 'valid' },
    { x: [1, 7, 7, 2], f: 3, s: 1, pad: 'same' },
  ];
  pools.forEach((p, i) => {
    it(`max pool grad x=${p.x} ${p.f}x${p.f}/${p.s} pad=${p.pad}`, async () => {
      const xv = values(size(p.x), 40 + i);
      // Repeated values make ties, which must resolve like the CPU backend.
      for (let k = 0; k < xv.length; k += 3) xv[k] = 0.25;
      const { cpu, wasm } = await onBoth(() => {
        const x = tf.tensor4d(xv, p.x);
        const y = tf.maxPool(x, p.f, p.s, p.pad);
        const dy = tf.tensor(values(size(y.shape), 60 + i), y.shape);
        const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, p.f, p.s, p.pad), dy)))(x);
        return [y, g];
      });
      expect(relErr(wasm[0], cpu[0]), 'forward').toBeLessThan(1e-6);
      expect(relErr(wasm[1], cpu[1]), 'grad').toBeLessThan(1e-6);
    });
  });

  it('a residual block step (conv, batch-norm via moments, relu, maxPool, add, mean, matMul, MSE)', async () => {
    const xv = values(3 * 12 * 12 * 3, 21);
    const w1v = values(7 * 7 * 3 * 8, 22);
    const w2v = values(3 * 3 * 8 * 8, 23);
    const w3v = values(1 * 1 * 8 * 16, 24);
    const w4v = values(3 * 3 * 8 * 16, 25);
    const fcv = values(16 * 4, 26);
    const tv = values(3 * 4, 27);
    const { cpu, wasm } = await onBoth(() => {
      const x = tf.tensor4d(xv, [3, 12, 12, 3]);
      const target = tf.tensor2d(tv, [3, 4]);
      const params = [
        tf.tensor4d(w1v, [7, 7, 3, 8]), tf.tensor4d(w2v, [3, 3, 8, 8]),
        tf.tensor4d(w3v, [1, 1, 8, 16]), tf.tensor4d(w4v, [3, 3, 8, 16]),
        tf.tensor2d(fcv, [16, 4]), tf.ones([8]), tf.zeros([8]),
      ];
      const bn = (t: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor) => {
        const { mean, variance } = tf.moments(t, [0, 1, 2]);
        return tf.add(tf.mul(tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta) as tf.Tensor4D;
      };
      const loss = (...p: tf.Tensor[]) => {
        const [w1, w2, w3, w4, fc, gamma, beta] = p as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor2D, tf.Tensor, tf.Tensor];
        let h: tf.Tensor4D = tf.relu(bn(tf.conv2d(x, w1, 2, 3), gamma, beta));
        h = tf.maxPool(h, 3, 2, 1);
        const r = tf.relu(tf.add(h, tf.conv2d(h, w2, 1, 'same'))) as tf.Tensor4D;
        const down = tf.add(tf.conv2d(r, w3, 2, 'valid'), tf.conv2d(r, w4, 2, 'same'));
        const pooled = tf.mean(tf.relu(down), [1, 2]) as tf.Tensor2D;
        return tf.mean(tf.square(tf.sub(tf.matMul(pooled, fc), target)));
      };
      const { value, grads } = tf.valueAndGrads(loss)(params);
      return [value, ...grads];
    });
    for (let k = 0; k < cpu.length; k++) expect(relErr(wasm[k], cpu[k]), `output ${k}`).toBeLessThan(1e-4);
  });
});
