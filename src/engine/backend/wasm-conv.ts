/**
 * Conv2D and FusedConv2D for tfjs's 'wasm' backend on the relaxed-SIMD GEMM
 * of simd/conv-gemm.ts, in place of XNNPACK's (measured there). The
 * convolution gradients of wasm-grad-kernels.ts are themselves Conv2D calls,
 * so training's input and filter gradients run on it too.
 *
 * A convolution becomes C[pixels, Co] = A · W with W the filter as it lies
 * ([kh·kw·Ci, Co], packed into column panels) and row p of A the kh·kw runs
 * of Ci input floats output pixel p reads: an indirection table of where each
 * run starts (-1: padding), cached per geometry, as XNNPACK's own indirect
 * convolution does. A filter used a second time is kept packed while its
 * tensor lives (a model's weights at inference).
 *
 * Shapes the GEMM does not take (Co not a multiple of 4, NCHW, an activation
 * other than ReLU or none, a PReLU or leaky ReLU) and hosts where it would be
 * slower (conv-gemm.ts: no threads where XNNPACK has them) go to the built-in
 * kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, type KernelConfig, type KernelFunc, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { wasmThreadsCount } from './backends';
import { overrideKernel } from './host-kernel';
import { convGemm, type ConvGemm } from './simd/conv-gemm';

const WASM = 'wasm';
type Shape4 = [number, number, number, number];

interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  dataIdMap: { has(dataId: object): boolean };
}

/** Indirection tables by geometry; a model has a few dozen. */
const tables = new Map<string, number>();
const MAX_TABLES = 256;

/**
 * The heap offset of the indirection table of this geometry: for each output
 * pixel and tap, the byte offset of the input run it reads (-1: padding).
 * Cached; the GEMM owns it.
 */
export function indirectionTable(gemm: ConvGemm, info: backend_util.Conv2DInfo): number {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth,
    strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { top, left } = info.padInfo;
  const key = [batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth,
    strideHeight, strideWidth, dilationHeight, dilationWidth, top, left].join(',');
  let ptr = tables.get(key);
  if (ptr !== undefined) return ptr;
  if (tables.size >= MAX_TABLES) {
    for (const p of tables.values()) gemm.free(p);
    tables.clear();
  }
  const taps = filterHeight * filterWidth;
  const n = batchSize * outHeight * outWidth * taps;
  ptr = gemm.malloc(4 * n);
  const view = new Int32Array(gemm.heap(), ptr, n);
  let e = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        for (let ty = 0; ty < filterHeight; ty++) {
          const iy = oy * strideHeight + ty * dilationHeight - top;
          for (let tx = 0; tx < filterWidth; tx++) {
            const ix = ox * strideWidth + tx * dilationWidth - left;
            view[e++] = iy < 0 || iy >= inHeight || ix < 0 || ix >= inWidth ? -1 : ((b * inHeight + iy) * inWidth + ix) * inChannels * 4;
          }
        }
      }
    }
  }
  tables.set(key, ptr);
  return ptr;
}

/**
 * Packed filters by their tensor's dataId, dropped once the tensor is gone. A
 * filter is kept only from its second use (a model's weights at inference); a
 * training step's weights and the gradients' filters are used once, so they
 * are packed into the GEMM's reused buffer instead.
 */
const packed = new Map<object, number>();
const seenOnce = new WeakSet<object>();

function packedFilter(gemm: ConvGemm, backend: WasmBackend, filter: TensorInfo, k: number, n: number): number {
  for (const [id, p] of packed) {
    if (!backend.dataIdMap.has(id)) {
      gemm.free(p);
      packed.delete(id);
    }
  }
  const id = filter.dataId as object;
  let p = packed.get(id);
  if (p !== undefined) return p;
  if (!seenOnce.has(id)) {
    seenOnce.add(id);
    return gemm.packW(gemm.ptr(filter), n, k, n, 'scratch');
  }
  p = gemm.packW(gemm.ptr(filter), n, k, n);
  packed.set(id, p);
  return p;
}

const originals = new Map<string, KernelConfig>();

function fallback(name: string, args: { inputs: NamedTensorInfoMap; backend: {}; attrs?: NamedAttrMap }): TensorInfo {
  const k = originals.get(name);
  if (!k) throw new Error(`wasm-conv: no built-in ${name} kernel to fall back to`);
  return k.kernelFunc(args) as TensorInfo;
}

function convolve(
  name: string,
  args: { inputs: NamedTensorInfoMap; backend: {}; attrs?: NamedAttrMap },
  bias: TensorInfo | undefined,
  relu: boolean,
): TensorInfo {
  const backend = args.backend as WasmBackend;
  const a = args.attrs ?? {};
  const { x, filter } = args.inputs;
  if (!x || !filter) throw new Error(`wasm-conv: ${name} needs inputs x and filter`);
  const dataFormat = (a.dataFormat as string | undefined) ?? 'NHWC';
  const [, , ci, co] = filter.shape as Shape4;
  const gemm = convGemm(backend, wasmThreadsCount() ?? 1);
  if (!gemm || (dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') || co % 4 !== 0 || x.dtype !== 'float32'
    || filter.dtype !== 'float32' || (bias && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== co))) {
    return fallback(name, args);
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4, filter.shape as Shape4, a.strides as number | [number, number],
    (a.dilations as number | [number, number] | undefined) ?? 1, a.pad as backend_util.ExplicitPadding | 'same' | 'valid' | number,
    a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined, false, 'channelsLast');
  const out = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, co], 'float32');
  const rows = info.batchSize * info.outHeight * info.outWidth;
  if (rows === 0) return out;
  const taps = info.filterHeight * info.filterWidth;
  const ind = indirectionTable(gemm, info);
  const w = packedFilter(gemm, backend, filter, taps * ci, co);
  gemm.run({
    ind, x: gemm.ptr(x), w, c: gemm.ptr(out), bias: bias ? gemm.ptr(bias) : 0,
    taps, ci, ldc: co, relu, rows, cols: co,
  });
  return out;
}

/**
 * dx of a stride-1 convolution as one GEMM: dy convolved with the filter's
 * taps flipped and its in/out channels swapped, packed straight from the
 * filter (ConvGemm.packWT) instead of gathered into a tensor first. Null where
 * the GEMM does not take it (no GEMM here, Ci or Co not a multiple of 4,
 * or a padding that would crop dy): the caller's general path then runs.
 */
export function backpropInputStride1(backend: unknown, dy: TensorInfo, filter: TensorInfo, inputShape: Shape4, top: number, left: number): TensorInfo | null {
  const be = backend as WasmBackend;
  const gemm = convGemm(be, wasmThreadsCount() ?? 1);
  const [kh, kw, ci, co] = filter.shape as Shape4;
  const [batch, inH, inW] = inputShape;
  const [, outH, outW] = dy.shape as Shape4;
  const padTop = kh - 1 - top;
  const padLeft = kw - 1 - left;
  const padBottom = inH + kh - 1 - outH - padTop;
  const padRight = inW + kw - 1 - outW - padLeft;
  if (!gemm || ci % 4 !== 0 || co % 4 !== 0 || Math.min(padTop, padLeft, padBottom, padRight) < 0 || dy.dtype !== 'float32') return null;
  const info = backend_util.computeConv2DInfo(
    dy.shape as Shape4, [kh, kw, co, ci], 1, 1, [[0, 0], [padTop, padBottom], [padLeft, padRight], [0, 0]], undefined, false, 'channelsLast');
  const dx = be.makeOutput([batch, inH, inW, ci], 'float32');
  const rows = batch * inH * inW;
  if (rows === 0) return dx;
  const taps = kh * kw;
  const ind = indirectionTable(gemm, info);
  const w = gemm.packWT(gemm.ptr(filter), taps, ci, co);
  gemm.run({ ind, x: gemm.ptr(dy), w, c: gemm.ptr(dx), bias: 0, taps, ci: co, ldc: ci, relu: false, rows, cols: ci });
  return dx;
}

const conv2D: KernelFunc = (args) => convolve(tf.Conv2D, args as never, undefined, false);

const fusedConv2D: KernelFunc = (args) => {
  const a = args.attrs ?? {};
  const activation = (a.activation as string | undefined) ?? 'linear';
  const inputs = args.inputs as NamedTensorInfoMap;
  if ((activation !== 'linear' && activation !== 'relu') || inputs.preluActivationWeights) return fallback(tf.FusedConv2D, args as never);
  return convolve(tf.FusedConv2D, args as never, inputs.bias, activation === 'relu');
};

/** Puts Conv2D and FusedConv2D on the GEMM (idempotent; after tfjs-backend-wasm is imported). */
export function registerWasmConv(): void {
  overrideKernel(WASM, tf.Conv2D, conv2D, originals);
  overrideKernel(WASM, tf.FusedConv2D, fusedConv2D, originals);
}
