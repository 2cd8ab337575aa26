/**
 * The WebGPU lane: every GPU-side job of the engine on tfjs-backend-webgpu
 * (through Dawn's Node binding; SwiftShader where there is no GPU) against the
 * same computation on WASM, at tiny sizes (SwiftShader runs ~1 GFLOP/s).
 *
 * Tolerances (max |a − b| / max |b|, b the WASM value): forward values 1e-4,
 * gradients 1e-3, two training steps' losses 1e-3 and gradient norms 3e-2
 * (training-mode batch norm at these sizes magnifies summation order; CPU's
 * distance from WASM is printed beside them), and the updated weights' median
 * difference within 1e-6 absolute, the largest within 2·lr a step (Adam moves a
 * weight whose gradient's sign is float noise by ±lr either way). Float32 on
 * both; what differs is summation order.
 *
 * Steps after the first are only comparable where training is well
 * conditioned: with the consistency term, or batch norm over two values (1x1
 * layer4 maps at a 32-px input, batch 2), two steps part by several percent
 * even between WASM and CPU. So two steps run with the teacher term, and the
 * consistency term is checked on one step.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../tf';
import { installNodeWebGpu } from '../../../cli/webgpu-node';
import { trySetBackend, type BackendName } from './backends';
import { DeviceError, guardDevice } from './device-guard';
import { AlignmentLoss, type LossSpec } from '../losses/alignment-loss';
import { lungFieldWeights } from '../losses/lung-fields';
import { decodeImage } from '../io/decode-image';
import { AlignmentModel } from '../models/stn/stn';
import { defaultStnConfig } from '../models/stn/config';
import { randomVgg } from '../models/vgg/vgg';
import { serializeModel, deserializeModel } from '../weights/model-io';
import { warpAffine } from '../sampler/warp';
import { Trainer, defaultTrainerSettings } from '../train/trainer';
import { DEFAULT_AUGMENT, bandMask, drawAugment, whitenMap, type AugmentSettings } from '../train/augment';
import { makeBatch, disposeBatch, stepRng } from '../train/batch';
import { refineBatch } from '../align/refine';
import { predictParams } from '../align/align';
import type { GrayImage } from '../io/gray-image';
import type { AffineMatrix } from '../affine/affine';
import { locInput } from '../align/prepare';
import { resizeArea } from '../image/resize';

const gpu = await (async () => {
  try {
    const info = await installNodeWebGpu();
    const reason = await trySetBackend('webgpu');
    if (reason) return { error: reason };
    if ((await trySetBackend('wasm')) !== null) return { error: 'the WASM reference backend did not start' };
    return { info };
  } catch (e) {
    return { error: (e as Error).message };
  }
})();
if ('error' in gpu) console.warn(`[webgpu lane] skipped: ${gpu.error}`);
else console.log(`[webgpu lane] adapter: ${gpu.info!.adapter}`);

afterAll(async () => { if (!('error' in gpu)) await trySetBackend('wasm'); });

async function on(name: BackendName): Promise<void> {
  const reason = await trySetBackend(name);
  if (reason) throw new Error(reason);
}

type Work = () => tf.Tensor | tf.Tensor[] | Promise<tf.Tensor | tf.Tensor[]>;

/** Run `fn` on WASM and on WebGPU from the same host inputs; host copies of what it returns. */
async function both(fn: Work): Promise<{ wasm: Float32Array[]; webgpu: Float32Array[] }> {
  const r = await across(['wasm', 'webgpu'], fn);
  return { wasm: r.wasm, webgpu: r.webgpu };
}

async function across(names: BackendName[], fn: Work): Promise<Record<string, Float32Array[]>> {
  const out: Record<string, Float32Array[]> = {};
  for (const name of names) {
    await on(name);
    const before = tf.memory().numTensors;
    const r = await guardDevice(`parity on ${name}`, async () => {
      const t = await fn();
      const list = Array.isArray(t) ? t : [t];
      const data = await Promise.all(list.map(async (x) => Float32Array.from(await x.data() as Float32Array)));
      tf.dispose(list);
      return data;
    });
    expect(tf.memory().numTensors, `tensors leaked on ${name}`).toBe(before);
    out[name] = r;
  }
  return out;
}

/** |a − b| per element over lists of weight arrays, sorted ascending. */
function weightDiffs(a: Float32Array[], b: Float32Array[]): Float32Array {
  const out = new Float32Array(a.reduce((n, w) => n + w.length, 0));
  let at = 0;
  a.forEach((w, k) => { for (let i = 0; i < w.length; i++) out[at++] = Math.abs(w[i] - b[k][i]); });
  return out.sort();
}

function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    expect(Number.isFinite(a[i]), `non-finite value at ${i}`).toBe(true);
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m > 0 ? d / m : d;
}

const errors: Record<string, number> = {};
function expectClose(what: string, r: { wasm: Float32Array[]; webgpu: Float32Array[] }, tol: number): void {
  const e = Math.max(...r.wasm.map((w, i) => relErr(r.webgpu[i], w)));
  errors[what] = e;
  expect(e, `${what}: webgpu vs wasm`).toBeLessThan(tol);
}
afterAll(() => { if (Object.keys(errors).length) console.log(`[webgpu lane] max relative error vs WASM:\n${Object.entries(errors).map(([k, v]) => `  ${k.padEnd(34)} ${v.toExponential(2)}`).join('\n')}`); });

function film(w: number, h: number, seed: number): GrayImage {
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const u = x / w - 0.5; const v = y / h - 0.5;
    // Frequencies and lung blobs differ per seed: films that differ only in phase leave batch norm's
    // batch variance near zero in some channels, and then the step itself is ill-conditioned on any backend.
    const k = 1 + (seed % 4);
    data[y * w + x] = Math.min(1, Math.max(0, 0.55 + 0.3 * Math.cos((5 + 3 * k) * u + seed) * Math.sin((3 + 2 * k) * v - seed)
      - 0.35 * Math.exp(-((Math.abs(u) - 0.12 - 0.04 * k) ** 2 + (v - 0.05 * k + 0.1) ** 2) * (15 + 5 * k))));
  }
  return { width: w, height: h, data };
}

const L = 32;
const FRAME = { width: 16, height: 20 };

/**
 * A seeded model with a non-zero last layer, as in a trained one (with the zero
 * init the head ignores the encoder, which then gets no gradient either), made
 * on WASM and serialized so each backend starts from the same weights.
 */
async function liveModel(seed: number, headSeed: number) {
  await on('wasm');
  const m = new AlignmentModel(defaultStnConfig({ locSize: L, frame: FRAME, seed }));
  m.params.assign('head.fc2.weight', tf.randomNormal([256, 5], 0, 0.05, 'float32', headSeed));
  const art = await serializeModel(m);
  m.dispose();
  return art;
}

describe.skipIf('error' in gpu)('WebGPU parity with WASM (tiny sizes)', () => {
  it('ops over more inputs than the storage-buffer limit: addN (64), stack (40), concat (40)', async () => {
    const xs = Array.from({ length: 64 }, (_, i) => new Float32Array([i + 1, -i, 0.5 * i]));
    const r = await both(() => tf.tidy(() => {
      const ts = xs.map((x) => tf.tensor1d(x));
      return [tf.addN(ts), tf.stack(ts.slice(0, 40)), tf.concat(ts.slice(0, 40))];
    }));
    expect(Array.from(r.webgpu[0])).toEqual([2080, -2016, 1008]);
    expectClose('addN / stack / concat', r, 1e-7);
  });

  it('a device validation error fails the guarded work, naming it', async () => {
    await on('webgpu');
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    // A buffer with MAP_READ and STORAGE together is invalid by the spec.
    const err = await guardDevice('a deliberately invalid buffer', async () => {
      device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as DeviceError).failure).toBe('validation');
    expect((err as Error).message).toMatch(/webgpu validation error: during a deliberately invalid buffer/);
    // The scopes are balanced: the next guarded work passes.
    await expect(guardDevice('a valid read', async () => (await tf.scalar(2).data())[0])).resolves.toBe(2);
  });

  it('STN inference (ResNet18 + bounded head, folded batch norm)', async () => {
    const art = await liveModel(5, 9);
    const locs = [film(L, L, 1), film(L, L, 2)];
    const r = await both(async () => {
      const model = deserializeModel(art.modelJson, art.weightData).model;
      const p = await predictParams(model, locs);
      model.dispose();
      return tf.tensor2d(p.map((x) => [...x]));
    });
    expectClose('STN inference (params)', r, 1e-4);
  });

  it('the sampler and its θ-gradient', async () => {
    const img = film(24, 30, 3);
    // Generic values: no sample lands exactly on a pixel (a kink of bilinear sampling, where float rounding picks the side).
    const theta = [[0.913, 0.071, 0.037], [-0.083, 1.093, -0.117]];
    const w = Float32Array.from({ length: FRAME.width * FRAME.height }, (_, i) => Math.sin(i));
    const r = await both(() => tf.tidy(() => {
      const src = tf.tensor4d(img.data, [1, 30, 24, 1]);
      const th = tf.tensor3d([theta]);
      const wt = tf.tensor4d(w, [1, FRAME.height, FRAME.width, 1]);
      const warped = warpAffine(src, th, FRAME);
      const g = tf.grad((t: tf.Tensor) => warpAffine(src, t as tf.Tensor3D, FRAME).mul(wt).sum())(th);
      return [warped, g];
    }));
    expectClose('sampler forward', { wasm: [r.wasm[0]], webgpu: [r.webgpu[0]] }, 1e-4);
    expectClose('sampler θ-gradient', { wasm: [r.wasm[1]], webgpu: [r.webgpu[1]] }, 1e-3);
  });

  const LOSSES: LossSpec[] = [
    { kind: 'pixel' }, { kind: 'ncc' }, { kind: 'lncc', window: 5 },
    { kind: 'multiscale', base: 'lncc', levels: 2, window: 3 }, { kind: 'perceptual', lambda: 20 },
  ];
  for (const spec of LOSSES) {
    it(`loss ${spec.kind} and its gradient`, async () => {
      const a = film(FRAME.width, FRAME.height, 4);
      const t = film(FRAME.width, FRAME.height, 6);
      const r = await both(() => {
        const vgg = spec.kind === 'perceptual' ? randomVgg(1234) : undefined;
        const template = tf.tensor4d(t.data, [1, FRAME.height, FRAME.width, 1]);
        const loss = new AlignmentLoss(spec, { template, perceptual: vgg });
        const x = tf.tensor4d(a.data, [1, FRAME.height, FRAME.width, 1]);
        const { value, grad } = tf.valueAndGrad((w: tf.Tensor) => loss.compute(w as tf.Tensor4D).total)(x);
        loss.dispose();
        vgg?.params.dispose();
        tf.dispose([template, x]);
        return [value, grad];
      });
      expect(Math.abs(r.webgpu[0][0])).toBeGreaterThan(0);
      expectClose(`loss ${spec.kind}`, { wasm: [r.wasm[0]], webgpu: [r.webgpu[0]] }, 1e-4);
      expectClose(`loss ${spec.kind} gradient`, { wasm: [r.wasm[1]], webgpu: [r.webgpu[1]] }, 1e-3);
    });
  }

  it('lncc weighted toward the lung fields: the weights (found by tensor ops in the template) and the loss with its gradient', async () => {
    // The shipped canonical chest at 64x80: at the tiny frame above the 6-px band covers every window.
    const chest = resizeArea(decodeImage(readFileSync(new URL('../../../models/canonical-chest.png', import.meta.url)), 'canonical-chest.png'), 64, 80);
    const a = film(64, 80, 4);
    const r = await both(() => {
      const template = tf.tensor4d(chest.data, [1, 80, 64, 1]);
      const weights = lungFieldWeights(template, 9, 0.25);
      const loss = new AlignmentLoss({ kind: 'lncc', window: 9, offLungs: 0.25 }, { template });
      const x = tf.tensor4d(a.data, [1, 80, 64, 1]);
      const { value, grad } = tf.valueAndGrad((w: tf.Tensor) => loss.compute(w as tf.Tensor4D).total)(x);
      loss.dispose();
      tf.dispose([template, x]);
      return [weights, value, grad];
    });
    // Weighted, not uniform: 1 on the fields and ¼ off them, scaled to mean 1.
    const w = r.webgpu[0];
    expect(Math.max(...w) / Math.min(...w)).toBeCloseTo(4, 3);
    expectClose('lung-field weights', { wasm: [r.wasm[0]], webgpu: [r.webgpu[0]] }, 1e-6);
    expectClose('loss lncc, lung-field weights', { wasm: [r.wasm[1]], webgpu: [r.webgpu[1]] }, 1e-4);
    expectClose('loss lncc, lung-field weights, gradient', { wasm: [r.wasm[2]], webgpu: [r.webgpu[2]] }, 1e-3);
  });

  it('training batches with random crops, opacity patches, bright marks and effusions: the encoder inputs, and the whitening x + w·(1 − x)', async () => {
    // Batches only, no training step: a step at these sizes is the lane's slowest work on SwiftShader.
    const images = [0, 1, 2, 3].map((i) => { const f = film(48, 60, i); return { id: `o${i}`, loc: locInput(f, L), src: resizeArea(f, 2 * FRAME.width, 2 * FRAME.height).data }; });
    const geo = { locSize: L, srcSize: { width: 2 * FRAME.width, height: 2 * FRAME.height } };
    // Crops too, so the warp also runs on anisotropic views (drawn before the whitening, as in both settings).
    const plain: AugmentSettings = { ...DEFAULT_AUGMENT, enabled: true, border: 0.1, crop: 0.2 };
    const patched: AugmentSettings = { ...plain, opacity: 1, marks: 1, effusion: 1 };
    // One film a batch: opacities, marks and effusions are drawn last, so with and without them the rest of the draw is the same.
    const r = await both(() => images.flatMap((im, i) => [plain, patched].map((aug) => {
      const batch = makeBatch([im], geo, stepRng(21, i), aug);
      const loc = batch.loc.clone();
      disposeBatch(batch);
      return loc;
    })));
    expectClose('batch: encoder inputs with opacities, marks and effusions', r, 1e-5);
    // A crop's view is anisotropic (a ≠ e); a shift and scale's is not.
    expect(images.some((_, i) => { const [[a], [, e]] = drawAugment(stepRng(21, i), plain).matrix; return a !== e; })).toBe(true);
    images.forEach((_, i) => {
      const draw = drawAugment(stepRng(21, i), patched);
      expect(draw.opacities.length && draw.marks.length && draw.effusions.length).toBeGreaterThan(0);
      const white = whitenMap(draw, L)!;
      const mask = bandMask(draw.bands, L);
      const [base, got] = [r.webgpu[2 * i], r.webgpu[2 * i + 1]];
      let most = 0;
      for (let k = 0; k < L * L; k++) {
        expect(Math.abs(got[k] - mask[k] * (base[k] + white[k] * (1 - base[k]))), `film ${i}, pixel ${k}`).toBeLessThan(1e-5);
        most = Math.max(most, got[k] - base[k]);
      }
      expect(most, `film ${i}: the patches whitened nothing`).toBeGreaterThan(0.05);
    });
  });

  it('two training steps from the same weights and seed: loss, gradient norm, updated weights (teacher + bands)', async () => {
    const art = await liveModel(7, 3);
    const films = [0, 1, 2, 3].map((i) => film(48, 60, i));
    const images = films.map((f, i) => ({
      id: `f${i}`, loc: locInput(f, L), src: resizeArea(f, 2 * FRAME.width, 2 * FRAME.height).data,
      target: [[0.9, 0, 0.02 * i], [0, 0.95, -0.03]] as AffineMatrix,
    }));
    const tmpl = film(FRAME.width, FRAME.height, 9);
    const reports: Record<string, { loss: number[]; gradNorm: number[] }> = {};
    // CPU too: how far two trusted backends part on these steps is the yardstick for WebGPU.
    const r = await across(['wasm', 'cpu', 'webgpu'], async () => {
      const model = deserializeModel(art.modelJson, art.weightData).model;
      const template = tf.tensor4d(tmpl.data, [1, FRAME.height, FRAME.width, 1]);
      const loss = new AlignmentLoss({ kind: 'lncc', window: 5 }, { template });
      const trainer = new Trainer(model, loss, defaultTrainerSettings(model, {
        steps: 2, batchSize: 4, lr: 1e-4, lrEnd: 1e-4, frame: FRAME, srcSize: { width: 2 * FRAME.width, height: 2 * FRAME.height },
        augment: { ...DEFAULT_AUGMENT, enabled: true, border: 0.1 }, targetWeight: 5, consistencyWeight: 0,
      }));
      const rep = { loss: [] as number[], gradNorm: [] as number[] };
      for (let i = 0; i < 2; i++) {
        const s = await trainer.trainStep(images);
        expect(s.skipped).toBe(false);
        rep.loss.push(s.loss);
        rep.gradNorm.push(s.gradNorm);
      }
      reports[tf.getBackend()] = rep;
      // One read per weight: a concat of them all would compile a program per chunk shape, slow on SwiftShader.
      const weights = model.params.trainableNames().map((n) => model.params.get(n).clone());
      console.log(`[webgpu lane] ${tf.getBackend()} two steps: losses ${rep.loss.map((l) => l.toPrecision(7)).join(', ')}`);
      trainer.dispose();
      loss.dispose();
      template.dispose();
      model.dispose();
      return [tf.tensor1d(rep.loss), tf.tensor1d(rep.gradNorm), ...weights];
    });
    for (const v of reports.webgpu.loss) expect(v).toBeGreaterThan(0);
    for (const v of reports.webgpu.gradNorm) expect(v).toBeGreaterThan(0);
    // Training-mode batch norm over four films at 1x1 layer4 maps magnifies summation-order differences:
    // the encoder's training-mode features part by ~4e-5 between WebGPU (SwiftShader) and WASM, while
    // inference's predicted parameters part by 6e-8, and the step's loss by ~2e-4. CPU vs WASM is printed beside it.
    // Gradient norms are more sensitive still (CPU and WASM part by ~2e-3 on these films).
    for (const [k, what, tol] of [[0, 'step losses', 1e-3], [1, 'gradient norms', 3e-2]] as const) {
      errors[`training: ${what} (CPU vs WASM)`] = relErr(r.cpu[k], r.wasm[k]);
      expectClose(`training: ${what}`, { wasm: [r.wasm[k]], webgpu: [r.webgpu[k]] }, tol);
    }
    // Adam moves every weight by about ±lr whatever its gradient's size, so a weight whose gradient is
    // float noise may step either way: that bounds the worst weight (2 steps · 2·lr); the rest must agree.
    const diffs = weightDiffs(r.wasm.slice(2), r.webgpu.slice(2));
    const host = weightDiffs(r.wasm.slice(2), r.cpu.slice(2));
    const median = (d: Float32Array) => d[Math.floor(0.5 * (d.length - 1))];
    errors['training: updated weights median (abs)'] = median(diffs);
    errors['training: updated weights median, CPU (abs)'] = median(host);
    errors['training: updated weights max (abs)'] = diffs[diffs.length - 1];
    // Most weights move alike; where a gradient's sign is float noise Adam steps ±lr either way.
    expect(median(diffs)).toBeLessThan(1e-6);
    expect(diffs[diffs.length - 1]).toBeLessThan(2 * 2 * 1e-4);
  });

  it('one training step with the consistency term (every film twice, two augmentations): loss, its parts, gradient norm', async () => {
    const art = await liveModel(7, 3);
    const images = [0, 1, 2, 3].map((i) => { const f = film(48, 60, i); return { id: `c${i}`, loc: locInput(f, L), src: resizeArea(f, 2 * FRAME.width, 2 * FRAME.height).data }; });
    const tmpl = film(FRAME.width, FRAME.height, 9);
    const r = await both(async () => {
      const model = deserializeModel(art.modelJson, art.weightData).model;
      const template = tf.tensor4d(tmpl.data, [1, FRAME.height, FRAME.width, 1]);
      const loss = new AlignmentLoss({ kind: 'lncc', window: 5 }, { template });
      const trainer = new Trainer(model, loss, defaultTrainerSettings(model, {
        steps: 1, batchSize: 4, lr: 1e-4, frame: FRAME, srcSize: { width: 2 * FRAME.width, height: 2 * FRAME.height },
        augment: { ...DEFAULT_AUGMENT, enabled: true, border: 0.1 }, consistencyWeight: 10,
      }));
      const s = await trainer.trainStep(images);
      expect(s.parts.consistency).toBeGreaterThan(0);
      trainer.dispose();
      loss.dispose();
      template.dispose();
      model.dispose();
      return tf.tensor1d([s.loss, s.parts.lncc, s.parts.consistency, s.gradNorm]);
    });
    expectClose('training: one step with consistency', r, 1e-3);
  });

  it('a GPU step that reads back as exactly zero fails as a device error and leaves the weights and step', async () => {
    await on('webgpu');
    const model = new AlignmentModel(defaultStnConfig({ locSize: L, frame: FRAME, seed: 8 }));
    const template = tf.tensor4d(film(FRAME.width, FRAME.height, 2).data, [1, FRAME.height, FRAME.width, 1]);
    const real = new AlignmentLoss({ kind: 'pixel' }, { template });
    // What a dropped command buffer reads back as: a loss and gradient of exactly 0.
    const zero = Object.assign(Object.create(AlignmentLoss.prototype) as AlignmentLoss, real, {
      compute: (w: tf.Tensor4D) => { const total = w.mul(0).sum() as tf.Scalar; return { total, parts: { pixel: total } }; },
    });
    // The shapes of the training test above, so SwiftShader's compiled pipelines are reused (compiling is most of its time).
    const images = [0, 1, 2, 3].map((i) => ({ id: `z${i}`, loc: film(L, L, i).data, src: film(2 * FRAME.width, 2 * FRAME.height, i).data }));
    const trainer = new Trainer(model, zero, defaultTrainerSettings(model, { steps: 3, batchSize: 4, frame: FRAME, srcSize: { width: 2 * FRAME.width, height: 2 * FRAME.height } }));
    const read = async () => {
      const parts = await Promise.all(model.params.names().map(async (n) => Buffer.from(Float32Array.from(await model.params.get(n).data() as Float32Array).buffer)));
      return Buffer.concat(parts);
    };
    const before = await read();
    const tensors = tf.memory().numTensors;
    const err = await trainer.trainStep(images).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as DeviceError).failure).toBe('zero-step');
    expect((err as Error).message).toMatch(/webgpu step read back as all zeros: training step 0: loss and gradient norm both read back as exactly 0/);
    expect(trainer.step).toBe(0);
    expect(trainer.optimizer.step).toBe(0);
    expect(tf.memory().numTensors).toBe(tensors);
    expect((await read()).equals(before), 'the weights changed').toBe(true);
    trainer.dispose();
    real.dispose();
    template.dispose();
    model.dispose();
  });

  it('test-time refinement (10 Adam steps on the five parameters)', async () => {
    const imgs = [film(40, 50, 1), film(40, 50, 2)];
    const tmpl = film(20, 25, 5);
    const r = await both(async () => tf.tensor2d((await refineBatch(imgs, tmpl, [[0.02, -0.03, 0.95, 1.02, 0.01], [0, 0, 1, 1, 0]], { iterations: 10, size: 24, window: 5 })).map((p) => [...p])));
    expectClose('refinement (params)', r, 1e-3);
  });
});
