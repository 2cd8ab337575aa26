/**
 * One benchmark case of `cxr-align bench` (a backend at a resolution), timed
 * in this process: inference (the network on a batch of encoder inputs, the
 * engine's align stage 1, + the host warp of each film) and one training step;
 * WebGPU cases are also checked against WASM.
 */
import {
  AlignmentModel, AlignmentLoss, DEFAULT_AUGMENT, Trainer, defaultStnConfig, defaultTrainerSettings, deserializeModel,
  paramsToMatrix, predictFromLocs, serializeModel, syntheticChest, tf, type Size, type TrainingImage,
} from '../../src/engine/index';
import { warpImageHost } from '../../src/engine/align/warp-host';
import { setupBackend, wasmThreads, webGpuAdapter } from '../backend';
import type { NodeGpu } from '../webgpu-node';
import { median, noise, timeRuns } from './timing';

export type BenchBackend = 'wasm' | 'cpu' | 'webgpu';
export const BENCH_BACKENDS: readonly BenchBackend[] = ['wasm', 'cpu', 'webgpu'];

export interface BenchCase {
  backend: BenchBackend;
  /** Encoder input side. */
  loc: number;
  /** Output frame of inference. */
  out: Size;
  /** Loss frame of training (sources at twice this). */
  train: Size;
  /** WASM: XNNPACK's threads (1 = tfjs's single-threaded build); the others ignore it. */
  threads?: number;
}

export interface CaseResult extends BenchCase {
  label?: string;
  batch: number;
  runs: number;
  warmup: number;
  /** Network + warp, per image. */
  inferMsPerImage: number;
  netMsPerImage: number;
  warpMsPerImage: number;
  trainMsPerStep?: number;
  trainMsPerImage?: number;
  trainRuns?: number;
  trainWarmup?: number;
  peakRssMb: number;
  peakTensorMb: number;
  /** The case could not run at all. */
  error?: string;
  /** Inference ran, the training step failed (e.g. out of WASM memory). */
  trainError?: string;
  profile?: { infer: [string, number, number][]; train?: [string, number, number][] };
  /** WebGPU: the adapter the case ran on. */
  adapter?: NodeGpu;
  /** WebGPU: the same computation on WASM, from the same weights and inputs. */
  check?: WasmCheck;
}

export interface WasmCheck {
  /** max |Δ| of the predicted (tx, ty, sx, sy, θ) over the batch. */
  paramsMaxAbs: number;
  /** The first training step's loss on this backend and on WASM. */
  loss?: number;
  wasmLoss?: number;
  /** A mismatch beyond float noise (params 1e-3, loss relative 1e-3). */
  ok: boolean;
}

function topKernels(prof: Awaited<ReturnType<typeof tf.profile>>, k = 14): [string, number, number][] {
  const agg = new Map<string, { ms: number; n: number }>();
  for (const kr of prof.kernels) {
    // Op scopes ("fusedConv2d__op", a customGrad's "unnamed scope") wrap kernels that are listed too.
    if (kr.name.endsWith('__op') || kr.name === 'unnamed scope') continue;
    const a = agg.get(kr.name) ?? { ms: 0, n: 0 };
    a.ms += Number(kr.kernelTimeMs) || 0;
    a.n++;
    agg.set(kr.name, a);
  }
  return [...agg.entries()].sort((p, q) => q[1].ms - p[1].ms).slice(0, k).map(([name, a]) => [name, Math.round(a.ms * 10) / 10, a.n]);
}

/** The same B encoder inputs (L x L noise) for every run and backend. */
function encoderInputs(B: number, L: number): Float32Array[] {
  const all = noise(B * L * L, 1);
  return Array.from({ length: B }, (_, i) => all.subarray(i * L * L, (i + 1) * L * L));
}

/** One case, in this process (the parent runs each in a child process). */
export async function runCase(
  c: BenchCase,
  o: { batch: number; runs: number; warmup: number; skipTrain?: boolean; profile?: boolean; peak?: boolean; trainRuns?: number; trainWarmup?: number },
  onInference?: (partial: CaseResult) => void,
): Promise<CaseResult> {
  const started = await setupBackend(c.backend, () => {}, { threads: c.threads });
  if (started !== c.backend) throw new Error(`${c.backend} did not start`);
  if (c.backend === 'wasm') c.threads = wasmThreads() ?? undefined;
  const gpu = c.backend === 'webgpu';
  const B = o.batch;
  const L = c.loc;
  let peakTensorBytes = 0;
  const model = new AlignmentModel(defaultStnConfig({ locSize: L, frame: c.out }));
  // A head with non-zero weights, so the warp is not the identity fast path of anything.
  model.params.assign('head.fc2.weight', tf.randomNormal([256, 5], 0, 0.01, 'float32', 1));
  const locs = encoderInputs(B, L);
  const films = Array.from({ length: B }, (_, i) => syntheticChest({ width: 2 * c.out.width, height: 2 * c.out.height, seed: i + 1 }));

  const netMs: number[] = [];
  const warpMs: number[] = [];
  const infer = async () => {
    const t0 = performance.now();
    // The network as align runs it: the engine's stage 1 on the batch's encoder inputs.
    const rows = await predictFromLocs(model, locs, B);
    const t1 = performance.now();
    for (let i = 0; i < B; i++) warpImageHost(films[i], paramsToMatrix(rows[i]), c.out);
    netMs.push(t1 - t0);
    warpMs.push(performance.now() - t1);
  };
  const inferMs = await timeRuns(infer, o.runs, o.warmup);
  const timed = (xs: number[]) => median(xs.slice(o.warmup));
  const result: CaseResult = {
    ...c, batch: B, runs: o.runs, warmup: o.warmup,
    inferMsPerImage: inferMs / B, netMsPerImage: timed(netMs) / B, warpMsPerImage: timed(warpMs) / B,
    peakRssMb: 0, peakTensorMb: 0,
  };
  // One more (profiled) run for the tensor peak and the kernel table; skipped on the slow CPU backend.
  const measurePeak = o.peak ?? true;
  if (measurePeak || o.profile) {
    const pi = await tf.profile(infer);
    peakTensorBytes = Math.max(peakTensorBytes, pi.peakBytes);
    if (o.profile) result.profile = { infer: topKernels(pi) };
  }

  if (gpu) result.adapter = webGpuAdapter();
  const srcSize = { width: 2 * c.train.width, height: 2 * c.train.height };
  const images: TrainingImage[] = o.skipTrain ? [] : Array.from({ length: B }, (_, i) => ({
    id: `film${i}`, loc: noise(L * L, 10 + i), src: syntheticChest({ width: srcSize.width, height: srcSize.height, seed: 20 + i }).data,
  }));
  const trainParts = (m: AlignmentModel) => {
    const template = tf.tensor4d(syntheticChest({ width: c.train.width, height: c.train.height }).data, [1, c.train.height, c.train.width, 1]);
    const loss = new AlignmentLoss({ kind: 'lncc', window: 9 }, { template });
    const trainer = new Trainer(m, loss, defaultTrainerSettings(m, {
      steps: 1000, batchSize: B, frame: c.train, srcSize, augment: DEFAULT_AUGMENT,
    }));
    return { template, loss, trainer, dispose: () => { trainer.dispose(); loss.dispose(); template.dispose(); } };
  };
  if (gpu) result.check = await checkOnWasm(model, L, B, o.skipTrain ? undefined : { images, parts: trainParts });
  onInference?.({ ...result, peakTensorMb: measurePeak || o.profile ? peakTensorBytes / 2 ** 20 : NaN, peakRssMb: process.resourceUsage().maxRSS / 1024 });
  if (!o.skipTrain) {
    const { trainer, dispose } = trainParts(model);
    result.trainRuns = o.trainRuns ?? o.runs;
    result.trainWarmup = o.trainWarmup ?? o.warmup;
    let first: number | undefined;
    const stepMs = await timeRuns(async () => { const r = await trainer.trainStep(images); first ??= r.loss; }, result.trainRuns, result.trainWarmup);
    if (result.check && result.check.wasmLoss !== undefined) {
      result.check.loss = first;
      const rel = Math.abs(first! - result.check.wasmLoss) / Math.max(1e-12, Math.abs(result.check.wasmLoss));
      result.check.ok &&= Number.isFinite(first) && rel < 1e-3;
    }
    result.trainMsPerStep = stepMs;
    result.trainMsPerImage = stepMs / B;
    if (measurePeak || o.profile) {
      const pt = await tf.profile(async () => { await trainer.trainStep(images); });
      peakTensorBytes = Math.max(peakTensorBytes, pt.peakBytes);
      if (o.profile && result.profile) result.profile.train = topKernels(pt, 20);
    }
    dispose();
  }
  model.dispose();
  result.peakTensorMb = measurePeak || o.profile ? peakTensorBytes / 2 ** 20 : NaN;
  result.peakRssMb = process.resourceUsage().maxRSS / 1024;
  return result;
}

/**
 * The case's network, from the same weights, on WASM: the parameters it
 * predicts for the same encoder inputs and, with `train`, its first training
 * step's loss (batches and augmentations depend only on (seed, step), so the
 * other backend's first step sees the same ones). Leaves `model`'s backend active.
 */
async function checkOnWasm(
  model: AlignmentModel, L: number, B: number,
  train?: { images: TrainingImage[]; parts: (m: AlignmentModel) => { trainer: Trainer; dispose: () => void } },
): Promise<WasmCheck> {
  const here = tf.getBackend() as BenchBackend;
  const locs = encoderInputs(B, L);
  const predict = async (m: AlignmentModel) => Float32Array.from((await predictFromLocs(m, locs, B)).flat());
  const mine = await predict(model);
  const { modelJson, weightData } = await serializeModel(model);
  await setupBackend('wasm');
  const copy = deserializeModel(modelJson, weightData, 'bench check').model;
  const ref = await predict(copy);
  let wasmLoss: number | undefined;
  if (train) {
    const t = train.parts(copy);
    wasmLoss = (await t.trainer.trainStep(train.images)).loss;
    t.dispose();
  }
  copy.dispose();
  await setupBackend(here);
  let paramsMaxAbs = 0;
  for (let i = 0; i < ref.length; i++) paramsMaxAbs = Math.max(paramsMaxAbs, Math.abs(mine[i] - ref[i]));
  return { paramsMaxAbs, wasmLoss, ok: Number.isFinite(paramsMaxAbs) && paramsMaxAbs < 1e-3 };
}
