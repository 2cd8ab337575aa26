import * as tf from '../tf';

/**
 * WebGPU allows few storage buffers per shader stage (8 by default,
 * `maxStorageBuffersPerShaderStage`), and tfjs-backend-webgpu compiles an op
 * into one program that binds each input and the output as a storage buffer.
 * Over the limit the pipeline is invalid, Dawn drops the whole command buffer
 * and every value read back in that step is 0, with nothing thrown.
 *
 * tfjs's own Concat (and so Pack/stack) already splits its inputs; AddN does
 * not, and the trainer's gradient norm sums 64 tensors with it. So:
 *   - AddN is re-registered for webgpu as a tree of AddNs of at most
 *     `limit − 1` inputs each (identical sums, a few more dispatches);
 *   - every program the backend runs is checked against the limit first, so an
 *     op that still binds too many buffers fails loudly, naming itself, instead
 *     of zeroing a step.
 */

interface WebGpuProgramLike { variableNames?: string[] }
interface WebGpuBackendLike {
  device: { limits: { maxStorageBuffersPerShaderStage: number } };
  runWebGPUProgram(program: WebGpuProgramLike, inputs: tf.TensorInfo[], ...rest: unknown[]): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

const guarded = new WeakSet<object>();
let addNWrapped = false;

/** The most inputs one program may bind beside its output. */
export function maxProgramInputs(backend: WebGpuBackendLike): number {
  return backend.device.limits.maxStorageBuffersPerShaderStage - 1;
}

export class StorageBufferLimitError extends Error {
  constructor(readonly program: string, readonly buffers: number, readonly limit: number) {
    super(`WebGPU program "${program}" binds ${buffers} storage buffers; this device allows ${limit} per shader stage`);
    this.name = 'StorageBufferLimitError';
  }
}

/** Install both guards on the active webgpu backend (idempotent). */
export function applyWebGpuLimits(): void {
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  if (!backend?.device?.limits || guarded.has(backend)) return;
  guarded.add(backend);
  const limit = backend.device.limits.maxStorageBuffersPerShaderStage;
  const run = backend.runWebGPUProgram.bind(backend);
  backend.runWebGPUProgram = (program, inputs, ...rest) => {
    // Inputs plus the output; programs with no output buffer of their own do not exist in tfjs-webgpu.
    const buffers = inputs.length + 1;
    if (buffers > limit) throw new StorageBufferLimitError(program.constructor.name, buffers, limit);
    return run(program, inputs, ...rest);
  };
  wrapAddN();
}

function wrapAddN(): void {
  if (addNWrapped) return;
  const original = tf.getKernel(tf.AddN, 'webgpu');
  if (!original) return;
  addNWrapped = true;
  const inner = original.kernelFunc;
  tf.unregisterKernel(tf.AddN, 'webgpu');
  tf.registerKernel({
    kernelName: tf.AddN,
    backendName: 'webgpu',
    kernelFunc: (args) => {
      const backend = args.backend as unknown as WebGpuBackendLike;
      const group = Math.max(2, maxProgramInputs(backend));
      // Intermediate sums are this kernel's to dispose; the caller's inputs are not.
      const own = new Set<tf.TensorInfo>();
      let level = args.inputs as unknown as tf.TensorInfo[];
      while (level.length > group) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < level.length; i += group) {
          const part = level.slice(i, i + group);
          if (part.length === 1) { next.push(part[0]); continue; }
          const sum = inner({ ...args, inputs: part as never }) as tf.TensorInfo;
          own.add(sum);
          next.push(sum);
        }
        level = next;
      }
      const out = inner({ ...args, inputs: level as never }) as tf.TensorInfo;
      for (const t of own) backend.disposeData(t.dataId);
      return out;
    },
  });
}
