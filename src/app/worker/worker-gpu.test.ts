/**
 * The workbench's fine-tuning on WebGPU (Dawn in Node; SwiftShader without a
 * GPU), through the real protocol: non-zero losses, the Backend panel's check
 * with a training step, a device validation error failing a step with the
 * weights kept, and a lost device moving training to WASM with the host copy.
 * Skips with a message where no WebGPU adapter can be had.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { installNodeWebGpu } from '../../../cli/webgpu-node';
import { tf } from '../../engine';
import { REPO_ROOT } from '../../testing/shared-data';
import { engineHandlers } from './handlers';
import { inProcessRunner } from './in-process';
import type { TrainEvent, TrainSettings } from './protocol';
import { MemoryWeightStore } from './weight-store';

const gpu = await installNodeWebGpu().then((info) => ({ info }), (e: Error) => ({ error: e.message }));
if ('error' in gpu) console.warn(`[webgpu lane] workbench tests skipped: ${gpu.error}`);

async function fetchAsset(path: string): Promise<Uint8Array | null> {
  // The identity model: its known start keeps the tiny runs cheap to reason about.
  if (path.startsWith('models/default/')) return null;
  const p = join(REPO_ROOT, path);
  return existsSync(p) ? new Uint8Array(readFileSync(p)) : null;
}

const TINY = (ids: string[]): TrainSettings => ({
  ids, steps: 2, batchSize: 2, lr: 1e-3, loss: 'lncc', lambda: 20, augment: true, locSize: 32,
  frame: { width: 32, height: 40 }, perceptual: 'builtin', maxImages: 4, sampleEvery: 100,
});

/** A digest of the weight files in an exported zip (they are tens of MB: compare digests, not bytes). */
function weightsOf(zip: Uint8Array): string {
  const files = unzipSync(zip);
  const h = createHash('sha256');
  for (const n of Object.keys(files).filter((k) => k.endsWith('.bin')).sort()) h.update(files[n]);
  return h.digest('hex');
}

describe.skipIf('error' in gpu)('workbench fine-tuning on WebGPU', () => {
  const runner = inProcessRunner(engineHandlers({ fetchAsset, weightStore: new MemoryWeightStore() }));
  const ids: string[] = [];

  it('starts on WebGPU, trains two steps with non-zero losses', async () => {
    const init = await runner.call('init', { order: ['webgpu', 'wasm'] }).done;
    expect(init.backend.active).toBe('webgpu');
    const { files } = await runner.call('demo', { count: 2, seed: 3 }).done;
    await runner.call('addFiles', { files: files.map((f, i) => ({ id: `g${i}`, name: f.name, blob: new Blob([f.bytes as BlobPart]) })) }).done;
    ids.push('g0', 'g1');
    const events: TrainEvent[] = [];
    const r = await runner.call('train', TINY(ids), (e) => events.push(e)).done;
    expect(r.failure).toBeUndefined();
    expect(r.steps).toBe(2);
    const losses = events.filter((e) => e.kind === 'step').map((e) => (e as { point: { loss: number } }).point.loss);
    expect(losses).toHaveLength(2);
    for (const l of losses) expect(l).toBeGreaterThan(0);
  });

  it('checks WebGPU against WASM on inference and one training step', async () => {
    const c = await runner.call('checkBackend', { reference: 'wasm' }).done;
    expect(c.backend).toBe('webgpu');
    expect(c.train.loss).toBeGreaterThan(0);
    expect(c.train.relDiff).toBeLessThan(1e-3);
    expect(c.ok).toBe(true);
  });

  it('a device validation error fails the step by name, keeps the weights and offers WASM', async () => {
    const before = weightsOf((await runner.call('exportWeights', {}).done).bytes);
    const backend = tf.backend() as unknown as { device: GPUDevice; queue: GPUQueue };
    const queue = backend.queue;
    let injected = false;
    // A real validation error in the middle of the step's GPU work: an invalid buffer created beside the backend's first submit.
    backend.queue = new Proxy(queue, {
      get(target, key) {
        if (key === 'submit') {
          return (buffers: Iterable<GPUCommandBuffer>) => {
            if (!injected) { injected = true; backend.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE }); }
            return target.submit(buffers);
          };
        }
        const v = Reflect.get(target, key);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    try {
      const r = await runner.call('train', TINY(ids)).done;
      expect(r.failure).toBeDefined();
      expect(r.failure!.fatal).toBe(false);
      expect(r.failure!.backend).toBe('webgpu');
      // The first GPU work of a run is its first sample's prediction: guarded like the steps.
      expect(r.failure!.message).toMatch(/webgpu validation error: during (training step|the sample at step)/);
      expect(r.failure!.offer).toContain('wasm');
      expect(r.steps).toBe(0);
      expect(injected).toBe(true);
    } finally {
      backend.queue = queue;
    }
    expect(weightsOf((await runner.call('exportWeights', {}).done).bytes)).toEqual(before);
  });

  it('a lost device moves training to WASM with the weights it had', async () => {
    const before = weightsOf((await runner.call('exportWeights', {}).done).bytes);
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    device.destroy();
    await device.lost;
    const r = await runner.call('train', TINY(ids)).done;
    expect(r.failure?.fatal).toBe(true);
    expect(r.failure!.message).toMatch(/webgpu device was lost/);
    expect(r.failure!.movedTo).toBe('wasm');
    expect(weightsOf((await runner.call('exportWeights', {}).done).bytes)).toEqual(before);
    // Training goes on where it moved.
    const again = await runner.call('train', TINY(ids)).done;
    expect(again.failure).toBeUndefined();
    expect(again.steps).toBe(2);
  });
});
