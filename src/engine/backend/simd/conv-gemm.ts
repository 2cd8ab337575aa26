/**
 * The convolution GEMM of scripts/conv-gemm-wat.mjs, instantiated on a tfjs
 * wasm backend's own memory and run on every thread the backend has.
 *
 * Why not XNNPACK's convolution (tfjs-backend-wasm 4.22's build): it is plain
 * 128-bit SIMD, mul then add, and measured ~33 GFLOP/s a core here on
 * ResNet18's 3x3 layers. With relaxed SIMD's fused multiply-add the same 4x8
 * tiling runs ~50 (scripts/conv-gemm-wat.mjs has the tile measurements); and
 * XNNPACK repacks a filter it has not seen (every training step) on one
 * thread, ~25 ms for layer 4's.
 *
 * Threads: the backend's memory is shared in its threaded build, so helper
 * threads (spawned by the host, see setConvThreadSpawner) instantiate the same
 * module on it and each computes its share of C; the calling thread takes
 * share 0 and waits on an Atomics counter. A host that cannot block (a page's
 * main thread) or spawn gets no pool: the convolution then only runs where
 * XNNPACK has one thread too (wasm-conv.ts decides).
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { decodeBase64, type HostWasmMemory } from '../../host';
import { backendMemory, type WasmBackendLike } from './host-simd';
import { PLAIN_SHARED, PLAIN_UNSHARED, RELAXED_SHARED, RELAXED_UNSHARED } from './conv-gemm-wasm';

interface ConvExports {
  packW(w: number, ldw: number, k: number, n: number, dst: number, wide: number): void;
  packWT(w: number, taps: number, ci: number, co: number, dst: number, wide: number): void;
  conv(ind: number, taps: number, ci: number, x: number, zero: number, w: number, c: number, ldc: number,
    bias: number, relu: number, row0: number, row1: number, col0: number, col1: number, scratch: number, chunk: number, wide: number): void;
}

/**
 * Starts a thread that runs `source` (a function expression of
 * (module, memory, control, id)) with those arguments; the host's way to make
 * one (Node's worker_threads, a browser's Worker). Helpers live as long as
 * their backend, which lives as long as the process or page.
 */
export type ConvThreadSpawner = (source: string, args: { module: object; memory: HostWasmMemory; control: number; id: number }) => void;

let spawner: ConvThreadSpawner | null = null;

/** How this host starts the convolution's helper threads (null: none). */
export function setConvThreadSpawner(s: ConvThreadSpawner | null): void {
  spawner = s;
}

/**
 * The control block (int32): [0] generation, [1] threads done, [3..16] the
 * call's arguments, then [row0, row1, col0, col1] per thread.
 */
const SHARES = 20;
const MAX_THREADS = 16;
const CONTROL_INTS = SHARES + 4 * MAX_THREADS;

/** The helper threads' loop: wait for a new generation, do this thread's share, count it done. */
const THREAD_SOURCE = `(module, memory, control, id) => {
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const ctl = new Int32Array(memory.buffer, control, ${CONTROL_INTS});
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, 0, seen);
    seen = Atomics.load(ctl, 0);
    const s = ${SHARES} + 4 * id;
    if (ctl[s + 1] > ctl[s] && ctl[s + 3] > ctl[s + 2]) {
      ex.conv(ctl[3], ctl[4], ctl[5], ctl[6], ctl[7], ctl[8], ctl[9], ctl[10], ctl[11], ctl[12],
        ctl[s], ctl[s + 1], ctl[s + 2], ctl[s + 3], ctl[13] + id * ctl[14], ctl[15], ctl[16]);
    }
    Atomics.add(ctl, 1, 1);
    Atomics.notify(ctl, 1);
  }
}`;

/** A thread that has not answered in this long has died (its error is the host's to report). */
const THREAD_TIMEOUT_MS = 30_000;

/**
 * Floats of W one chunk of k may span (across a thread's columns): 1 MB, half
 * of a core's L2 here, so the chunk stays cached while every row block reads
 * it. Measured on ResNet18's filter gradients (k = output pixels x batch, up to
 * 8,192 long) and layer 3-4 convolutions, whose whole W is 2-9 MB.
 */
const CHUNK_FLOATS = 262_144;

/**
 * Whether C of this many columns takes 12-wide panels on 3-row tiles (else
 * 8-wide on 4). Measured at batch 8, 2 threads, GFLOP/s with 12 (with 8):
 * layer 2 (128 columns) 102 (92), layer 4 (512) 97 (79), layer 1 (64 = 5·12 +
 * 4) 77 (81), the stem (64) 42 (45).
 */
export function widePanels(cols: number): boolean {
  return cols >= 96;
}

export interface ConvCall {
  /** Heap byte offsets. */
  ind: number;
  x: number;
  w: number;
  c: number;
  bias: number;
  taps: number;
  ci: number;
  ldc: number;
  relu: boolean;
  rows: number;
  cols: number;
}

/** A heap block that grows to the largest size asked of it (reused across calls). */
class GrowingBlock {
  ptr = 0;
  private floats = 0;

  /** At least `floats` floats; a new block is zeroed when `zero`, the old one freed. */
  ensure(gemm: ConvGemm, floats: number, zero = false): number {
    if (floats > this.floats) {
      if (this.ptr) gemm.free(this.ptr);
      this.floats = floats;
      this.ptr = gemm.malloc(4 * this.floats);
      if (zero) new Uint8Array(gemm.heap(), this.ptr, 4 * this.floats).fill(0);
    }
    return this.ptr;
  }
}

export class ConvGemm {
  private control = 0;
  /** A tile's A panels, per thread. */
  private readonly scratch = new GrowingBlock();
  /** Zeros that padding runs read. */
  private readonly zero = new GrowingBlock();
  /** Filters used once, packed. */
  private readonly packBuffer = new GrowingBlock();

  constructor(
    private readonly backend: WasmBackendLike,
    private readonly exports: ConvExports,
    private readonly module: object,
    private readonly memory: HostWasmMemory,
    /** Threads sharing each call (1: the calling thread alone). */
    readonly threadCount: number,
    /** Whether the multiply-add is relaxed SIMD's fused one. */
    readonly fused: boolean,
  ) {}

  /** Starts the helpers (threadCount − 1 of them). */
  start(): void {
    if (this.threadCount <= 1 || this.control) return;
    this.control = this.malloc(4 * CONTROL_INTS);
    this.ctl().fill(0);
    for (let id = 1; id < this.threadCount; id++) {
      spawner!(THREAD_SOURCE, { module: this.module, memory: this.memory, control: this.control, id });
    }
  }

  /** The heap (views on it are valid until the next allocation). */
  heap(): ArrayBufferLike {
    return this.backend.wasm.HEAPU8.buffer;
  }

  ptr(t: TensorInfo): number {
    return this.backend.getMemoryOffset(t.dataId);
  }

  malloc(bytes: number): number {
    const p = this.backend.wasm._malloc(bytes);
    if (!p) throw new Error(`conv-gemm: the wasm heap has no ${bytes} bytes left`);
    return p;
  }

  free(ptr: number): void {
    this.backend.wasm._free(ptr);
  }

  /**
   * Packs W [k, n] (row stride ldw floats) into a new heap block (the caller
   * frees it), or with `into` 'scratch' into this GEMM's packing buffer, valid
   * until the next packing: a filter used once (every training step's) then
   * costs no allocation; growing the heap for each copies all of it.
   */
  packW(w: number, ldw: number, k: number, n: number, into: 'block' | 'scratch' = 'block'): number {
    const dst = into === 'scratch' ? this.packBuffer.ensure(this, k * n) : this.malloc(4 * k * n);
    this.exports.packW(w, ldw, k, n, dst, widePanels(n) ? 1 : 0);
    return dst;
  }

  /**
   * Packs the input gradient's filter W'[(t', o), i] = W[taps-1-t', i, o] from
   * W [taps, ci, co] (ci and co multiples of 4) into the packing buffer (valid
   * until the next packing): dx is then the GEMM of dy with it.
   */
  packWT(w: number, taps: number, ci: number, co: number): number {
    const dst = this.packBuffer.ensure(this, taps * ci * co);
    this.exports.packWT(w, taps, ci, co, dst, widePanels(ci) ? 1 : 0);
    return dst;
  }

  private ctl(): Int32Array {
    return new Int32Array(this.heap(), this.control, CONTROL_INTS);
  }

  /** C = A · W (+ bias, ReLU) over every thread; W packed by packW. */
  run(call: ConvCall): void {
    const { ind, x, w, c, bias, taps, ci, ldc, relu, rows, cols } = call;
    const T = this.threadCount;
    const wide = widePanels(cols) ? 1 : 0;
    const shares = split(rows, cols, T);
    const widest = Math.max(...shares.map(([, , c0, c1]) => c1 - c0));
    const chunk = Math.max(1, Math.min(taps, Math.floor(CHUNK_FLOATS / (ci * Math.max(widest, 1)))));
    const perThread = 4 * chunk * ci + 16;
    const scratch = this.scratch.ensure(this, perThread * T);
    const zero = this.zero.ensure(this, ci, true);
    const r = relu ? 1 : 0;
    if (T === 1 || !this.control) {
      this.exports.conv(ind, taps, ci, x, zero, w, c, ldc, bias, r, 0, rows, 0, cols, scratch, chunk, wide);
      return;
    }
    const ctl = this.ctl();
    ctl.set([ind, taps, ci, x, zero, w, c, ldc, bias, r, scratch, 4 * perThread, chunk, wide], 3);
    for (let id = 0; id < T; id++) ctl.set(shares[id], SHARES + 4 * id);
    Atomics.store(ctl, 1, 0);
    Atomics.add(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    const [r0, r1, c0, c1] = shares[0];
    if (r1 > r0 && c1 > c0) this.exports.conv(ind, taps, ci, x, zero, w, c, ldc, bias, r, r0, r1, c0, c1, scratch, chunk, wide);
    for (;;) {
      const done = Atomics.load(ctl, 1);
      if (done >= T - 1) break;
      if (Atomics.wait(ctl, 1, done, THREAD_TIMEOUT_MS) === 'timed-out') {
        throw new Error(`conv-gemm: a convolution thread did not answer in ${THREAD_TIMEOUT_MS / 1000} s`);
      }
    }
  }
}

/**
 * Each thread's [row0, row1, col0, col1]: columns in whole panels (12 wide,
 * or 8: widePanels) where C has more columns than rows (each thread then
 * reads only its part of W, the larger operand: layer 4's 2.4 M weights
 * against 128 pixels) or too few rows to share, else rows in whole tiles (3
 * or 4 rows).
 */
export function split(rows: number, cols: number, threads: number): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  const [width, height] = widePanels(cols) ? [12, 3] : [8, 4];
  const blocks = Math.ceil(rows / height);
  const panels = Math.ceil(cols / width);
  if (panels >= threads && (cols > rows || blocks < 2 * threads)) {
    const per = Math.ceil(panels / threads);
    for (let t = 0; t < threads; t++) out.push([0, rows, Math.min(cols, t * per * width), Math.min(cols, (t + 1) * per * width)]);
  } else {
    const per = Math.ceil(blocks / threads);
    for (let t = 0; t < threads; t++) out.push([Math.min(rows, t * per * height), Math.min(rows, (t + 1) * per * height), 0, cols]);
  }
  return out;
}

const byBackend = new WeakMap<object, ConvGemm | null>();
let failure: string | null = null;

/** Why the last wasm backend got no convolution GEMM (null when it got one). */
export function convGemmFailure(): string | null {
  return failure;
}

/** Whether this thread may block on Atomics.wait (not a page's main thread). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** A new GEMM on this backend (convGemm caches one per backend; tests make their own). */
export function instantiate(backend: WasmBackendLike, xnnpackThreads: number): ConvGemm | null {
  const found = backendMemory(backend);
  if (typeof found === 'string') {
    failure = found;
    return null;
  }
  const { memory, WA, shared } = found;
  let module: object | null = null;
  let fused = true;
  const reasons: string[] = [];
  for (const [bytes, isFused] of [[shared ? RELAXED_SHARED : RELAXED_UNSHARED, true], [shared ? PLAIN_SHARED : PLAIN_UNSHARED, false]] as const) {
    try {
      module = new WA.Module(decodeBase64(bytes));
      fused = isFused;
      break;
    } catch (e) {
      reasons.push((e as Error).message);
    }
  }
  if (!module) {
    failure = `the convolution module did not compile here: ${reasons.join('; ')}`;
    return null;
  }
  const threads = shared && xnnpackThreads > 1 && spawner && canBlock() ? Math.min(xnnpackThreads, MAX_THREADS) : 1;
  if (xnnpackThreads > 1 && threads === 1) {
    failure = `XNNPACK runs ${xnnpackThreads} threads and this host gives the convolution none (${spawner ? 'this thread cannot block' : 'no thread spawner'})`;
    return null;
  }
  const instance = new WA.Instance(module, { env: { memory } });
  const gemm = new ConvGemm(backend, instance.exports as unknown as ConvExports, module, memory, threads, fused);
  gemm.start();
  failure = null;
  return gemm;
}

/**
 * The convolution GEMM on this backend's heap and threads, or null where it
 * cannot run as fast as XNNPACK would (see above; convGemmFailure says why).
 */
export function convGemm(backend: unknown, xnnpackThreads: number): ConvGemm | null {
  const b = backend as WasmBackendLike & object;
  if (!b || typeof b !== 'object' || !('wasm' in b)) return null;
  let g = byBackend.get(b);
  if (g === undefined) {
    g = instantiate(b, xnnpackThreads);
    byBackend.set(b, g);
  }
  return g;
}
