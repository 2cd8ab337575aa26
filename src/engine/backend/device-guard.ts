import * as tf from '../tf';

/**
 * GPU devices report failures out of band: WebGPU through error scopes, the
 * device's `uncapturederror` event and `device.lost`; WebGL through context
 * loss. tfjs surfaces none of them, so a broken step reads back zeros and looks
 * like convergence. `guardDevice` runs one unit of work (a training step, a
 * check) so that any such failure rejects it with a DeviceError naming what
 * failed. On WASM and CPU it only runs the work.
 */

export type DeviceFailure = 'validation' | 'out-of-memory' | 'internal' | 'device-lost' | 'context-lost' | 'zero-step' | 'storage-buffers';

export class DeviceError extends Error {
  constructor(readonly failure: DeviceFailure, readonly backend: string, detail: string) {
    super(`${backend} ${describe(failure)}: ${detail}`);
    this.name = 'DeviceError';
  }

  /** The device can no longer be used at all (its tensors are gone). */
  get fatal(): boolean { return this.failure === 'device-lost' || this.failure === 'context-lost'; }
}

function describe(f: DeviceFailure): string {
  switch (f) {
    case 'validation': return 'validation error';
    case 'out-of-memory': return 'ran out of GPU memory';
    case 'internal': return 'internal error';
    case 'device-lost': return 'device was lost';
    case 'context-lost': return 'WebGL context was lost';
    case 'zero-step': return 'step read back as all zeros';
    case 'storage-buffers': return 'op binds too many storage buffers';
  }
}

interface GpuErrorLike { message: string; constructor: { name: string } }
interface GpuDeviceLike {
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<GpuErrorLike | null>;
  lost: Promise<{ reason: string; message: string }>;
  addEventListener?(type: 'uncapturederror', cb: (e: { error: GpuErrorLike }) => void): void;
}
interface WebGlLike { isContextLost(): boolean }

/** What each device has said outside any scope, kept since it was first seen. */
interface Watch { lost?: string; uncaptured: string[] }
const watches = new WeakMap<object, Watch>();

function watch(device: GpuDeviceLike): Watch {
  let w = watches.get(device);
  if (!w) {
    const fresh: Watch = { uncaptured: [] };
    w = fresh;
    watches.set(device, fresh);
    device.lost.then((info) => { fresh.lost = `${info.reason || 'unknown'}: ${info.message || 'no message'}`; }, () => {});
    device.addEventListener?.('uncapturederror', (e) => { fresh.uncaptured.push(e.error?.message ?? String(e)); });
  }
  return w;
}

function webgpuDevice(): GpuDeviceLike | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return (tf.backend() as unknown as { device?: GpuDeviceLike }).device ?? null;
}

function webglContext(): WebGlLike | null {
  if (tf.getBackend() !== 'webgl') return null;
  return (tf.backend() as unknown as { gpgpu?: { gl?: WebGlLike } }).gpgpu?.gl ?? null;
}

/** Start watching the active backend's device (so a loss between steps is seen too). */
export function watchDevice(): void {
  const d = webgpuDevice();
  if (d) watch(d);
}

/** Throws if the active backend's device is already known to be unusable. */
export function assertDeviceUsable(): void {
  const name = tf.getBackend();
  const d = webgpuDevice();
  if (d) {
    const w = watch(d);
    if (w.lost) throw new DeviceError('device-lost', name, w.lost);
  }
  if (webglContext()?.isContextLost()) throw new DeviceError('context-lost', name, 'the browser took the GPU context back');
}

/** True on the backends whose failures are silent (zeros) rather than thrown. */
export function isGpuBackend(name = tf.getBackend()): boolean {
  return name === 'webgpu' || name === 'webgl';
}

export async function guardDevice<T>(what: string, work: () => Promise<T>): Promise<T> {
  const name = tf.getBackend();
  const device = webgpuDevice();
  const gl = webglContext();
  assertDeviceUsable();
  if (!device) {
    const out = await work();
    if (gl?.isContextLost()) throw new DeviceError('context-lost', name, `during ${what}`);
    return out;
  }
  const w = watch(device);
  const before = w.uncaptured.length;
  // Innermost scope is popped first: internal, then out-of-memory, then validation.
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('internal');
  let out: T;
  let thrown: unknown;
  try {
    out = await work();
  } catch (e) {
    thrown = e;
  }
  // Scopes are popped whatever happened, so the device's scope stack stays balanced.
  const popped = await Promise.all([device.popErrorScope(), device.popErrorScope(), device.popErrorScope()]).catch((e: Error) => [{ message: e.message, constructor: { name: 'GPUInternalError' } }]);
  if (w.lost) throw new DeviceError('device-lost', name, `during ${what}: ${w.lost}`);
  const kinds: DeviceFailure[] = ['internal', 'out-of-memory', 'validation'];
  for (let i = 0; i < popped.length; i++) {
    const err = popped[i];
    if (err) throw new DeviceError(kindOf(err, kinds[i]), name, `during ${what}: ${firstLines(err.message)}`);
  }
  if (w.uncaptured.length > before) throw new DeviceError('validation', name, `during ${what}: ${firstLines(w.uncaptured[before])}`);
  if (thrown !== undefined) {
    if ((thrown as Error)?.name === 'StorageBufferLimitError') throw new DeviceError('storage-buffers', name, `during ${what}: ${(thrown as Error).message}`);
    throw thrown;
  }
  return out!;
}

function kindOf(err: GpuErrorLike, scope: DeviceFailure): DeviceFailure {
  const n = err.constructor?.name ?? '';
  if (/OutOfMemory/i.test(n)) return 'out-of-memory';
  if (/Validation/i.test(n)) return 'validation';
  if (/Internal/i.test(n)) return 'internal';
  return scope;
}

function firstLines(msg: string): string {
  return msg.split('\n').slice(0, 3).join(' ').trim();
}
