/**
 * Fine-tuning in the tab, on the engine's training run (runTraining: the same
 * step loop, sample cadence and recipes as `cxr-align train`). The "adapt"
 * preset first computes teacher matrices by refining the current model on
 * the loaded films, then trains with teacher + consistency + border bands as
 * the shipped model's last stage did; "similarity" trains on the template
 * similarity alone.
 */
import {
  AlignmentLoss, DEFAULT_LOSS, defaultTrainerSettings, DeviceError, deserializeModel, encodePng, guardDevice, isGpuBackend, prepareTrainingFilm, PRESETS, randomVgg,
  resizeArea, runTraining, WHOLE_FILM, serializeModel, teacherMatrices, tf, Trainer, trainingSample, trainingSource,
  type AffineMatrix, type LossSpec, type ModelArtifacts, type StepPoint, type TrainingImage,
} from '../../../engine';
import { displayFrame } from '../../lib/geometry';
import type { JobContext } from '../dispatcher';
import type { TrainEvent, TrainFailure, TrainResult, TrainSettings } from '../protocol';
import { grayOf, type FilmEntry, type Session } from '../session';
import { deviceFailed } from './backend';
import { fineTuned, persist } from './weights';

function validate(s: Session, req: TrainSettings): void {
  if (!(req.steps >= 1) || !(req.batchSize >= 1) || !(req.lr > 0)) throw new Error('steps, batch size and learning rate must be positive');
  if (req.frame.width < 16 || req.frame.height < 16) throw new Error('the training frame must be at least 16 x 16');
  if (req.preset !== 'adapt' && req.loss === 'perceptual' && req.perceptual === 'loaded' && !s.vgg) {
    throw new Error('no VGG weights are loaded: load a tfjs/Keras VGG16 model, or use the built-in network');
  }
}

/** The encoder ends in global pooling, so the same weights serve any input size. */
async function withLocSize(s: Session, locSize: number): Promise<void> {
  if (locSize === s.model.config.locSize) return;
  const art = await serializeModel(s.model);
  const next = deserializeModel({ ...art.modelJson, config: { ...art.modelJson.config, locSize } }, art.weightData, 'model').model;
  s.model.dispose();
  s.model = next;
  s.modelInfo = { ...s.modelInfo, locSize };
}

/** Decode each film again and reduce it to what a step reads; null when cancelled. */
async function prepareFilms(s: Session, entries: FilmEntry[], req: TrainSettings, ctx: JobContext<TrainEvent>): Promise<TrainingImage[] | null> {
  const srcSize = { width: 2 * req.frame.width, height: 2 * req.frame.height };
  const films: TrainingImage[] = [];
  for (const e of entries) {
    const film = prepareTrainingFilm(await s.decodeEntry(e), e.id, s.model.config, srcSize);
    e.loc = { size: req.locSize, inputCrop: s.model.config.inputCrop, data: film.loc, crop: film.crop ?? WHOLE_FILM };
    films.push(film);
    ctx.emit({ kind: 'preparing', phase: 'films', done: films.length, total: entries.length });
    await s.checkpoint(ctx.signal);
    if (ctx.signal.ending) return null;
  }
  s.decoded.clear();
  return films;
}

export async function train(s: Session, req: TrainSettings, ctx: JobContext<TrainEvent>): Promise<TrainResult> {
  const entries = s.entries(req.ids).slice(0, Math.max(1, req.maxImages));
  if (entries.length === 0) throw new Error('load some films (or press "Try it") before fine-tuning');
  validate(s, req);
  const recipe = PRESETS[req.preset ?? 'similarity'];
  await withLocSize(s, req.locSize);
  const notRun: TrainResult = { steps: 0, stopped: true, model: s.modelInfo, saved: false };
  const films = await prepareFilms(s, entries, req, ctx);
  if (!films) return notRun;
  const srcSize = { width: 2 * req.frame.width, height: 2 * req.frame.height };
  const stepsBefore = s.metadata.steps;
  // A lost GPU device takes its tensors with it: the weights then come back from this host copy,
  // refreshed with every sample (a readback of the whole model each step would cost more than the step).
  // Only GPU backends lose their device, so WASM and CPU keep none.
  const gpu = isGpuBackend(s.backend);
  let hostCopy: { art: ModelArtifacts; step: number } | null = gpu ? { art: await serializeModel(s.model), step: stepsBefore } : null;
  if (recipe.teacherRefine > 0) {
    let targets: AffineMatrix[];
    try {
      targets = await guardDevice('the teacher refinement', () => teacherMatrices(s.model, films.map((f) => f.loc), films.map((f) => trainingSource(f, srcSize)), {
        // Refined at the loss frame's own resolution: the teacher cannot be more precise than what the loss sees.
        template: s.template.image, iterations: recipe.teacherRefine, size: Math.min(128, Math.max(req.frame.width, req.frame.height)),
        onBatch: async (done, total) => { ctx.emit({ kind: 'preparing', phase: 'teacher', done, total }); await s.checkpoint(ctx.signal); },
      }));
    } catch (e) {
      if (!(e instanceof DeviceError)) throw e;
      return { ...notRun, failure: await deviceFailed(s, e, stepsBefore, hostCopy), model: s.modelInfo };
    }
    if (ctx.signal.ending) return notRun;
    films.forEach((f, i) => { f.target = targets[i]; });
  }

  const template = tf.tensor4d(resizeArea(s.template.image, req.frame.width, req.frame.height).data, [1, req.frame.height, req.frame.width, 1]);
  const builtin = !recipe.loss && req.loss === 'perceptual' && req.perceptual === 'builtin' ? randomVgg(1234) : null;
  const spec: LossSpec = recipe.loss ?? (req.loss === 'perceptual' ? { kind: 'perceptual', lambda: req.lambda } : DEFAULT_LOSS);
  const loss = new AlignmentLoss(spec, { template, perceptual: builtin ?? (spec.kind === 'perceptual' ? s.vgg?.net : undefined) });
  const trainer = new Trainer(s.model, loss, defaultTrainerSettings(s.model, {
    steps: req.steps, batchSize: req.batchSize, lr: req.lr, lrEnd: recipe.lrEnd(req.lr), frame: req.frame, srcSize,
    augment: { ...recipe.augment, enabled: req.augment }, targetWeight: recipe.targetWeight, consistencyWeight: recipe.consistencyWeight,
  }));
  s.metadata.training = { by: 'workbench', preset: req.preset ?? 'similarity', settings: { ...trainer.settings, locSize: req.locSize }, loss: spec, films: films.length, ...(recipe.teacherRefine ? { teacherRefine: recipe.teacherRefine } : {}) };
  ctx.signal.onState = (state) => ctx.emit({ kind: 'state', state });
  ctx.emit({ kind: 'started', total: req.steps, images: films.length, model: s.modelInfo });
  const sampleEntry = entries[0];
  let done = 0;
  let failure: TrainFailure | undefined;
  try {
    await runTraining(trainer, { size: films.length, get: (i) => films[i] }, { until: req.steps, sampleEvery: req.sampleEvery }, {
      beforeStep: async () => { await s.checkpoint(ctx.signal, true); return !ctx.signal.ending; },
      onStep: (r) => {
        const point: StepPoint = { step: stepsBefore + r.step, loss: r.loss, parts: r.parts, lr: r.lr, ms: r.ms, skipped: r.skipped };
        s.metadata.history.push(point);
        done++;
        ctx.emit({ kind: 'step', point, total: req.steps });
      },
      onSample: async (step) => {
        const df = displayFrame(req.frame);
        // The sample's prediction runs on the device too: its errors are the step's.
        const smp = await guardDevice(`the sample at step ${stepsBefore + step}`, async () => {
          const x = await s.ensureLoc(sampleEntry);
          return trainingSample(s.model, x.data, grayOf(sampleEntry.work), s.template.image, df, x.crop);
        });
        ctx.emit({ kind: 'sample', step: stepsBefore + step, name: sampleEntry.name, input: encodePng(smp.input), aligned: encodePng(smp.aligned), template: encodePng(smp.template) });
        if (gpu) hostCopy = { art: await serializeModel(s.model), step: stepsBefore + step };
      },
    });
  } catch (e) {
    if (!(e instanceof DeviceError)) throw e;
    failure = await deviceFailed(s, e, stepsBefore + trainer.step, hostCopy);
  } finally {
    // After a lost device these tensors' buffers are gone already; freeing them only updates tfjs's books.
    for (const free of [() => trainer.dispose(), () => loss.dispose(), () => template.dispose(), () => builtin?.params.dispose()]) {
      try { free(); } catch (err) { if (!failure?.fatal) throw err; }
    }
  }
  s.resultsStale();
  let saved = false;
  let saveError: string | undefined;
  const kept = failure ? failure.keptStep - stepsBefore : done;
  if (kept > 0) {
    const model = fineTuned(s, stepsBefore + kept);
    try {
      await persist(s, 'fine-tuned', model.label);
      saved = true;
    } catch (e) {
      saveError = `the weights could not be saved in this browser (${(e as Error).message}); download them from Export to keep them`;
    }
  }
  return { steps: done, stopped: done < req.steps, failure, model: s.modelInfo, saved, saveError };
}
