/** Backend jobs: start-up, switching, the check against a reference, and moving off a failed GPU. */
import {
  AlignmentLoss, AlignmentModel, DEFAULT_AUGMENT, DEFAULT_LOSS, defaultStnConfig, defaultTrainerSettings, resnet18Forward, serializeModel, tf,
  Trainer, trySetBackend, type BackendName, type DeviceError, type ModelArtifacts, type Size, type TrainingImage,
} from '../../../engine';
import type { BackendState, CheckResult, InitResult, TrainFailure } from '../protocol';
import type { Session } from '../session';
import { describeTemplate } from './template';
import { startupModel } from './weights';

export async function init(s: Session, order: BackendName[], wasmThreads?: number): Promise<InitResult> {
  s.wasmThreads = wasmThreads;
  const { started, reasons } = await s.startFirst(order);
  if (!started) throw new Error(`no compute backend could start here: ${reasons.join('; ')}`);
  await startupModel(s);
  return { backend: s.backendState(), model: s.modelInfo, history: [...s.metadata.history], template: describeTemplate(s) };
}

export async function setBackend(s: Session, name: BackendName): Promise<BackendState & { error?: string }> {
  if (name === s.backend) return s.backendState();
  try {
    await moveTo(s, name);
    s.resultsStale();
    return s.backendState();
  } catch (e) {
    return { ...s.backendState(), error: (e as Error).message };
  }
}

/** Carry the weights to another backend on the host; when it refuses to start, the old one is restored. */
export async function moveTo(s: Session, name: BackendName): Promise<void> {
  const previous = s.backend;
  const art = await serializeModel(s.model);
  let reason = await trySetBackend(name, s.backendOptions());
  s.tried[name] = reason;
  if (reason === null) s.backend = name;
  else if ((await trySetBackend(previous, s.backendOptions())) !== null) reason = `${reason}; and ${previous} could not be restored`;
  s.rebuildModel(art);
  if (reason !== null) throw new Error(`could not switch to ${name}: ${reason}`);
}

/**
 * A step the device failed. The trainer has put back the weights from before
 * it when the device still works; when the device is gone, the worker moves
 * to the next backend that starts, with the host copy's weights.
 */
export async function deviceFailed(s: Session, e: DeviceError, step: number, hostCopy: { art: ModelArtifacts; step: number } | null): Promise<TrainFailure> {
  const failed = s.backend;
  const fallbacks = (['webgl', 'wasm', 'cpu'] as BackendName[]).filter((b) => b !== failed);
  // What the user is offered: the other GPU backend and WASM, unless they are known not to start here.
  const offer = (except?: BackendName) => fallbacks.filter((b) => b !== 'cpu' && b !== except && typeof s.tried[b] !== 'string');
  if (!e.fatal) return { step, backend: failed, message: e.message, fatal: false, keptStep: step, offer: offer() };
  if (!hostCopy) throw new Error(`${e.message}, and no copy of the weights was kept on ${failed}`);
  s.tried[failed] = e.message;
  const { started } = await s.startFirst(fallbacks);
  if (!started) throw new Error(`${e.message}; and no other backend could start`);
  s.rebuildModel(hostCopy.art);
  return { step, backend: failed, message: e.message, fatal: true, movedTo: started, keptStep: hostCopy.step, offer: offer(started) };
}

/**
 * The same small inference and one training step (same weights, films and
 * seed) on this backend and on `reference`; they must agree. The training
 * step is what a broken GPU path gets wrong while inference still passes.
 */
export async function checkBackend(s: Session, reference: BackendName): Promise<CheckResult> {
  const t0 = performance.now();
  const current = s.backend;
  const a = await checkRun();
  let b: Awaited<ReturnType<typeof checkRun>>;
  if (reference === current) b = a;
  else {
    await moveTo(s, reference);
    try { b = await checkRun(); } finally { await moveTo(s, current); }
  }
  const inf = relativeDiff(a.features, b.features);
  const loss = relativeDiff(Float32Array.of(a.loss, a.gradNorm), Float32Array.of(b.loss, b.gradNorm));
  const trainOk = loss.relDiff < 1e-3 && a.loss !== 0 && a.gradNorm !== 0;
  return {
    backend: current, reference, maxAbsDiff: inf.maxAbs, relDiff: inf.relDiff,
    train: { loss: a.loss, referenceLoss: b.loss, gradNorm: a.gradNorm, referenceGradNorm: b.gradNorm, relDiff: loss.relDiff, ok: trainOk },
    ok: Number.isFinite(inf.relDiff) && inf.relDiff < 1e-3 && trainOk, ms: performance.now() - t0,
  };
}

const CHECK_L = 32;
const CHECK_FRAME: Size = { width: 16, height: 20 };

/** A smooth, seeded test pattern in [0, 1] (no films needed for the check). */
function checkPattern(w: number, h: number, seed: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let i = 0; i < out.length; i++) out[i] = 0.5 + 0.4 * Math.sin((i % w) * 0.37 + seed) * Math.cos(Math.floor(i / w) * 0.29 - seed);
  return out;
}

/** One inference and one training step of a tiny seeded model on the active backend, read back to the host. */
async function checkRun(): Promise<{ features: Float32Array; loss: number; gradNorm: number }> {
  const m = new AlignmentModel(defaultStnConfig({ locSize: CHECK_L, frame: CHECK_FRAME, seed: 11 }));
  const template = tf.tensor4d(checkPattern(CHECK_FRAME.width, CHECK_FRAME.height, 9), [1, CHECK_FRAME.height, CHECK_FRAME.width, 1]);
  const loss = new AlignmentLoss(DEFAULT_LOSS, { template });
  const trainer = new Trainer(m, loss, defaultTrainerSettings(m, {
    steps: 1, batchSize: 2, lr: 1e-3, lrEnd: 1e-3, frame: CHECK_FRAME, srcSize: { width: 2 * CHECK_FRAME.width, height: 2 * CHECK_FRAME.height },
    augment: { ...DEFAULT_AUGMENT, enabled: true },
  }));
  try {
    const out = tf.tidy(() => resnet18Forward(m.params, 'encoder.', AlignmentModel.normalizeInput(tf.tensor4d(checkPattern(CHECK_L, CHECK_L, 1), [1, CHECK_L, CHECK_L, 1])), { training: false }));
    const features = Float32Array.from(await out.data() as Float32Array);
    out.dispose();
    const images: TrainingImage[] = [1, 2].map((k) => ({ id: `check${k}`, loc: checkPattern(CHECK_L, CHECK_L, k), src: checkPattern(2 * CHECK_FRAME.width, 2 * CHECK_FRAME.height, k + 3) }));
    const r = await trainer.trainStep(images);
    return { features, loss: r.loss, gradNorm: r.gradNorm };
  } finally {
    trainer.dispose();
    loss.dispose();
    template.dispose();
    m.dispose();
  }
}

function relativeDiff(a: Float32Array, b: Float32Array): { maxAbs: number; relDiff: number } {
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  return { maxAbs, relDiff: maxRef > 0 ? maxAbs / maxRef : maxAbs };
}
