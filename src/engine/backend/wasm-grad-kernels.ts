/**
 * Convolution gradient kernels for tfjs's 'wasm' backend.
 *
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter (training a conv net
 * throws) and its Conv2DBackpropInput is a naive loop ~14x slower than the
 * XNNPACK forward convolution. Both gradients are themselves convolutions, so
 * here they are rewritten as calls into the backend's own Conv2D kernel.
 *
 * Kernel functions may not call tf ops, so every step calls another registered
 * wasm kernel's kernelFunc directly, or touches the wasm heap through typed
 * array views for cheap data movement. Intermediates are raw TensorInfos the
 * engine never sees, so each one is freed here with backend.disposeData.
 *
 * This module never imports '@tensorflow/tfjs-backend-wasm': registering a
 * kernel for a backend that does not exist is harmless, which keeps the module
 * safe to load in builds that ship without the wasm backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  backend_util,
  type DataId,
  type DataType,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { hostOutputs, hostRead, overrideKernel } from './host-kernel';
import { backpropInputStride1 } from './wasm-conv';

const WASM = 'wasm';

/** The part of tfjs-backend-wasm's BackendWasm these kernels rely on. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  disposeData(dataId: DataId, force?: boolean): boolean;
}

type Pad = backend_util.ExplicitPadding | 'same' | 'valid' | number;
type Shape4 = [number, number, number, number];

function runKernel(
  backend: WasmBackend,
  name: string,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): TensorInfo {
  const config = tf.getKernel(name, WASM);
  if (config == null) {
    throw new Error(`wasm-grad-kernels: wasm kernel '${name}' is not registered`);
  }
  const out = config.kernelFunc({ inputs, backend, attrs });
  return Array.isArray(out) ? out[0] : out;
}

function input(inputs: NamedTensorInfoMap, name: string, kernel: string): TensorInfo {
  const t = inputs[name];
  if (t == null) throw new Error(`wasm-grad-kernels: ${kernel} is missing input '${name}'`);
  return t;
}

function dispose(backend: WasmBackend, ...infos: TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

/** A float32 view on the wasm heap (host-kernel.ts: taken after the last allocation, never kept). */
function heapF32(backend: WasmBackend, t: TensorInfo): Float32Array {
  return hostRead(backend, t, 'wasm-grad-kernels');
}

function zeros(backend: WasmBackend, shape: number[]): TensorInfo {
  return hostOutputs(backend, [shape], () => {}, true)[0];
}

/**
 * Crops a NHWC tensor to rows [top, top+h) and columns [left, left+w). The
 * wasm Slice kernel reads the whole input back through readSync (a full heap
 * copy) first, so copying contiguous runs directly is cheaper.
 */
function cropHW(
  backend: WasmBackend, x: TensorInfo, top: number, h: number, left: number, w: number,
): TensorInfo {
  const [n, xh, xw, c] = x.shape as Shape4;
  const out = backend.makeOutput([n, h, w, c], 'float32');
  const src = heapF32(backend, x);
  const dst = heapF32(backend, out);
  const run = w * c;
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      const s = ((b * xh + top + i) * xw + left) * c;
      dst.set(src.subarray(s, s + run), o);
      o += run;
    }
  }
  return out;
}

function conv2d(
  backend: WasmBackend,
  x: TensorInfo,
  filter: TensorInfo,
  pads: [number, number, number, number],
  dilations: [number, number],
): TensorInfo {
  const [top, bottom, left, right] = pads;
  return runKernel(backend, 'Conv2D', { x, filter }, {
    strides: [1, 1],
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    dataFormat: 'NHWC',
    dilations,
  });
}

function convInfoFor(
  kernel: string,
  xShape: Shape4,
  filterShape: Shape4,
  attrs: NamedAttrMap,
): backend_util.Conv2DInfo {
  const dataFormat = (attrs.dataFormat as string | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(
      `wasm-grad-kernels: ${kernel} supports only dataFormat 'NHWC', got '${dataFormat}'`);
  }
  const dil = attrs.dilations as number | [number, number] | undefined;
  if (dil != null && (Array.isArray(dil) ? dil.some((d) => d !== 1) : dil !== 1)) {
    throw new Error(
      `wasm-grad-kernels: ${kernel} supports only dilation 1, got ${JSON.stringify(dil)}`);
  }
  return backend_util.computeConv2DInfo(
    xShape, filterShape, attrs.strides as number | [number, number], 1,
    attrs.pad as Pad, attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false, 'channelsLast');
}

/**
 * Per-axis plan of one stride phase p of the input gradient.
 *
 * Input rows h = s*q + p receive contributions only from filter taps
 * kh ≡ (p + pad) mod s, which read dy rows q + c - m (m = tap index within the
 * phase). So each phase is a stride-1 convolution of dy with the flipped
 * sub-filter of those taps, with no zero-dilated dy and no wasted FLOPs.
 */
interface PhaseAxis {
  /** First filter tap of this phase. */
  r: number;
  /** Output row q reads dy rows q + c - m for taps m. */
  c: number;
  /** Number of taps (0: the phase gets no gradient at all). */
  taps: number;
  /** Number of input rows in this phase. */
  rows: number;
  /** dy rows to drop before/after (a negative pad becomes a crop). */
  cropBefore: number;
  cropAfter: number;
  padBefore: number;
  padAfter: number;
}

function phaseAxis(p: number, s: number, k: number, pad: number, inSize: number, outSize: number): PhaseAxis {
  const r = (((p + pad) % s) + s) % s;
  const c = Math.floor((p + pad) / s);
  const taps = r < k ? Math.ceil((k - r) / s) : 0;
  const rows = Math.max(0, Math.ceil((inSize - p) / s));
  const before = taps - 1 - c;
  const after = rows + c - outSize;
  return {
    r, c, taps, rows,
    cropBefore: Math.max(0, -before),
    cropAfter: Math.max(0, -after),
    padBefore: Math.max(0, before),
    padAfter: Math.max(0, after),
  };
}

/**
 * Builds the flipped, in/out-swapped sub-filter of one phase:
 * out[i, j, co, ci] = w[rh + sh*(th-1-i), rw + sw*(tw-1-j), ci, co].
 * Filters are small next to activations, so a JS gather is cheaper than a
 * Reverse + Transpose (+ StridedSlice) kernel chain.
 */
function phaseFilter(
  backend: WasmBackend, filter: TensorInfo, ah: PhaseAxis, aw: PhaseAxis, sh: number, sw: number,
): TensorInfo {
  const [, kw, ci, co] = filter.shape as Shape4;
  const out = backend.makeOutput([ah.taps, aw.taps, co, ci], 'float32');
  const src = heapF32(backend, filter);
  const dst = heapF32(backend, out);
  let o = 0;
  for (let i = 0; i < ah.taps; i++) {
    const fh = ah.r + sh * (ah.taps - 1 - i);
    for (let j = 0; j < aw.taps; j++) {
      const fw = aw.r + sw * (aw.taps - 1 - j);
      const base = (fh * kw + fw) * ci * co;
      for (let oc = 0; oc < co; oc++) {
        for (let ic = 0; ic < ci; ic++) dst[o++] = src[base + ic * co + oc];
      }
    }
  }
  return out;
}

/** One phase's dx, shape [B, ah.rows, aw.rows, Ci]. */
function phaseGradient(
  backend: WasmBackend, dy: TensorInfo, filter: TensorInfo,
  ah: PhaseAxis, aw: PhaseAxis, sh: number, sw: number, inChannels: number,
): TensorInfo {
  const [b, oh, ow] = dy.shape as Shape4;
  const keepH = oh - ah.cropBefore - ah.cropAfter;
  const keepW = ow - aw.cropBefore - aw.cropAfter;
  if (ah.taps === 0 || aw.taps === 0 || keepH <= 0 || keepW <= 0) {
    return zeros(backend, [b, ah.rows, aw.rows, inChannels]);
  }
  const cropped = keepH !== oh || keepW !== ow;
  const src = cropped ? cropHW(backend, dy, ah.cropBefore, keepH, aw.cropBefore, keepW) : dy;
  const w = phaseFilter(backend, filter, ah, aw, sh, sw);
  const out = conv2d(backend, src, w, [ah.padBefore, ah.padAfter, aw.padBefore, aw.padAfter], [1, 1]);
  dispose(backend, w);
  if (cropped) dispose(backend, src);
  return out;
}

/** Largest Ci*sh*sw for which all stride phases share one convolution. */
const COMBINE_PHASES_MAX_CHANNELS = 32;

/**
 * All stride phases in one stride-1 convolution of dy whose output channels
 * are (phase, ci): its taps span the union of the phases' dy windows, with
 * zeros where a phase has no tap. Output [B, ceil(H/sh), ceil(W/sw), sh*sw*Ci].
 */
function combinedGradient(
  backend: WasmBackend, dy: TensorInfo, filter: TensorInfo,
  axesH: PhaseAxis[], axesW: PhaseAxis[], sh: number, sw: number, inC: number,
): TensorInfo {
  const [b, oh, ow] = dy.shape as Shape4;
  const [, kw, , co] = filter.shape as Shape4;
  const span = (axes: PhaseAxis[], outSize: number) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const a of axes) {
      if (a.taps === 0) continue;
      lo = Math.min(lo, a.c - a.taps + 1);
      hi = Math.max(hi, a.c);
    }
    const rows = axes[0].rows;
    const before = -lo;
    const after = rows + hi - outSize;
    return {
      lo, taps: hi - lo + 1, rows,
      cropBefore: Math.max(0, -before), cropAfter: Math.max(0, -after),
      padBefore: Math.max(0, before), padAfter: Math.max(0, after),
    };
  };
  const H = span(axesH, oh);
  const W = span(axesW, ow);
  const outC = sh * sw * inC;
  const keepH = oh - H.cropBefore - H.cropAfter;
  const keepW = ow - W.cropBefore - W.cropAfter;
  if (!(H.taps > 0 && W.taps > 0) || keepH <= 0 || keepW <= 0) {
    return zeros(backend, [b, H.rows, W.rows, outC]);
  }
  const cropped = keepH !== oh || keepW !== ow;
  const src = cropped ? cropHW(backend, dy, H.cropBefore, keepH, W.cropBefore, keepW) : dy;

  const w = backend.makeOutput([H.taps, W.taps, co, outC], 'float32');
  {
    const fsrc = heapF32(backend, filter);
    const fdst = heapF32(backend, w);
    fdst.fill(0);
    for (let i = 0; i < H.taps; i++) {
      for (let ph = 0; ph < sh; ph++) {
        const ah = axesH[ph];
        const mh = ah.c - (H.lo + i);
        if (mh < 0 || mh >= ah.taps) continue;
        const fh = ah.r + sh * mh;
        for (let j = 0; j < W.taps; j++) {
          for (let pw = 0; pw < sw; pw++) {
            const aw = axesW[pw];
            const mw = aw.c - (W.lo + j);
            if (mw < 0 || mw >= aw.taps) continue;
            const base = ((fh * kw + aw.r + sw * mw) * inC) * co;
            const channel = (ph * sw + pw) * inC;
            for (let oc = 0; oc < co; oc++) {
              const d = ((i * W.taps + j) * co + oc) * outC + channel;
              for (let ic = 0; ic < inC; ic++) fdst[d + ic] = fsrc[base + ic * co + oc];
            }
          }
        }
      }
    }
  }
  const out = conv2d(backend, src, w, [H.padBefore, H.padAfter, W.padBefore, W.padAfter], [1, 1]);
  dispose(backend, w);
  if (cropped) dispose(backend, src);
  return out;
}

/**
 * dx as one GEMM when the filter outweighs the output pixels (ResNet's deep
 * layers at a small encoder input: layer4's [3,3,512,512] filter against 128
 * output pixels). The phase convolutions hand XNNPACK a new filter every step,
 * and packing 2.4 M weights costs ~25 ms on one thread, more than the
 * convolution itself. Here the filter is the GEMM's unpacked left operand:
 *   dcolᵀ[(kh,kw,ci), (b,oh,ow)] = W[(kh,kw,ci), co] · dyᵀ[co, (b,oh,ow)]
 * (W's HWIO memory is that matrix already; only the small dyᵀ is packed), then
 * every column is added back onto the input pixel it read (col2im).
 */
function gemmBackpropInput(
  backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo, inputShape: Shape4,
): TensorInfo {
  const [batch, inH, inW, inC] = inputShape;
  const [, outH, outW, outC] = dy.shape as Shape4;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  const K = kh * kw * inC;
  const M = batch * outH * outW;
  const dyT = runKernel(backend, 'Transpose', { x: { ...dy, shape: [M, outC] } }, { perm: [1, 0] });
  const colT = runKernel(backend, 'BatchMatMul', { a: { ...filter, shape: [1, K, outC] }, b: { ...dyT, shape: [1, outC, M] } }, { transposeA: false, transposeB: false });
  dispose(backend, dyT);
  const dx = zeros(backend, [...inputShape]);
  col2im(heapF32(backend, colT), heapF32(backend, dx), batch, inH, inW, inC, outH, outW, kh, kw, sh, sw, top, left);
  dispose(backend, colT);
  return dx;
}

function col2im(
  colT: Float32Array, dx: Float32Array, batch: number, inH: number, inW: number, inC: number,
  outH: number, outW: number, kh: number, kw: number, sh: number, sw: number, top: number, left: number,
): void {
  const M = batch * outH * outW;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let ci = 0; ci < inC; ci++) {
        const row = ((i * kw + j) * inC + ci) * M;
        for (let n = 0; n < batch; n++) {
          for (let oh = 0; oh < outH; oh++) {
            const h = oh * sh + i - top;
            if (h < 0 || h >= inH) continue;
            const src = row + (n * outH + oh) * outW;
            const dstRow = (n * inH + h) * inW;
            for (let ow = 0; ow < outW; ow++) {
              const w = ow * sw + j - left;
              if (w >= 0 && w < inW) dx[(dstRow + w) * inC + ci] += colT[src + ow];
            }
          }
        }
      }
    }
  }
}

/**
 * dx of a strided convolution as one GEMM (gemmBackpropInput) only when the
 * filter is this many times the output pixels (stride 1 goes to wasm-conv.ts's
 * backpropInputStride1 first). Measured per layer at batch 8, 128 px, 2
 * threads, on the convolution GEMM, before that stride-1 path existed: layer
 * 3's first convolution (stride 2, 1,152 vs 512) 8.9 ms by the GEMM against 5.6
 * by phases; layer 3's stride-1 ones (2,304 vs 512) 14.8 against 9.5; layer 4's
 * (4,608 vs 128) 11.8 against 17.1, which now take the stride-1 path.
 */
const GEMM_FACTOR = 8;
const originalSetUp = new WeakSet<object>();

function conv2DBackpropInput(
  { inputs, backend: b, attrs }: { inputs: NamedTensorInfoMap; backend: {}; attrs?: NamedAttrMap },
): TensorInfo {
  const backend = b as WasmBackend;
  const a = attrs ?? {};
  const dy = input(inputs, 'dy', 'Conv2DBackpropInput');
  const filter = input(inputs, 'filter', 'Conv2DBackpropInput');
  const dataFormat = (a.dataFormat as string | undefined) ?? 'NHWC';
  const originalBackpropInput = originals.get(tf.Conv2DBackpropInput);
  if (dataFormat === 'NCHW' && originalBackpropInput != null) {
    // NCHW is off the training path; the built-in kernel handles it correctly,
    // just slowly. Its setupFunc ran only if it was registered at setBackend.
    if (!originalSetUp.has(b)) {
      originalBackpropInput.setupFunc?.(b);
      originalSetUp.add(b);
    }
    return originalBackpropInput.kernelFunc({ inputs, backend: b, attrs }) as TensorInfo;
  }
  const inputShape = a.inputShape as Shape4;
  const info = convInfoFor('Conv2DBackpropInput', inputShape, filter.shape as Shape4, a);
  const [batch, inH, inW, inC] = inputShape;
  const [, outH, outW] = dy.shape as Shape4;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;

  if (sh === 1 && sw === 1) {
    const direct = backpropInputStride1(backend, dy, filter, inputShape, info.padInfo.top, info.padInfo.left);
    if (direct) return direct;
  }
  if (kh * kw * inC > GEMM_FACTOR * batch * outH * outW) return gemmBackpropInput(backend, dy, filter, info, inputShape);

  const axesH = Array.from({ length: sh }, (_, p) => phaseAxis(p, sh, kh, info.padInfo.top, inH, outH));
  const axesW = Array.from({ length: sw }, (_, p) => phaseAxis(p, sw, kw, info.padInfo.left, inW, outW));
  if (sh === 1 && sw === 1) {
    return phaseGradient(backend, dy, filter, axesH[0], axesW[0], 1, 1, inC);
  }

  // A phase convolution has only Ci output channels, which starves XNNPACK's
  // 8-wide output tiles when Ci is small (an RGB stem): there, one convolution
  // producing all phases as channels wins despite its zero taps.
  const combined = inC * sh * sw <= COMBINE_PHASES_MAX_CHANNELS;
  const parts: TensorInfo[] = [];
  if (combined) {
    parts.push(combinedGradient(backend, dy, filter, axesH, axesW, sh, sw, inC));
  } else {
    for (let ph = 0; ph < sh; ph++) {
      for (let pw = 0; pw < sw; pw++) {
        parts.push(phaseGradient(backend, dy, filter, axesH[ph], axesW[pw], sh, sw, inC));
      }
    }
  }
  // Interleave the phases back onto the input grid; every dx element belongs
  // to exactly one phase, so the uninitialised output is fully written.
  const dx = backend.makeOutput([batch, inH, inW, inC], 'float32');
  const dst = heapF32(backend, dx);
  const step = sw * inC;
  for (let ph = 0; ph < sh; ph++) {
    for (let pw = 0; pw < sw; pw++) {
      const src = heapF32(backend, parts[combined ? 0 : ph * sw + pw]);
      // Combined: rows of every phase are padded to the first (longest) one.
      const srcH = combined ? axesH[0].rows : axesH[ph].rows;
      const srcW = combined ? axesW[0].rows : axesW[pw].rows;
      const srcC = combined ? sh * sw * inC : inC;
      const offset = combined ? (ph * sw + pw) * inC : 0;
      const rowsH = axesH[ph].rows;
      const rowsW = axesW[pw].rows;
      for (let n = 0; n < batch; n++) {
        for (let q = 0; q < rowsH; q++) {
          let d = ((n * inH + q * sh + ph) * inW + pw) * inC;
          let s = ((n * srcH + q) * srcW) * srcC + offset;
          for (let u = 0; u < rowsW; u++, d += step, s += srcC) {
            for (let c = 0; c < inC; c++) dst[d + c] = src[s + c];
          }
        }
      }
    }
  }
  dispose(backend, ...parts);
  return dx;
}

/**
 * dW[kh,kw,ci,co] = Σ_{b,oh,ow} xpad[b, oh*s+kh, ow*s+kw, ci] · dy[b,oh,ow,co]
 * is a forward convolution once input channels play the batch and the batch
 * plays the channels: x as [Ci, H, W, B] convolved with dy as a filter
 * [OH, OW, B, CO] at dilation = stride gives [Ci, kh, kw, CO].
 *
 * Taken literally that convolution runs at ~60% of forward speed: XNNPACK
 * tiles its GEMM over the output pixels of one image, and here each "image"
 * has only kh*kw of them. So the width axis is unfolded into one image:
 *   z[0, h, (kw, ci), (ow, b)] = xpad[b, h, ow*s + kw, ci]
 * and dy becomes the filter [OH, 1, (OW, B), CO] (a free reshape of dy
 * transposed to [OH, OW, B, CO]). Convolving z with it at dilation (s, 1)
 * gives [1, kh, (kw, ci), CO], which is dW's own memory layout: a GEMM with
 * kh*kw*Ci rows, OH taps of OW*B channels each, which XNNPACK runs at
 * forward speed. z costs about kw/s copies of x.
 */
function conv2DBackpropFilter(
  { inputs, backend: b, attrs }: { inputs: NamedTensorInfoMap; backend: {}; attrs?: NamedAttrMap },
): TensorInfo {
  ensureOverrides();
  const backend = b as WasmBackend;
  const a = attrs ?? {};
  const x = input(inputs, 'x', 'Conv2DBackpropFilter');
  const dy = input(inputs, 'dy', 'Conv2DBackpropFilter');
  const filterShape = a.filterShape as Shape4;
  const info = convInfoFor('Conv2DBackpropFilter', x.shape as Shape4, filterShape, a);
  const [batch, inH, inW, inC] = x.shape as Shape4;
  const [kh, kw, , outC] = filterShape;
  const [, outH, outW] = dy.shape as Shape4;
  const { strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Rows past the last one any output reads are dropped (not just left
  // unpadded) so the convolution yields exactly kh positions.
  const bottom = (outH - 1) * sh + kh - top - inH;
  const keepH = inH + Math.min(0, bottom);
  if (keepH <= 0) return zeros(backend, filterShape);

  const xT = runKernel(backend, 'Transpose', { x }, { perm: [3, 1, 2, 0] });
  const run = outW * batch;
  const z = backend.makeOutput([1, keepH, kw * inC, run], 'float32');
  {
    const src = heapF32(backend, xT);
    const dst = heapF32(backend, z);
    let o = 0;
    for (let h = 0; h < keepH; h++) {
      for (let j = 0; j < kw; j++) {
        // Output columns whose tap j lands inside the input: ow in [owLo, owHi).
        const owLo = Math.max(0, Math.ceil((left - j) / sw));
        const owHi = Math.min(outW, Math.floor((inW - 1 + left - j) / sw) + 1);
        const w0 = owLo * sw + j - left;
        for (let ci = 0; ci < inC; ci++, o += run) {
          if (owHi <= owLo) {
            dst.fill(0, o, o + run);
            continue;
          }
          dst.fill(0, o, o + owLo * batch);
          dst.fill(0, o + owHi * batch, o + run);
          const row = (ci * inH + h) * inW;
          if (sw === 1) {
            const from = (row + w0) * batch;
            dst.set(src.subarray(from, from + (owHi - owLo) * batch), o + owLo * batch);
          } else {
            let d = o + owLo * batch;
            for (let w = w0, ow = owLo; ow < owHi; ow++, w += sw) {
              const from = (row + w) * batch;
              for (let n = 0; n < batch; n++) dst[d++] = src[from + n];
            }
          }
        }
      }
    }
  }
  dispose(backend, xT);

  const dyT = runKernel(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const filter = { ...dyT, shape: [outH, 1, run, outC] };
  const out = conv2d(backend, z, filter, [top, Math.max(0, bottom), 0, 0], [sh, 1]);
  dispose(backend, z, dyT);
  return { ...out, shape: filterShape };
}

/**
 * MaxPoolGrad with the CPU backend's semantics: each window's gradient goes to
 * its first strict maximum in row-major order (NaN never wins, an all -Inf
 * window passes nothing). The built-in wasm kernel misroutes gradients for
 * several shapes (e.g. 3x3/2 'same' on odd heights, or more than one channel
 * with pad 1). Pooling is a small share of a training step, so a channel-
 * innermost JS scan over the heap is fast enough.
 */
function maxPoolGrad(
  { inputs, backend: b, attrs }: { inputs: NamedTensorInfoMap; backend: {}; attrs?: NamedAttrMap },
): TensorInfo {
  const backend = b as WasmBackend;
  const a = attrs ?? {};
  const dy = input(inputs, 'dy', 'MaxPoolGrad');
  const x = input(inputs, 'input', 'MaxPoolGrad');
  const info = backend_util.computePool2DInfo(
    x.shape as Shape4, a.filterSize as number | [number, number],
    a.strides as number | [number, number], 1, a.pad as Pad,
    a.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined);
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;

  const dx = zeros(backend, x.shape);
  const xv = heapF32(backend, x);
  const dyv = heapF32(backend, dy);
  const dxv = heapF32(backend, dx);
  const best = new Float32Array(C);
  const arg = new Int32Array(C);
  let g = 0;
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const r0 = oh * sh - top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(H, r0 + fh);
      for (let ow = 0; ow < OW; ow++, g += C) {
        const c0 = ow * sw - left;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(W, c0 + fw);
        best.fill(-Infinity);
        arg.fill(-1);
        for (let r = rMin; r < rMax; r++) {
          for (let c = cMin; c < cMax; c++) {
            const base = ((n * H + r) * W + c) * C;
            for (let d = 0; d < C; d++) {
              const v = xv[base + d];
              if (v > best[d]) {
                best[d] = v;
                arg[d] = base + d;
              }
            }
          }
        }
        for (let d = 0; d < C; d++) {
          if (arg[d] >= 0) dxv[arg[d]] += dyv[g + d];
        }
      }
    }
  }
  return dx;
}

/** Built-in kernels replaced here, kept for the NCHW fallback. */
const originals = new Map<string, KernelConfig>();

/**
 * Importing tfjs-backend-wasm registers its kernels and silently replaces an
 * existing registration, so a wasm import after registerWasmGradKernels()
 * would restore the built-in kernels. The filter-gradient kernel (which wasm
 * never registers) re-checks on every call; the check is a map lookup.
 */
function override(kernelName: string, kernelFunc: KernelFunc): void {
  overrideKernel(WASM, kernelName, kernelFunc, originals);
}

const backpropInputFunc: KernelFunc = conv2DBackpropInput;
const backpropFilterFunc: KernelFunc = conv2DBackpropFilter;
const maxPoolGradFunc: KernelFunc = maxPoolGrad;

function ensureOverrides(): void {
  override(tf.Conv2DBackpropInput, backpropInputFunc);
  override(tf.MaxPoolGrad, maxPoolGradFunc);
}

/**
 * Registers fast Conv2DBackpropFilter and Conv2DBackpropInput kernels and a
 * correct MaxPoolGrad for the 'wasm' backend. Idempotent; may run before or
 * after tf.setBackend('wasm').
 */
export function registerWasmGradKernels(): void {
  ensureOverrides();
  override(tf.Conv2DBackpropFilter, backpropFilterFunc);
}
