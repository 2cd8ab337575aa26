/**
 * The SIMD loops of host-kernels.wat, instantiated on a tfjs wasm backend's
 * own memory, so they read and write tensors where they lie.
 *
 * Why: the host kernels' JavaScript loops are scalar float64 (~5–10 ns an
 * element in V8 here); the same loops in 128-bit WASM SIMD run 4 lanes at a
 * time on the heap tfjs's XNNPACK uses. The module is ~1.4 KB, compiled
 * synchronously (allowed in workers and Node; under Chromium's 4 KB limit
 * for a page's main thread).
 *
 * hostSimd() is null where the loops cannot run: the cpu backend (its
 * tensors are JavaScript arrays), a wasm build without SIMD (tfjs picked its
 * plain build: the module would not compile), or a host without WebAssembly.
 * The kernels then take their JavaScript loops.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { decodeBase64, hostWebAssembly, type HostWasmMemory, type HostWebAssembly } from '../../host';
import { SHARED_MEMORY_MODULE, UNSHARED_MEMORY_MODULE } from './host-kernels-wasm';

/** The loops (pointers are heap byte offsets; counts multiples of 4 floats; c4 = channels·4). */
export interface SimdLoops {
  sumOfSquares(x: number, n: number): number;
  adamw(w: number, g: number, m: number, v: number, w1: number, m1: number, v1: number, n: number,
    beta1: number, beta2: number, lrOverBc1: number, invBc2: number, epsilon: number, decay: number): void;
  bnMoments(x: number, n: number, c4: number, sum: number, sq: number): void;
  bnNormalise(x: number, y: number, n: number, c4: number, scale: number, shift: number, relu: number): void;
  bnGradSums(x: number, dy: number, n: number, c4: number, scale: number, shift: number, relu: number, sd: number, sdx: number): void;
  bnGradInput(x: number, dy: number, dx: number, n: number, c4: number, scale: number, shift: number, relu: number, a: number, b: number, k: number): void;
}

/** The part of tfjs-backend-wasm's BackendWasm (and its Emscripten module) used here and by conv-gemm.ts. */
export interface WasmBackendLike {
  wasm: {
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    HEAPU8: Uint8Array;
    /** threaded build */
    wasmMemory?: HostWasmMemory;
    /** single-threaded build */
    asm?: { memory?: HostWasmMemory };
  };
  /** BackendWasm's own accessor of a tensor's heap offset. */
  getMemoryOffset(dataId: unknown): number;
}

export class HostSimd {
  constructor(private readonly backend: WasmBackendLike, readonly loops: SimdLoops) {}

  /** Heap byte offset of a tensor's data. */
  ptr(t: TensorInfo): number {
    return this.backend.getMemoryOffset(t.dataId);
  }

  /**
   * Zeroed scratch memory on the heap for the span of `fn`: float64 arrays
   * first (8-byte aligned), then float32 ones, each `length` long; `fn` gets
   * their pointers and views (valid until the next heap allocation).
   */
  scratch<T>(length: number, f64: number, f32: number, fn: (ptrs: number[], f64s: Float64Array[], f32s: Float32Array[]) => T): T {
    const bytes = length * (8 * f64 + 4 * f32);
    const base = this.backend.wasm._malloc(bytes + 16);
    try {
      const start = (base + 15) & ~15;
      const buffer = this.backend.wasm.HEAPU8.buffer;
      new Uint8Array(buffer, start, bytes).fill(0);
      const ptrs: number[] = [];
      const f64s: Float64Array[] = [];
      const f32s: Float32Array[] = [];
      let p = start;
      for (let i = 0; i < f64; i++, p += 8 * length) { ptrs.push(p); f64s.push(new Float64Array(buffer, p, length)); }
      for (let i = 0; i < f32; i++, p += 4 * length) { ptrs.push(p); f32s.push(new Float32Array(buffer, p, length)); }
      return fn(ptrs, f64s, f32s);
    } finally {
      this.backend.wasm._free(base);
    }
  }
}

const byBackend = new WeakMap<object, HostSimd | null>();
let failure: string | null = null;

/** Why the last wasm backend got no SIMD loops (null when it got them). */
export function hostSimdFailure(): string | null {
  return failure;
}

/**
 * The wasm backend's memory, whether it is shared (its threaded build) and the
 * host's WebAssembly, or why a module cannot run on it.
 */
export function backendMemory(backend: WasmBackendLike): { memory: HostWasmMemory; shared: boolean; WA: HostWebAssembly } | string {
  const memory = backend.wasm?.wasmMemory ?? backend.wasm?.asm?.memory;
  const WA = hostWebAssembly();
  if (!memory || !WA || typeof backend.wasm._malloc !== 'function' || typeof backend.getMemoryOffset !== 'function') {
    return 'the wasm backend exposes no memory (or the host has no WebAssembly)';
  }
  return { memory, WA, shared: Object.prototype.toString.call(memory.buffer) === '[object SharedArrayBuffer]' };
}

function instantiate(backend: WasmBackendLike): HostSimd | null {
  const found = backendMemory(backend);
  if (typeof found === 'string') {
    failure = found;
    return null;
  }
  const { memory, WA, shared } = found;
  try {
    const module = new WA.Module(decodeBase64(shared ? SHARED_MEMORY_MODULE : UNSHARED_MEMORY_MODULE));
    const instance = new WA.Instance(module, { env: { memory } });
    failure = null;
    return new HostSimd(backend, instance.exports as unknown as SimdLoops);
  } catch (e) {
    // No SIMD in this engine (tfjs then runs its plain build): the scalar loops serve.
    failure = `the SIMD module did not compile here: ${(e as Error).message}`;
    return null;
  }
}

/** The SIMD loops on this backend's heap, or null (see above). */
export function hostSimd(backend: unknown): HostSimd | null {
  const b = backend as WasmBackendLike & object;
  if (!b || typeof b !== 'object' || !('wasm' in b)) return null;
  let s = byBackend.get(b);
  if (s === undefined) {
    s = instantiate(b);
    byBackend.set(b, s);
  }
  return s;
}
