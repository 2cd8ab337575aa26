/**
 * `cxr-align train`: train the alignment network on a folder of films.
 *
 * Everything a step draws depends only on (seed, step) — the batch indices
 * (engine `batchIndices`) and the augmentations (engine `stepRng`) — so a
 * checkpoint needs just the weights (BN running statistics included), the
 * AdamW moments and the step counters to continue exactly where the run
 * stopped: a resumed run reproduces the uninterrupted one's losses.
 *
 * Output folder:
 *   train.jsonl          one JSON line per step (step, loss, parts, lr, gradNorm, ms, …)
 *   samples/step-N.png   input | aligned | template, every --sample-every steps
 *   checkpoint/          model.json + shards incl. optimizer state; a valid --model folder too
 *   model/               the final weights only (what `align --model` and the app load)
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  AlignmentLoss, AlignmentModel, DEFAULT_AUGMENT, LUNG_FIELD_DEFAULTS, matrixOnView, Trainer, readTransformsJson, regionMatrix, defaultStnConfig, defaultTrainerSettings, encodePng,
  modelFolderFiles, randomVgg, resizeArea, runTraining, setScaleRange, sideBySide, tf, trainingSample, vggFromLayersModel,
  type AffineMatrix, type AugmentSettings, type FilmSet, type FrameMargin, type InputCrop, type LossSpec, type ModelMetadata, type PerceptualNet, type Size,
  type StepPoint, type StepReport, type TrainerSettings,
} from '../../src/engine/index';
import { formatOptions, formatSize, parseArgs, UsageError, type OptionSpecs } from '../args';
import { BACKEND_CHOICES, THREADS_OPTION, setupBackend, type BackendChoice } from '../backend';
import { prepareFolder, type PreparedSet } from '../dataset';
import { writeFolderAtomic } from '../io';
import { loadModelDir, loadTemplate } from '../model';
import { ProgressBar, RateMeter, StatusLine, formatDuration, silentSink, stderrSink, type ProgressSink } from '../progress';

export type LossName = 'lncc' | 'ncc' | 'pixel' | 'perceptual' | 'multiscale';

export interface TrainOptions {
  images: string;
  out: string;
  template?: string;
  steps?: number;
  batch?: number;
  lr?: number;
  /** Learning rate at the last step (linear decay); default lr/100. */
  lrEnd?: number;
  weightDecay?: number;
  loss?: LossName;
  /** Pixel-MSE weight of the perceptual loss. */
  lambda?: number;
  /** Window of the local NCC. */
  window?: number;
  /** Weight of local-NCC windows off the template's lung fields (1 = uniform). */
  offLungs?: number;
  /** Pyramid levels of the multiscale loss (its base is local NCC). */
  levels?: number;
  /** 'random' (seeded random VGG16) or a tfjs layers model.json with VGG conv1_1..conv3_3. */
  perceptual?: string;
  head?: 'bounded' | 'raw';
  locSize?: number;
  /** Frame the loss is computed in. */
  frame?: Size;
  /** The model's output frame (what `align` writes by default). */
  modelFrame?: Size;
  /** Export margin around the matched region (model config `margin`), fractions per side. */
  margin?: FrameMargin;
  /** What the encoder sees (model config `inputCrop`); with --init, the model's own unless given. */
  inputCrop?: InputCrop;
  /** The bounded head's scale range [lo, hi] (setScaleRange); default the model's own. */
  scaleRange?: [number, number];
  seed?: number;
  augment?: boolean;
  /** Augmentation ranges (defaults: DEFAULT_AUGMENT's). */
  augmentRange?: Partial<Pick<AugmentSettings, 'shift' | 'scale' | 'rotateDeg' | 'border' | 'canvas' | 'aspect' | 'opacity' | 'gamma' | 'marks' | 'effusion' | 'crop'>>;
  maxImages?: number;
  checkpointEvery?: number;
  sampleEvery?: number;
  /** Above this, prepared films are kept in a file instead of memory. */
  cacheMb?: number;
  /** Continue from a checkpoint: a previous --out folder or its checkpoint/ folder. */
  resume?: string;
  /** Start from a model folder's weights (fine-tuning: new template, fresh optimizer, step 0). */
  init?: string;
  /**
   * A transforms.json (as `align` writes it; its recorded margin, else this
   * run's, is undone) whose matrices the network also learns to reproduce:
   * e.g. `align --refine`'s.
   */
  targets?: string;
  /** Weight of that term (default 1 when targets are given). */
  targetWeight?: number;
  /** Weight of the self-consistency term (each film twice per batch under two augmentations; 0 = off). */
  consistencyWeight?: number;
  /** Store the final model/ in float16 (half the size). */
  float16?: boolean;
  backend?: BackendChoice;
  /** WASM threads (default: every core; cli/wasm-threads.ts). */
  threads?: number;
  signal?: AbortSignal;
  sink?: ProgressSink;
  log?: (msg: string) => void;
  /** Called after every step (tests use it to stop a run part-way). */
  onStep?: (r: StepReport) => void;
}

export interface TrainResult {
  /** Steps completed in total (== the next step's index). */
  step: number;
  reports: StepReport[];
  interrupted: boolean;
  checkpointDir: string;
  modelDir: string;
  logPath: string;
  samples: string[];
  failed: { key: string; reason: string }[];
}

/** What a checkpoint records beside the weights, enough to rebuild the run. */
interface RunState {
  kind: 'cxr-align-train-checkpoint';
  version: 1;
  step: number;
  optimizerStep: number;
  skippedSteps: number[];
  settings: TrainerSettings;
  loss: LossSpec;
  perceptual: string | null;
  template: string;
  /** The --targets file, when the run learns from a teacher's matrices. */
  targets?: string;
  images: { dir: string; count: number; listHash: string; maxImages: number };
  /** Steps and history of the --init model this run continues (so the final model counts every step behind it). */
  before?: { steps: number; history: StepPoint[] };
  savedAt: string;
}

function lossSpec(name: LossName, o: { lambda: number; window: number; levels: number; offLungs?: number }): LossSpec {
  switch (name) {
    case 'lncc': return o.offLungs !== undefined && o.offLungs !== 1 ? { kind: 'lncc', window: o.window, offLungs: o.offLungs } : { kind: 'lncc', window: o.window };
    case 'ncc': return { kind: 'ncc' };
    case 'pixel': return { kind: 'pixel' };
    case 'perceptual': return { kind: 'perceptual', lambda: o.lambda };
    case 'multiscale': return { kind: 'multiscale', base: 'lncc', levels: o.levels, window: o.window };
  }
}

async function loadPerceptual(spec: string, seed: number): Promise<PerceptualNet> {
  if (spec === 'random') return randomVgg(seed);
  const jsonPath = spec.endsWith('.json') ? spec : join(spec, 'model.json');
  const json = JSON.parse(await readFile(jsonPath, 'utf8')) as { weightsManifest?: { paths: string[] }[] };
  const files = new Map<string, ArrayBuffer>();
  for (const group of json.weightsManifest ?? []) {
    for (const p of group.paths) {
      const b = await readFile(join(dirname(jsonPath), p));
      files.set(p, b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    }
  }
  return vggFromLayersModel(json, files, jsonPath);
}

/**
 * The teacher matrices of --targets, one per training film (by relative path,
 * else by file name), turned from output-frame matrices (what `align` writes,
 * the teacher's margin included) into matrices of the matched region, which
 * is what the loss frame shows.
 */
function loadTargets(path: string, ids: readonly string[], margin: FrameMargin, log: (m: string) => void): (AffineMatrix | undefined)[] {
  const file = readTransformsJson(readFileSync(path, 'utf8'), path);
  const byName = file.matrices;
  const byBase = new Map([...byName].map(([k, m]) => [basename(k), m]));
  // The teacher's own margin when the file records it (align writes it), else this run's.
  const teacherMargin = file.margin ?? margin;
  const out = ids.map((id) => byName.get(id) ?? byBase.get(basename(id)));
  const found = out.filter(Boolean).length;
  if (found === 0) throw new Error(`--targets ${path}: none of its ${byName.size} names matches a training film`);
  log(`targets: ${found} of ${ids.length} film(s) have a teacher matrix in ${path}`);
  return out.map((m) => (m ? regionMatrix(teacherMargin, m) : undefined));
}

/** A previous --out folder or a checkpoint folder → the checkpoint folder. */
function checkpointDirOf(path: string): string {
  if (existsSync(join(path, 'checkpoint', 'model.json'))) return join(path, 'checkpoint');
  if (existsSync(join(path, 'model.json'))) return path;
  throw new Error(`--resume ${path}: no checkpoint there (expected ${join(path, 'checkpoint', 'model.json')})`);
}

interface Start {
  model: AlignmentModel;
  state?: RunState;
  /** A checkpoint's optimizer moments. */
  extras: Map<string, tf.Tensor>;
  before: { steps: number; history: StepPoint[] };
}

/** The weights a run starts from: a checkpoint (--resume), a model folder (--init), or a fresh model. */
async function startingPoint(opts: TrainOptions, log: (m: string) => void): Promise<Start> {
  if (opts.resume) {
    const dir = checkpointDirOf(opts.resume);
    const loaded = await loadModelDir(dir, true);
    const state = loaded.metadata.train as RunState | undefined;
    if (state?.kind !== 'cxr-align-train-checkpoint') {
      loaded.model.dispose();
      tf.dispose([...loaded.extras.values()]);
      throw new Error(`--resume ${dir}: model.json has no training state (is it a checkpoint written by cxr-align train?)`);
    }
    log(`resuming from ${dir} at step ${state.step}`);
    return { model: loaded.model, state, extras: loaded.extras, before: state.before ?? { steps: 0, history: [] } };
  }
  if (opts.init) {
    const { model, metadata } = await loadModelDir(opts.init);
    // The architecture comes from the weights; where the output frame sits is this run's choice.
    const cfg = model.config as { margin: FrameMargin; frame: Size; locSize: number; inputCrop: InputCrop };
    if (opts.margin) cfg.margin = opts.margin;
    if (opts.inputCrop) cfg.inputCrop = opts.inputCrop;
    // The encoder is fully convolutional (global pooling): the same weights take another input size.
    if (opts.locSize) cfg.locSize = opts.locSize;
    if (opts.modelFrame) cfg.frame = opts.modelFrame;
    if (opts.scaleRange) setScaleRange(model, opts.scaleRange);
    log(`starting from the weights in ${opts.init} (locSize ${model.config.locSize}, head ${model.config.head}, ${metadata.steps} step(s) behind them)`);
    return { model, extras: new Map(), before: { steps: metadata.steps, history: metadata.history } };
  }
  const model = new AlignmentModel(defaultStnConfig({
    locSize: opts.locSize ?? 160, head: opts.head ?? 'bounded', frame: opts.modelFrame ?? { width: 256, height: 320 }, seed: opts.seed ?? 1,
    ...(opts.margin ? { margin: opts.margin } : {}),
    inputCrop: opts.inputCrop ?? 'content',
  }));
  if (opts.scaleRange) setScaleRange(model, opts.scaleRange);
  return { model, extras: new Map(), before: { steps: 0, history: [] } };
}

/** The run's settings: from the checkpoint when resuming, then the options given. */
function runSettings(opts: TrainOptions, model: AlignmentModel, state: RunState | undefined) {
  const frame = state?.settings.frame ?? opts.frame ?? { width: 128, height: 160 };
  const lr = opts.lr ?? state?.settings.lr ?? 1e-4;
  const settings: TrainerSettings = defaultTrainerSettings(model, {
    steps: opts.steps ?? state?.settings.steps ?? 1000,
    batchSize: state?.settings.batchSize ?? opts.batch ?? 8,
    lr,
    lrEnd: opts.lrEnd ?? (opts.lr !== undefined ? opts.lr / 100 : state?.settings.lrEnd ?? lr / 100),
    weightDecay: state?.settings.weightDecay ?? opts.weightDecay ?? 1e-4,
    augment: state?.settings.augment ?? { ...DEFAULT_AUGMENT, ...opts.augmentRange, enabled: opts.augment !== false },
    seed: state?.settings.seed ?? opts.seed ?? 1,
    frame,
    srcSize: state?.settings.srcSize ?? { width: 2 * frame.width, height: 2 * frame.height },
    targetWeight: state?.settings.targetWeight ?? (opts.targets ? opts.targetWeight ?? 1 : 0),
    consistencyWeight: state?.settings.consistencyWeight ?? opts.consistencyWeight ?? 0,
  });
  const spec: LossSpec = state?.loss ?? lossSpec(opts.loss ?? 'lncc', { lambda: opts.lambda ?? 20, window: opts.window ?? 9, levels: opts.levels ?? 3, offLungs: opts.offLungs });
  return {
    settings,
    spec,
    perceptualSpec: state ? state.perceptual : spec.kind === 'perceptual' ? opts.perceptual ?? 'random' : null,
    targetsPath: state ? state.targets : opts.targets ? resolve(opts.targets) : undefined,
    maxImages: state?.images.maxImages ?? opts.maxImages ?? 0,
  };
}

/** train.jsonl: continued when resuming into the same folder (lines past the checkpoint dropped), else started afresh. */
function openLog(logPath: string, resumeStep: number | undefined): void {
  if (resumeStep !== undefined && existsSync(logPath)) {
    const kept = readFileSync(logPath, 'utf8').split('\n').filter((l) => {
      try { return l && (JSON.parse(l) as { step: number }).step < resumeStep; } catch { return false; }
    });
    writeFileSync(logPath, kept.map((l) => `${l}\n`).join(''));
  } else {
    writeFileSync(logPath, '');
  }
}

/** One line of train.jsonl. */
function logLine(r: StepReport, t0: number) {
  return {
    step: r.step, loss: r.loss, parts: r.parts, lr: r.lr, gradNorm: r.gradNorm, ms: Math.round(r.ms * 10) / 10,
    skipped: r.skipped, elapsed_s: Math.round((performance.now() - t0) / 100) / 10,
  };
}

/** The live status line after a step. */
function statusLine(r: StepReport, step: number, total: number, meter: RateMeter): string {
  const rate = meter.rate();
  const parts = Object.entries(r.parts).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' ');
  return `step ${step}/${total}  loss ${r.loss.toFixed(4)}${Object.keys(r.parts).length > 1 ? ` (${parts})` : ''}`
    + `  lr ${r.lr.toExponential(1)}  ${rate > 0 ? rate.toFixed(2) : '-'} steps/s  ETA ${formatDuration(meter.eta(total - step))}`
    + `${r.skipped ? '  [skipped: non-finite]' : ''}`;
}

export async function trainCommand(opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const sink = opts.sink ?? stderrSink();
  await setupBackend(opts.backend ?? 'auto', log, { threads: opts.threads });

  const { model, state, extras, before } = await startingPoint(opts, log);
  const { settings, spec, perceptualSpec, targetsPath, maxImages } = runSettings(opts, model, state);
  const { frame, seed } = settings;
  if (state && opts.images && resolve(opts.images) !== state.images.dir) {
    log(`note: training on ${opts.images}; the checkpoint was trained on ${state.images.dir}`);
  }
  // The engine's template rule: --template, else the --init model's template.png, else the canonical chest (a resume keeps its own).
  const tmpl = loadTemplate(state?.template && existsSync(state.template) ? state.template : opts.template, opts.init, log);
  const templatePath = tmpl.origin === 'generated' ? '' : resolve(tmpl.name);

  // --- data, template, loss
  mkdirSync(opts.out, { recursive: true });
  const templateImg = resizeArea(tmpl.image, frame.width, frame.height);
  const L = model.config.locSize;
  const data: PreparedSet = await prepareFolder({
    dir: opts.images, locSize: L, inputCrop: model.config.inputCrop, srcSize: settings.srcSize, maxImages,
    cacheBytes: (opts.cacheMb ?? 4096) * 2 ** 20, spillPath: join(opts.out, 'prepared-films.f32'),
  }, (n) => {
    log(`preparing ${n} film(s) from ${opts.images} (encoder ${L}x${L}, warp source ${formatSize(settings.srcSize)})`);
    return new ProgressBar(n, 'img', sink);
  });
  if (state && state.images.listHash !== data.listHash) {
    data.close();
    model.dispose();
    tf.dispose([...extras.values()]);
    throw new Error(`--resume: the films differ from the checkpoint's (${state.images.count} then, ${data.size} now, `
      + 'or different names); an exact resume needs the same image folder');
  }
  // Teacher matrices are of whole films; training sees the model's view of each.
  const targets = targetsPath ? loadTargets(targetsPath, data.ids, model.config.margin, log).map((m, i) => m && matrixOnView(data.crops[i], m)) : undefined;
  const films: FilmSet = { size: data.size, get: (i) => (targets?.[i] ? { ...data.get(i), target: targets[i] } : data.get(i)) };
  const template = tf.tensor4d(templateImg.data, [1, frame.height, frame.width, 1]);
  const perceptual = perceptualSpec ? await loadPerceptual(perceptualSpec, seed) : undefined;
  const loss = new AlignmentLoss(spec, { template, perceptual });
  const trainer = new Trainer(model, loss, settings);
  if (state) {
    trainer.step = state.step;
    trainer.optimizer.loadState(state.optimizerStep, extras);
    trainer.skippedSteps.push(...state.skippedSteps);
    tf.dispose([...extras.values()]);
  }

  const logPath = join(opts.out, 'train.jsonl');
  openLog(logPath, state?.step);
  const ckptDir = join(opts.out, 'checkpoint');
  const modelOut = join(opts.out, 'model');
  const samplesDir = join(opts.out, 'samples');
  const samples: string[] = [];
  const reports: StepReport[] = [];
  const runState = (): RunState => ({
    kind: 'cxr-align-train-checkpoint', version: 1, step: trainer.step, optimizerStep: trainer.optimizer.step,
    skippedSteps: [...trainer.skippedSteps], settings, loss: spec, perceptual: perceptualSpec, template: templatePath, targets: targetsPath,
    images: { dir: resolve(opts.images), count: data.size, listHash: data.listHash, maxImages }, before, savedAt: new Date().toISOString(),
  });
  // The engine's model-folder schema: steps over every run behind the weights, their history, how they were trained, the template.
  const metadata = (): ModelMetadata => ({
    steps: before.steps + trainer.step,
    history: [...before.history, ...reports.map((r) => ({ step: before.steps + r.step, loss: r.loss, parts: r.parts, lr: r.lr, ms: r.ms, skipped: r.skipped }))].slice(-20_000),
    training: { by: 'cli', settings, loss: spec, films: data.size },
    template: null,
    savedAt: new Date().toISOString(),
    backend: tf.getBackend(),
  });
  const saveCheckpoint = async () => {
    const files = await modelFolderFiles(model, { extraTensors: trainer.optimizer.stateTensors(), metadata: { ...metadata(), train: runState() }, template: tmpl.bytes });
    await writeFolderAtomic(ckptDir, files);
  };
  const writeSample = async () => {
    const smp = await trainingSample(model, data.get(0).loc, data.source(0), templateImg, frame);
    mkdirSync(samplesDir, { recursive: true });
    const path = join(samplesDir, `step-${String(trainer.step).padStart(6, '0')}.png`);
    writeFileSync(path, encodePng(sideBySide([smp.input, smp.aligned, smp.template])));
    samples.push(path);
  };

  const total = settings.steps;
  const lossName = spec.kind === 'perceptual' ? `perceptual λ=${spec.lambda}` : spec.kind;
  log(`training ${trainer.step > 0 ? `from step ${trainer.step} ` : ''}to step ${total}: ${data.size} film(s), batch ${settings.batchSize}, `
    + `lr ${settings.lr}→${settings.lrEnd}, loss ${lossName}${perceptual ? ` (${perceptual.description})` : ''}, head ${model.config.head}, `
    + `encoder ${L}x${L}, loss frame ${formatSize(frame)}, seed ${seed}, augment ${settings.augment.enabled ? 'on' : 'off'} → ${opts.out}`);

  const status = new StatusLine(sink);
  const meter = new RateMeter(30_000);
  meter.mark(trainer.step);
  let interrupted = false;
  const t0 = performance.now();
  try {
    const outcome = await runTraining(trainer, films, { until: total, sampleEvery: opts.sampleEvery ?? 100, checkpointEvery: opts.checkpointEvery ?? 250 }, {
      beforeStep: () => !opts.signal?.aborted,
      onStep: (r) => {
        reports.push(r);
        appendFileSync(logPath, `${JSON.stringify(logLine(r, t0))}\n`);
        meter.mark(trainer.step);
        status.update(statusLine(r, trainer.step, total, meter), trainer.step === total);
        if (r.skipped) status.message(`warning: step ${r.step} had a non-finite loss or gradient; the update was skipped`);
        opts.onStep?.(r);
      },
      onSample: writeSample,
      onCheckpoint: saveCheckpoint,
    });
    interrupted = outcome.stopped;
    status.done();
    await saveCheckpoint();
    if (!interrupted) await writeFolderAtomic(modelOut, await modelFolderFiles(model, { float16: opts.float16, metadata: metadata(), template: tmpl.bytes }));
  } finally {
    data.close();
    trainer.dispose();
    loss.dispose();
    perceptual?.params.dispose();
    template.dispose();
    model.dispose();
  }
  const secs = (performance.now() - t0) / 1000;
  const last = reports[reports.length - 1];
  log(`${interrupted ? `interrupted at step ${trainer.step}; ` : ''}${reports.length} step(s) in ${formatDuration(secs)}`
    + `${reports.length ? ` (${(reports.length / secs).toFixed(2)} steps/s, last loss ${last.loss.toFixed(4)})` : ''}`);
  log(`checkpoint: ${ckptDir}${interrupted ? ` (continue with --resume ${opts.out})` : `; model: ${modelOut}`}; log: ${logPath}`);
  return { step: trainer.step, reports, interrupted, checkpointDir: ckptDir, modelDir: modelOut, logPath, samples, failed: data.failed };
}

export const TRAIN_OPTIONS: OptionSpecs = {
  images: { type: 'string', required: true, meta: 'DIR', help: 'folder of training films (searched recursively)' },
  out: { type: 'string', required: true, meta: 'DIR', alias: 'o', help: 'run folder: train.jsonl, samples/, checkpoint/, model/' },
  template: { type: 'string', meta: 'PNG', help: 'template to align to (default: the --init model\'s template.png, else models/canonical-chest.png)' },
  steps: { type: 'int', meta: 'N', default: 1000, help: 'total steps (the learning rate decays linearly over them)' },
  batch: { type: 'int', meta: 'N', default: 8, help: 'films per step' },
  lr: { type: 'number', meta: 'LR', default: 1e-4, help: 'AdamW learning rate at step 0' },
  'lr-end': { type: 'number', meta: 'LR', help: 'learning rate at the last step (default lr/100)' },
  'weight-decay': { type: 'number', meta: 'WD', default: 1e-4, help: 'AdamW decoupled weight decay' },
  loss: { type: 'string', meta: 'NAME', default: 'lncc', choices: ['lncc', 'ncc', 'pixel', 'perceptual', 'multiscale'], help: 'similarity to the template' },
  lambda: { type: 'number', meta: 'λ', default: 20, help: 'pixel-MSE weight of the perceptual loss' },
  window: { type: 'int', meta: 'PX', default: 9, help: 'window of the local NCC (lncc, multiscale)' },
  'off-lungs': { type: 'number', range: [0, 1], meta: 'W', help: `lncc: weight of windows off the template's lung fields (its darkest ${LUNG_FIELD_DEFAULTS.share * 100}%, blurred, + a ${LUNG_FIELD_DEFAULTS.band}-px band); 1 = uniform (the default)` },
  levels: { type: 'int', meta: 'N', default: 3, help: 'pyramid levels of the multiscale loss' },
  perceptual: { type: 'string', meta: 'random|PATH', help: 'VGG for the perceptual loss: seeded random, or a tfjs model.json (implies --loss perceptual)' },
  head: { type: 'string', meta: 'KIND', default: 'bounded', choices: ['bounded', 'raw'], help: 'bounded parameters, or the seed\'s raw head' },
  'loc-size': { type: 'int', meta: 'PX', default: 160, help: 'side of the square copy the encoder sees (with --init: the model\'s own unless given)' },
  frame: { type: 'size', meta: 'WxH', default: '128x160', help: 'frame the loss is computed in' },
  'model-frame': { type: 'size', meta: 'WxH', default: '256x320', help: 'the model\'s output frame (align\'s default --size)' },
  margin: { type: 'string', meta: 'L,R,T,B', default: '0', help: 'export margin around the matched (template) region, fractions of it per side, e.g. 0.15,0.15,0.15,0.05; one number for all sides' },
  'input-crop': { type: 'string', meta: 'KIND', choices: ['content', 'whole'], help: 'what the encoder sees: the film without the black around it (content; the default for a new model) or the whole film; with --init the model\'s own unless given' },
  'scale-range': { type: 'string', meta: 'LO,HI', help: 'scale range of the bounded head (default 0.5,1.5; e.g. 0.4,1.5 to zoom into films in wide black canvases); with --init the head is rescaled to keep its slope at the identity' },
  seed: { type: 'int', meta: 'N', default: 1, help: 'seed of the initialisation, batches and augmentations' },
  augment: { type: 'boolean', default: true, help: 'random shifts/rotations/contrast (--no-augment to turn off)' },
  'augment-shift': { type: 'number', meta: 'T', default: DEFAULT_AUGMENT.shift, help: 'max |shift| in normalized units (0.2 = 10% of the film)' },
  'augment-scale': { type: 'number', meta: 'S', default: DEFAULT_AUGMENT.scale, help: 'max relative scale change (0.1 = ±10%)' },
  'augment-rotate': { type: 'number', meta: 'DEG', default: DEFAULT_AUGMENT.rotateDeg, help: 'max |rotation| in degrees' },
  'augment-aspect': { type: 'number', meta: 'A', default: 0, help: 'stretch the film\'s height against its width by up to ±A (0 = off; e.g. 0.1): chests taller or shorter for their width, as inspiration varies' },
  'augment-opacity': { type: 'number', range: [0, 1], meta: 'P', default: 0, help: 'with probability P, 1-3 soft white patches over the encoder\'s copy of the chest, as consolidation whitens lungs (0 = off; e.g. 0.5)' },
  'augment-gamma': { type: 'number', range: [0, 4], meta: 'G', default: 0, help: 'a gamma curve x^γ on the encoder\'s copy, γ between 1/(1+G) and 1+G, as films are windowed differently (0 = off; e.g. 0.5)' },
  'augment-crop': { type: 'number', range: [0, 0.4], meta: 'F', default: 0, help: 'with probability 1/2, the encoder sees a random crop of the film instead of the shift and scale: each side trimmed by up to F of it, stretched to fill the view, no black (0 = off; e.g. 0.15)' },
  'augment-marks': { type: 'number', range: [0, 1], meta: 'P', default: 0, help: 'with probability P, 1-4 bright marks on the encoder\'s copy: text, wires, ECG electrodes, as ICU films carry (0 = off; e.g. 0.5)' },
  'augment-effusion': { type: 'number', range: [0, 1], meta: 'P', default: 0, help: 'with probability P, a basal effusion on one side or both of the encoder\'s copy: white from a meniscus down, hiding the diaphragm dome (0 = off; e.g. 0.5)' },
  'augment-canvas': { type: 'number', meta: 'K', default: 0, help: 'embed the encoder\'s copy, with probability ½, in a black canvas up to K times the film\'s size, moved inside it whole (0 = off; e.g. 1.5)' },
  'augment-border': { type: 'number', meta: 'F', default: DEFAULT_AUGMENT.border, help: 'black bands over the encoder input\'s edges, each up to this share of the side, each edge with probability ½ (0 = off)' },
  'max-images': { type: 'int', meta: 'N', default: 0, help: 'use at most N films, spread over the folder (0 = all)' },
  'checkpoint-every': { type: 'int', meta: 'N', default: 250, help: 'save a checkpoint every N steps (and always at the end and on Ctrl-C)' },
  'sample-every': { type: 'int', meta: 'N', default: 100, help: 'write samples/step-N.png every N steps (0 = never)' },
  'cache-mb': { type: 'int', meta: 'MB', default: 4096, help: 'keep prepared films in memory up to this size, else in a file in the run folder' },
  resume: { type: 'string', meta: 'DIR', help: 'continue a run exactly: its --out folder (or its checkpoint/)' },
  init: { type: 'string', meta: 'DIR', help: 'start from these model weights (fine-tune, e.g. on a sharpened template); fresh optimizer' },
  targets: { type: 'string', meta: 'JSON', help: 'also learn to reproduce these matrices (a transforms.json from align, e.g. with --refine; its "margin", else this run\'s, is undone)' },
  'target-weight': { type: 'number', meta: 'W', default: 1, help: 'weight of the --targets term beside the similarity loss' },
  'consistency-weight': { type: 'number', meta: 'W', default: 0, help: 'self-consistency: each batch holds every film twice, under two augmentations, and their frames on the film are pulled together with this weight (0 = off)' },
  float16: { type: 'boolean', help: 'store the final model/ in float16 (half the size)' },
  backend: { type: 'string', meta: 'NAME', default: 'auto', choices: BACKEND_CHOICES, help: 'TensorFlow.js backend: auto (WASM, else CPU), wasm, cpu, or webgpu (the GPU through the optional `webgpu` package; SwiftShader without one)' },
  ...THREADS_OPTION,
  quiet: { type: 'boolean', alias: 'q', help: 'no live status line' },
};

export const TRAIN_USAGE = `Usage: cxr-align train --images DIR --out DIR [options]

Trains the alignment network (ResNet18 STN) to map films onto the template.
Logs every step to OUT/train.jsonl, writes OUT/samples/step-N.png
(input | aligned | template), checkpoints to OUT/checkpoint (Ctrl-C saves one
too) and the final weights to OUT/model.

${formatOptions(TRAIN_OPTIONS)}

Examples:
  cxr-align train --images ~/cxr14/images --out runs/lncc --steps 2000
  cxr-align train --images ~/cxr14/images --out runs/lncc --steps 4000 --resume runs/lncc
  # the seed paper's recipe: VGG perceptual + pixel loss, unbounded head
  cxr-align train --images ~/cxr14/images --out runs/seed --loss perceptual --lambda 20 --head raw`;

export function parseMargin(text: string): FrameMargin {
  const v = text.split(',').map((t) => Number(t.trim()));
  if (!(v.length === 1 || v.length === 4) || !v.every((x) => Number.isFinite(x) && x > -0.5 && x < 2)) {
    throw new UsageError(`--margin "${text}" must be one fraction or four (left,right,top,bottom), each in (-0.5, 2)`);
  }
  const [left, right, top, bottom] = v.length === 1 ? [v[0], v[0], v[0], v[0]] : v;
  return { left, right, top, bottom };
}

export function parseScaleRange(text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const v = text.split(',').map((t) => Number(t.trim()));
  if (v.length !== 2 || !(v[0] > 0 && v[0] < 1 && v[1] > 1 && Number.isFinite(v[1]))) {
    throw new UsageError(`--scale-range "${text}" must be LO,HI with 0 < LO < 1 < HI`);
  }
  return [v[0], v[1]];
}

export async function runTrain(argv: string[], signal?: AbortSignal): Promise<number> {
  const a = parseArgs(argv, TRAIN_OPTIONS);
  if (a.positionals.length) throw new UsageError(`unexpected argument "${a.positionals[0]}" (use --images DIR)`);
  const v = a.values;
  const g = (k: string) => (a.given.has(k) ? v[k] : undefined);
  // When resuming, only options given on the command line override the checkpoint's.
  const pick = (k: string) => (v.resume ? g(k) : v[k]);
  let loss = pick('loss') as LossName | undefined;
  if (a.given.has('perceptual') && !a.given.has('loss')) loss = 'perceptual';
  if (v.resume) {
    for (const k of ['loss', 'head', 'loc-size', 'frame', 'model-frame', 'margin', 'input-crop', 'seed', 'batch', 'lambda', 'window', 'off-lungs', 'levels', 'perceptual', 'template', 'augment', 'augment-shift', 'augment-scale', 'augment-rotate', 'augment-border', 'augment-canvas', 'augment-aspect', 'augment-opacity', 'augment-gamma', 'augment-marks', 'augment-effusion', 'augment-crop', 'scale-range', 'max-images', 'weight-decay', 'targets', 'target-weight', 'consistency-weight']) {
      if (a.given.has(k)) console.error(`note: --${k} is taken from the checkpoint when resuming; the value given is ignored`);
    }
  }
  const r = await trainCommand({
    images: v.images as string, out: v.out as string, template: v.template as string | undefined,
    steps: pick('steps') as number | undefined, batch: pick('batch') as number | undefined,
    lr: pick('lr') as number | undefined, lrEnd: v['lr-end'] as number | undefined,
    weightDecay: pick('weight-decay') as number | undefined, loss, lambda: v.lambda as number,
    window: v.window as number, offLungs: v['off-lungs'] as number | undefined, levels: v.levels as number, perceptual: v.perceptual as string | undefined,
    head: v.head as 'bounded' | 'raw', locSize: v.init && !a.given.has('loc-size') ? undefined : v['loc-size'] as number, frame: v.frame as Size,
    modelFrame: v['model-frame'] as Size, margin: parseMargin(v.margin as string), inputCrop: v['input-crop'] as InputCrop | undefined, scaleRange: parseScaleRange(v['scale-range'] as string | undefined), seed: v.seed as number, augment: v.augment as boolean,
    augmentRange: { shift: v['augment-shift'] as number, scale: v['augment-scale'] as number, rotateDeg: v['augment-rotate'] as number, border: v['augment-border'] as number, canvas: v['augment-canvas'] as number, aspect: v['augment-aspect'] as number, opacity: v['augment-opacity'] as number, gamma: v['augment-gamma'] as number, marks: v['augment-marks'] as number, effusion: v['augment-effusion'] as number, crop: v['augment-crop'] as number },
    maxImages: v['max-images'] as number, checkpointEvery: v['checkpoint-every'] as number,
    sampleEvery: v['sample-every'] as number, cacheMb: v['cache-mb'] as number, resume: v.resume as string | undefined,
    init: v.init as string | undefined, targets: pick('targets') as string | undefined, targetWeight: v['target-weight'] as number,
    consistencyWeight: pick('consistency-weight') as number,
    float16: v.float16 as boolean, backend: v.backend as BackendChoice, threads: v.threads as number | undefined, signal, sink: v.quiet ? silentSink : undefined,
  });
  return r.interrupted ? 130 : 0;
}
