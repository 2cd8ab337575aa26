/**
 * Times conv2d forward and both gradient kernels on the wasm backend for
 * ResNet18-like layer shapes. Run: npx tsx bench/wasm-conv-grads.bench.ts
 * Optional: --runs N (default 5), --batch B (default 8), --quick (fewer shapes).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { registerWasmGradKernels } from '../src/engine/backend/wasm-grad-kernels';

type Shape4 = [number, number, number, number];
interface Layer {
  name: string;
  x: Shape4;
  w: Shape4;
  stride: number;
  pad: 'same' | 'valid' | number;
}

const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const RUNS = Math.max(5, flag('--runs', 5));
const B = flag('--batch', 8);
const QUICK = args.includes('--quick');

const layers: Layer[] = [
  { name: 'stem 80x80x3->64 7x7 s2', x: [B, 80, 80, 3], w: [7, 7, 3, 64], stride: 2, pad: 3 },
  { name: '40x40x64->64 3x3 s1', x: [B, 40, 40, 64], w: [3, 3, 64, 64], stride: 1, pad: 'same' },
  { name: '40x40x64->128 3x3 s2', x: [B, 40, 40, 64], w: [3, 3, 64, 128], stride: 2, pad: 1 },
  { name: '20x20x128->256 3x3 s2', x: [B, 20, 20, 128], w: [3, 3, 128, 256], stride: 2, pad: 1 },
  { name: '20x20x128->256 1x1 s2', x: [B, 20, 20, 128], w: [1, 1, 128, 256], stride: 2, pad: 'valid' },
  { name: '10x10x256->256 3x3 s1', x: [B, 10, 10, 256], w: [3, 3, 256, 256], stride: 1, pad: 'same' },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median wall time of f over RUNS runs after one warm-up run. */
function time(f: () => void): number {
  f();
  const ts: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

async function main(): Promise<void> {
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend failed to initialise');
  const backend = tf.backend() as unknown as { disposeData(id: object): boolean };
  // The built-in kernel must be captured (and set up, by setBackend) before
  // registerWasmGradKernels replaces it.
  const builtinDx = tf.getKernel(tf.Conv2DBackpropInput, 'wasm') as KernelConfig;
  const builtinMaxPoolGrad = tf.getKernel(tf.MaxPoolGrad, 'wasm') as KernelConfig;
  registerWasmGradKernels();

  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  console.log(`tfjs ${tf.version_core}, wasm simd=${simd} threads=${threads}, batch ${B}, median of ${RUNS} runs (ms | GFLOP/s)`);
  const rows: string[][] = [['layer', 'GFLOP', 'forward', 'dx built-in', 'dx new', 'dx speed-up', 'dW new']];

  for (const L of QUICK ? layers.slice(0, 3) : layers) {
    const x = tf.randomNormal(L.x) as tf.Tensor4D;
    const w = tf.randomNormal(L.w, 0, 0.1) as tf.Tensor4D;
    const y = tf.conv2d(x, w, L.stride, L.pad);
    const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
    const flop = 2 * y.size * L.w[0] * L.w[1] * L.w[2];
    const attrs = { strides: [L.stride, L.stride], pad: L.pad, dataFormat: 'NHWC' };

    const fwd = time(() => tf.conv2d(x, w, L.stride, L.pad).dispose());
    const oldDx = time(() => {
      const out = builtinDx.kernelFunc({
        inputs: { dy, filter: w }, backend: tf.backend(), attrs: { ...attrs, inputShape: L.x },
      }) as TensorInfo;
      backend.disposeData(out.dataId);
    });
    const newDx = time(() => (tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w },
      { ...attrs, inputShape: L.x }) as tf.Tensor).dispose());
    const newDw = time(() => (tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy },
      { ...attrs, filterShape: L.w }) as tf.Tensor).dispose());

    const cell = (ms: number) => `${ms.toFixed(1)} | ${(flop / ms / 1e6).toFixed(1)}`;
    rows.push([L.name, (flop / 1e9).toFixed(3), cell(fwd), cell(oldDx), cell(newDx),
      `${(oldDx / newDx).toFixed(1)}x`, cell(newDw)]);
    tf.dispose([x, w, y, dy]);
  }

  // ResNet18's stem max pool, 3x3/2 pad 1.
  const px = tf.randomNormal([B, 40, 40, 64]) as tf.Tensor4D;
  const py = tf.maxPool(px, 3, 2, 1);
  const pdy = tf.randomNormal(py.shape);
  const poolAttrs = { filterSize: [3, 3], strides: [2, 2], pad: 1 };
  const poolInputs = { dy: pdy, input: px, output: py };
  const oldPool = time(() => {
    const out = builtinMaxPoolGrad.kernelFunc({ inputs: poolInputs, backend: tf.backend(), attrs: poolAttrs }) as TensorInfo;
    backend.disposeData(out.dataId);
  });
  const newPool = time(() => (tf.engine().runKernel(tf.MaxPoolGrad, poolInputs, poolAttrs) as tf.Tensor).dispose());
  tf.dispose([px, py, pdy]);

  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((v, c) => v.padEnd(widths[c])).join('  '));
  console.log(`MaxPoolGrad ${B}x40x40x64 3x3/2 pad 1: built-in (incorrect for some shapes) ${oldPool.toFixed(1)} ms, new ${newPool.toFixed(1)} ms`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
