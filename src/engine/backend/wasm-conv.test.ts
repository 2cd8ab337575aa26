import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { relErr, values } from '../../testing/arrays';
import { useBackend } from '../../testing/tf-backend';
import { wasmConvMode, wasmThreadsCount } from './backends';
import { instantiate, split, widePanels } from './simd/conv-gemm';
import { indirectionTable } from './wasm-conv';

type Shape4 = [number, number, number, number];

async function on(backend: string, f: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const t = tf.tidy(f);
  const v = new Float32Array(await t.data());
  t.dispose();
  return v;
}

interface Case {
  x: Shape4;
  w: Shape4;
  strides: number | [number, number];
  pad: 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
  dilations?: [number, number];
}

// Every path of the GEMM: Ci a multiple of 4 (vector packing) or not (the RGB stem's
// float packing), Co in 12-wide panels (≥ 96 columns) or 8-wide ones, with 8- and 4-wide
// tails, rows not a multiple of the tile height
// (the last tile), strides, padding, dilation (the filter gradient's), several k chunks
// (Ci·Co large: layer 4's shape at one film), and fewer rows than threads' tiles.
const cases: Case[] = [
  { x: [2, 9, 7, 16], w: [3, 3, 16, 8], strides: 1, pad: 'same' },
  { x: [1, 5, 5, 3], w: [7, 7, 3, 64], strides: 2, pad: 'same' },
  { x: [3, 20, 20, 3], w: [7, 7, 3, 64], strides: 2, pad: [[0, 0], [3, 3], [3, 3], [0, 0]] },
  { x: [2, 9, 7, 5], w: [3, 3, 5, 12], strides: 2, pad: 'same' },
  { x: [2, 11, 9, 16], w: [3, 3, 16, 20], strides: 1, pad: 'valid', dilations: [2, 1] },
  { x: [1, 7, 6, 8], w: [1, 1, 8, 4], strides: 2, pad: 'valid' },
  { x: [4, 8, 8, 64], w: [3, 3, 64, 128], strides: 2, pad: 'same' },
  { x: [1, 4, 4, 512], w: [3, 3, 512, 512], strides: 1, pad: 'same' },
  { x: [1, 3, 3, 256], w: [3, 3, 256, 516], strides: 1, pad: 'same' },
];

beforeAll(async () => {
  await useBackend('wasm');
});

describe('wasm convolutions on the engine GEMM', () => {
  it('run there: relaxed-SIMD GEMM on the threads XNNPACK has', () => {
    const threads = wasmThreadsCount()!;
    expect(wasmConvMode()).toBe(`relaxed-SIMD GEMM, ${threads} thread${threads === 1 ? '' : 's'}`);
  });

  cases.forEach((c) => {
    const name = `x=${c.x} w=${c.w} s=${c.strides} pad=${JSON.stringify(c.pad)} d=${c.dilations ?? 1}`;
    it(`${name}: Conv2D, and FusedConv2D with bias + ReLU and with bias alone, match the CPU backend`, async () => {
      const xv = values(c.x.reduce((a, b) => a * b), 3);
      const wv = values(c.w.reduce((a, b) => a * b), 5);
      const bv = values(c.w[3], 7);
      const conv = () => tf.conv2d(tf.tensor4d(xv, c.x), tf.tensor4d(wv, c.w), c.strides, c.pad, 'NHWC', c.dilations ?? 1);
      const fused = (activation: 'relu' | 'linear') => () => tf.fused.conv2d({
        x: tf.tensor4d(xv, c.x), filter: tf.tensor4d(wv, c.w), strides: c.strides, pad: c.pad,
        dilations: c.dilations ?? 1, bias: tf.tensor1d(bv), activation,
      });
      for (const f of [conv, fused('relu'), fused('linear')]) {
        const expected = await on('cpu', f);
        const before = tf.memory().numTensors;
        const got = await on('wasm', f);
        expect(tf.memory().numTensors).toBe(before);
        expect(relErr(got, expected)).toBeLessThan(2e-6);
      }
    });
  });

  it('the same filter tensor is packed once and stays right; other shapes fall back to XNNPACK correctly', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(values(2 * 6 * 6 * 8, 11), [2, 6, 6, 8]);
    const w = tf.tensor4d(values(3 * 3 * 8 * 16, 13), [3, 3, 8, 16]);
    const first = tf.conv2d(x, w, 1, 'same');
    const again = tf.conv2d(x, w, 1, 'same');
    expect(relErr(new Float32Array(again.dataSync()), new Float32Array(first.dataSync()))).toBe(0);
    // Co = 6 (not a multiple of 4) and an ELU activation go to the built-in kernels.
    const w6 = tf.tensor4d(values(3 * 3 * 8 * 6, 17), [3, 3, 8, 6]);
    const y6 = tf.conv2d(x, w6, 1, 'same');
    const elu = tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', activation: 'elu' });
    const xv = x.dataSync().slice();
    const [w6v, wv] = [w6.dataSync().slice(), w.dataSync().slice()];
    const [g6, ge] = [new Float32Array(y6.dataSync()), new Float32Array(elu.dataSync())];
    tf.dispose([x, w, first, again, w6, y6, elu]);
    const e6 = await on('cpu', () => tf.conv2d(tf.tensor4d(xv, [2, 6, 6, 8]), tf.tensor4d(w6v, [3, 3, 8, 6]), 1, 'same'));
    const ee = await on('cpu', () => tf.elu(tf.conv2d(tf.tensor4d(xv, [2, 6, 6, 8]), tf.tensor4d(wv, [3, 3, 8, 16]), 1, 'same')));
    expect(relErr(g6, e6)).toBeLessThan(2e-6);
    expect(relErr(ge, ee)).toBeLessThan(2e-6);
    await tf.setBackend('wasm');
  });

  it('one thread and every thread give the same sums', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const one = instantiate(backend as never, 1)!;
    expect(one.threadCount).toBe(1);
    const c: Case = cases[6];
    const x = tf.tensor4d(values(c.x.reduce((a, b) => a * b), 3), c.x);
    const w = tf.tensor4d(values(c.w.reduce((a, b) => a * b), 5), c.w);
    const pooled = tf.conv2d(x, w, c.strides, c.pad);
    // The same GEMM on the calling thread alone, with its own packing, on the same indirection table.
    const [kh, kw, Ci, Co] = c.w;
    const info = tf.backend_util.computeConv2DInfo(c.x, c.w, c.strides, 1, c.pad, undefined, false, 'channelsLast');
    const rows = info.batchSize * info.outHeight * info.outWidth;
    const ind = indirectionTable(one, info);
    const out = tf.zeros(pooled.shape);
    const packed = one.packW(one.ptr(w as never), Co, kh * kw * Ci, Co);
    one.run({ ind, x: one.ptr(x as never), w: packed, c: one.ptr(out as never), bias: 0, taps: kh * kw, ci: Ci, ldc: Co, relu: false, rows, cols: Co });
    one.free(packed);
    expect(relErr(new Float32Array(out.dataSync()), new Float32Array(pooled.dataSync()))).toBe(0);
    tf.dispose([x, w, pooled, out]);
  });

  it('split gives every row and column to exactly one thread', () => {
    for (const [rows, cols, threads] of [[128, 512, 2], [32768, 64, 2], [5, 12, 2], [9, 4, 3], [1000, 8, 8], [16, 1024, 8], [7, 132, 2], [300, 100, 3]]) {
      const seen = new Uint8Array(rows * cols);
      for (const [r0, r1, c0, c1] of split(rows, cols, threads)) {
        expect(c0 % (widePanels(cols) ? 12 : 8)).toBe(0);
        for (let r = r0; r < r1; r++) for (let k = c0; k < c1; k++) seen[r * cols + k]++;
      }
      expect(seen.every((v) => v === 1)).toBe(true);
    }
  });
});
