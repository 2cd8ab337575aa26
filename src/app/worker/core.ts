/**
 * Everything the workbench computes, behind the protocol's methods. Runs in
 * the Web Worker (and in Node for tests), so it touches no DOM; the browser-only
 * pieces (fetch, IndexedDB, wasm URLs) come in through CoreDeps.
 *
 * Memory plan for large folders: a film is decoded once on load into three
 * small things — the encoder's L x L input, an 8-bit working copy no larger
 * than the model frame (gallery warps, means, scores) and a thumbnail — and
 * the full-resolution pixels are dropped. The compare view and the export
 * decode the file again when they need full resolution. Nothing stays on the
 * GPU between calls except the model's weights.
 */
import { strToU8, unzipSync, Zip, ZipDeflate, ZipPassThrough, zipSync } from 'fflate';
import {
  AlignmentLoss, AlignmentModel, canonicalFromMean, decodeImage, DeviceError, isGpuBackend, DEFAULT_AUGMENT, DEFAULT_LOSS, defaultStnConfig,
  defaultTrainerSettings, deserializeModel, DOUBT_RULE, encodePng, judgeDoubt, IDENTITY_MATRIX, ImageDecodeError, locInput, MeanImageBuilder,
  matrixToParams, modelFiles, outputMatrix, readParamsRows, paramsToMatrix, randomVgg, readModelFiles, refineBatch, resizeArea, resnet18Forward, serializeModel, tf,
  Trainer, trySetBackend, vggFromLayersModel, warpImage, wasmThreadsCount,
  type AffineMatrix, type AffineParams, type BackendName, type GrayImage, type LossSpec, type PerceptualNet, type Size,
  type ModelArtifacts, type StepReport, type TrainingImage,
} from '../../engine';
import { demoParams, syntheticChest } from '../lib/demo';
import { alignedPngNames, EXPORT_README, transformsCsv, transformsJson, type TransformEntry } from '../lib/export';
import { displayFrame, fitWithin, fromBytes, thumbFrame, toBytes } from '../lib/geometry';
import { templateMismatch } from '../lib/score';
import { withTransfer, type Handlers, type JobContext, type JobSignal } from './dispatcher';
import type {
  AlignEvent, AlignResultSummary, Api, BackendState, CheckResult, DoubtEvent, DoubtSummary, ExportAlignedRequest, ExportEvent, FileInput, InitResult,
  LoadEvent, MeanResult, ModelChange, ModelInfo, NamedBytes, StepPoint, TemplateInfo, TemplateRequest, TemplateSource, TrainEvent,
  TrainFailure, TrainResult, TrainSettings, ViewResult,
} from './protocol';
import type { WeightStore } from './weight-store';

export interface CoreDeps {
  /** Bytes of a same-origin file under the app's base (e.g. "models/canonical-chest.png"), or null when absent. */
  fetchAsset(path: string): Promise<Uint8Array | null>;
  weightStore: WeightStore;
  wasmPaths?: Record<string, string>;
}

export const IDENTITY_LABEL = 'identity model — no trained weights shipped yet';
const THUMB_SIDE = 160;
const GALLERY_HEIGHT = 160;
const SCORE_HEIGHT = 80;
const MEAN_SIZE: Size = { width: 256, height: 256 };
const BATCH = 8;
const HISTORY_KEEP = 20_000;

interface Bytes8 { width: number; height: number; data: Uint8Array }

interface ImageEntry {
  id: string;
  name: string;
  blob: Blob;
  width: number;
  height: number;
  work: Bytes8;
  loc: { size: number; data: Float32Array };
  /**
   * `raw`: the (refined) network parameters, which map the frame of the matched region (what the template shows);
   * `network`: the network's own, before any refinement, and `refinedSteps` the refinement `raw` had (for the doubt check).
   */
  result?: { params: AffineParams; matrix: AffineMatrix; raw: AffineParams; score: number; network?: AffineParams; refinedSteps?: number };
}

interface TemplateState { image: GrayImage; source: TemplateSource; label: string }

export class WorkbenchCore {
  private backend: BackendName = 'cpu';
  private wasmThreads?: number;
  private readonly tried: Partial<Record<BackendName, string | null>> = {};
  private model!: AlignmentModel;
  private modelInfo!: ModelInfo;
  private history: StepPoint[] = [];
  private lastTraining: Omit<TrainSettings, 'ids'> | null = null;
  private template!: TemplateState;
  private shippedTemplate!: TemplateState;
  private readonly images = new Map<string, ImageEntry>();
  private readonly decoded = new Map<string, GrayImage>();
  private mean: GrayImage | null = null;
  private vgg: { net: PerceptualNet; files: NamedBytes[] } | null = null;
  private scoreCache: { key: string; data: Float32Array } | null = null;
  /** Test-time refinement iterations, as last asked for by an alignment (view and export follow it). */
  private refine = 0;

  constructor(private readonly deps: CoreDeps) {}

  /** The protocol's methods, bound to this core (what the Dispatcher calls). */
  handlers(): Omit<Handlers, 'control'> {
    return {
      init: (p) => this.init(p.order, p.wasmThreads),
      setBackend: (p) => this.setBackend(p.name),
      checkBackend: (p) => this.checkBackend(p.reference),
      addFiles: (p, ctx) => this.addFiles(p.files, ctx),
      removeImages: async (p) => {
        if (p.ids === 'all') this.images.clear();
        else for (const id of p.ids) this.images.delete(id);
        this.decoded.clear();
        return { remaining: this.images.size };
      },
      align: (p, ctx) => { this.refine = Math.max(0, Math.round(p.refine ?? 0)); return this.align(p.ids, ctx); },
      doubts: (p, ctx) => this.doubts(p.ids, ctx),
      view: (p) => this.view(p.id),
      demo: (p) => this.demo(p.count, p.seed),
      buildMean: (p, ctx) => this.buildMean(p.ids, ctx),
      setTemplate: (p) => this.setTemplate(p),
      rescore: () => this.rescore(),
      train: (p, ctx) => this.train(p, ctx),
      exportAligned: (p, ctx) => this.exportAligned(p, ctx),
      exportWeights: () => this.exportWeights(),
      loadWeights: (p) => this.loadWeights(p.files),
      resetWeights: () => this.resetWeights(),
      loadVgg: (p) => this.loadVgg(p.files),
      memory: async () => ({ ...tf.memory(), images: this.images.size }),
    };
  }

  // ---------------------------------------------------------------- start-up

  async init(order: BackendName[], wasmThreads?: number): Promise<InitResult> {
    const reasons: string[] = [];
    let started = false;
    this.wasmThreads = wasmThreads;
    for (const name of order) {
      const reason = await trySetBackend(name, { wasmPaths: this.deps.wasmPaths, wasmThreads });
      this.tried[name] = reason;
      if (reason === null) { this.backend = name; started = true; break; }
      reasons.push(reason);
    }
    if (!started) throw new Error(`no compute backend could start here: ${reasons.join('; ')}`);
    const { model, info } = await this.startupModel();
    this.model = model;
    this.modelInfo = info;
    this.shippedTemplate = await this.loadShippedTemplate();
    this.template = this.shippedTemplate;
    return { backend: this.backendState(), model: this.modelInfo, history: [...this.history], template: this.templateInfo() };
  }

  private backendState(): BackendState {
    const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
    return {
      active: this.backend,
      tried: { ...this.tried },
      hints: {
        webgpu: !!nav && 'gpu' in nav && !!nav.gpu,
        webgl: typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== 'undefined',
        wasm: typeof WebAssembly === 'object',
        cpu: true,
      },
      wasmThreads: wasmThreadsCount(),
    };
  }

  /** Saved fine-tuned weights first, then the shipped default, then the identity model. */
  private async startupModel(): Promise<{ model: AlignmentModel; info: ModelInfo }> {
    let note: string | undefined;
    try {
      const saved = await this.deps.weightStore.load();
      if (saved) {
        const { model, extras, metadata } = deserializeModel(saved.modelJson, saved.weightData, 'weights saved in this browser');
        tf.dispose([...extras.values()]);
        this.adoptMetadata(metadata);
        return { model, info: this.describe(model, saved.kind, `${saved.label} (restored from this browser)`, { savedAt: saved.savedAt, steps: numberOr(metadata.steps) }) };
      }
    } catch (e) {
      note = `weights saved in this browser could not be used (${(e as Error).message}); the default model is loaded instead`;
    }
    const def = await this.defaultModel();
    if (note) def.info.note = def.info.note ? `${note}. ${def.info.note}` : note;
    return def;
  }

  private async defaultModel(): Promise<{ model: AlignmentModel; info: ModelInfo }> {
    let note: string | undefined;
    try {
      const shipped = await this.shippedModel();
      if (shipped) return shipped;
    } catch (e) {
      note = `models/default could not be loaded (${(e as Error).message}); using the identity model`;
    }
    const model = new AlignmentModel(defaultStnConfig());
    this.history = [];
    return { model, info: this.describe(model, 'identity', IDENTITY_LABEL, { note }) };
  }

  /** models/default/model.json + shards (the engine's weights format), used automatically when present. */
  private async shippedModel(): Promise<{ model: AlignmentModel; info: ModelInfo } | null> {
    const json = await this.deps.fetchAsset('models/default/model.json');
    if (!json) return null;
    const source = 'models/default/model.json';
    const files = await readModelFiles(async (name) => {
      if (name === 'model.json') return json;
      const b = await this.deps.fetchAsset(`models/default/${name}`);
      if (!b) throw new Error('not found');
      return b;
    }, source);
    const { model, extras, metadata } = deserializeModel(files.json, files.weightData, source);
    tf.dispose([...extras.values()]);
    this.adoptMetadata(metadata);
    return { model, info: this.describe(model, 'shipped', 'shipped default model (models/default)', { steps: numberOr(metadata.steps) }) };
  }

  private describe(model: AlignmentModel, kind: ModelInfo['kind'], label: string, extra: Partial<ModelInfo> = {}): ModelInfo {
    const info: ModelInfo = { kind, label, locSize: model.config.locSize, frame: { ...model.config.frame }, head: model.config.head };
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) (info as unknown as Record<string, unknown>)[k] = v;
    return info;
  }

  private adoptMetadata(metadata: Record<string, unknown>): void {
    this.history = Array.isArray(metadata.history) ? (metadata.history as StepPoint[]).filter((p) => p && typeof p.loss === 'number') : [];
    this.lastTraining = (metadata.training as Omit<TrainSettings, 'ids'>) ?? null;
  }

  private async loadShippedTemplate(): Promise<TemplateState> {
    const bytes = await this.deps.fetchAsset('models/canonical-chest.png');
    if (bytes) {
      try {
        return { image: decodeImage(bytes, 'models/canonical-chest.png'), source: 'shipped', label: 'canonical chest (models/canonical-chest.png)' };
      } catch { /* fall through to the generated stand-in */ }
    }
    return { image: syntheticChest(), source: 'generated', label: 'generated stand-in (models/canonical-chest.png is missing)' };
  }

  // ---------------------------------------------------------------- backends

  private async setBackend(name: BackendName): Promise<BackendState & { error?: string }> {
    if (name === this.backend) return this.backendState();
    try {
      await this.moveTo(name);
      return this.backendState();
    } catch (e) {
      return { ...this.backendState(), error: (e as Error).message };
    }
  }

  /**
   * Weights are carried across on the host: tensors belong to the backend that
   * made them, and rebuilding is cheaper to reason about than tfjs's lazy moves.
   * When the new backend refuses to start, the old one is restored.
   */
  private async moveTo(name: BackendName): Promise<void> {
    const previous = this.backend;
    const art = await serializeModel(this.model);
    this.model.dispose();
    this.vgg?.net.params.dispose();
    let reason = await trySetBackend(name, { wasmPaths: this.deps.wasmPaths, wasmThreads: this.wasmThreads });
    this.tried[name] = reason;
    if (reason === null) this.backend = name;
    else if ((await trySetBackend(previous, { wasmPaths: this.deps.wasmPaths, wasmThreads: this.wasmThreads })) !== null) {
      reason = `${reason}; and ${previous} could not be restored`;
    }
    this.model = deserializeModel(art.modelJson, art.weightData, 'model').model;
    if (this.vgg) this.vgg.net = this.vggFromFiles(this.vgg.files);
    if (reason !== null) throw new Error(`could not switch to ${name}: ${reason}`);
  }

  /**
   * The same small inference and one training step (same weights, films and
   * seed) on this backend and on `reference`; they must agree. The training
   * step is what a broken GPU path gets wrong while inference still passes.
   */
  private async checkBackend(reference: BackendName): Promise<CheckResult> {
    const t0 = performance.now();
    const current = this.backend;
    const a = await checkRun();
    let b: Awaited<ReturnType<typeof checkRun>>;
    if (reference === current) b = a;
    else {
      await this.moveTo(reference);
      try { b = await checkRun(); } finally { await this.moveTo(current); }
    }
    const inf = compareArrays(a.features, b.features);
    const loss = compareArrays(Float32Array.of(a.loss, a.gradNorm), Float32Array.of(b.loss, b.gradNorm));
    const trainOk = loss.relDiff < 1e-3 && a.loss !== 0 && a.gradNorm !== 0;
    return {
      backend: current, reference, maxAbsDiff: inf.maxAbs, relDiff: inf.relDiff,
      train: { loss: a.loss, referenceLoss: b.loss, gradNorm: a.gradNorm, referenceGradNorm: b.gradNorm, relDiff: loss.relDiff, ok: trainOk },
      ok: Number.isFinite(inf.relDiff) && inf.relDiff < 1e-3 && trainOk, ms: performance.now() - t0,
    };
  }

  // ---------------------------------------------------------------- loading

  private async addFiles(files: FileInput[], ctx: JobContext<LoadEvent>): Promise<Api['addFiles']['res']> {
    let decoded = 0;
    let failed = 0;
    for (let i = 0; i < files.length; i++) {
      const f = files[i];
      if (ctx.signal.ending) {
        ctx.emit({ kind: 'failed', id: f.id, name: f.name, reason: 'not loaded: loading was cancelled' });
        failed++;
        continue;
      }
      try {
        const img = decodeImage(new Uint8Array(await f.blob.arrayBuffer()), f.name);
        const entry = this.entryFrom(f, img);
        this.images.set(f.id, entry);
        const t = fitWithin(img.width, img.height, THUMB_SIDE, THUMB_SIDE);
        const thumb = encodePng(resizeArea(img, t.width, t.height));
        ctx.emit({ kind: 'decoded', id: f.id, width: img.width, height: img.height, format: String(img.meta?.format ?? '?'), details: describeFilm(img), thumb });
        decoded++;
      } catch (e) {
        const reason = e instanceof ImageDecodeError ? e.reason : `could not be read: ${(e as Error).message}`;
        ctx.emit({ kind: 'failed', id: f.id, name: f.name, reason });
        failed++;
      }
      await this.checkpoint(ctx.signal);
    }
    return { decoded, failed, cancelled: ctx.signal.ending };
  }

  private entryFrom(f: FileInput, img: GrayImage): ImageEntry {
    const frame = this.model.config.frame;
    const w = fitWithin(img.width, img.height, frame.width, frame.height);
    const work = resizeArea(img, w.width, w.height);
    const L = this.model.config.locSize;
    return {
      id: f.id, name: f.name, blob: f.blob, width: img.width, height: img.height,
      work: { width: w.width, height: w.height, data: toBytes(work.data) },
      loc: { size: L, data: locInput(img, L) },
    };
  }

  private async decodeEntry(e: ImageEntry): Promise<GrayImage> {
    const hit = this.decoded.get(e.id);
    if (hit) return hit;
    const img = decodeImage(new Uint8Array(await e.blob.arrayBuffer()), e.name);
    // Two full-resolution films at most: the compare view flips between neighbours.
    this.decoded.set(e.id, img);
    while (this.decoded.size > 2) this.decoded.delete(this.decoded.keys().next().value!);
    return img;
  }

  private async ensureLoc(e: ImageEntry): Promise<Float32Array> {
    const L = this.model.config.locSize;
    if (e.loc.size !== L) e.loc = { size: L, data: locInput(await this.decodeEntry(e), L) };
    return e.loc.data;
  }

  private entry(id: string): ImageEntry {
    const e = this.images.get(id);
    if (!e) throw new Error(`no loaded image with id ${id}`);
    return e;
  }

  // ---------------------------------------------------------------- alignment

  /** The network's raw parameters (before the model's output-frame margin). */
  private async predict(locs: Float32Array[]): Promise<AffineParams[]> {
    const L = this.model.config.locSize;
    const buf = new Float32Array(locs.length * L * L);
    locs.forEach((l, k) => buf.set(l, k * L * L));
    const p = tf.tidy(() => this.model.predictParams(tf.tensor4d(buf, [locs.length, L, L, 1])));
    try {
      return await readParamsRows(p);
    } finally { p.dispose(); }
  }

  private scoreTemplate(): Float32Array {
    const f = thumbFrame(this.model.config.frame, SCORE_HEIGHT);
    const key = `${f.width}x${f.height}`;
    if (this.scoreCache?.key !== key) this.scoreCache = { key, data: resizeArea(this.template.image, f.width, f.height).data };
    return this.scoreCache.data;
  }

  /**
   * Mismatch with the template, measured in the region the model matches
   * (without the output margin, which the template does not cover).
   */
  private async score(e: ImageEntry, raw: AffineParams): Promise<number> {
    const f = thumbFrame(this.model.config.frame, SCORE_HEIGHT);
    const region = await warpImage(grayOf(e.work), paramsToMatrix(raw), f);
    return templateMismatch(region.data, this.scoreTemplate());
  }

  private async align(ids: string[], ctx: JobContext<AlignEvent>): Promise<AlignResultSummary> {
    const t0 = performance.now();
    const entries = ids.map((id) => this.images.get(id)).filter((e): e is ImageEntry => !!e);
    const gallery = thumbFrame(this.model.config.frame, GALLERY_HEIGHT);
    let done = 0;
    for (let i = 0; i < entries.length && !ctx.signal.ending; i += BATCH) {
      const chunk = entries.slice(i, i + BATCH);
      const locs: Float32Array[] = [];
      for (const e of chunk) locs.push(await this.ensureLoc(e));
      const network = await this.predict(locs);
      const refined = await this.refinedAll(chunk, network);
      for (let k = 0; k < chunk.length; k++) {
        const e = chunk[k];
        const raw = refined[k];
        const matrix = outputMatrix(this.model.config, raw);
        const params = matrixToParams(matrix);
        const aligned = await warpImage(grayOf(e.work), matrix, gallery);
        const score = await this.score(e, raw);
        e.result = { params, matrix, raw, score, network: network[k], refinedSteps: this.refine };
        done++;
        ctx.emit({ kind: 'aligned', id: e.id, params, matrix, score, aligned: encodePng(aligned), done, total: entries.length });
      }
      await this.checkpoint(ctx.signal);
    }
    return { aligned: done, ms: performance.now() - t0, cancelled: done < entries.length, backend: this.backend };
  }

  /**
   * The doubt check, run after the plain alignment is shown (the page asks for
   * it once an alignment has finished): the frame of each film's network
   * prediction against a short refinement from it — or against the user's own
   * refinement when that was on, at no extra cost — and the share of black
   * border on the working copy. The rule and its thresholds are the engine's
   * (DOUBT_RULE). A short refinement costs about as much as the network itself
   * (~40 ms a film on 2 WASM threads, batches of 8).
   */
  private async doubts(ids: string[], ctx: JobContext<DoubtEvent>): Promise<DoubtSummary> {
    const t0 = performance.now();
    const entries = ids.map((id) => this.images.get(id)).filter((e): e is ImageEntry => !!e?.result?.network);
    const { frame, bounds } = this.model.config;
    let done = 0;
    let doubtful = 0;
    for (let i = 0; i < entries.length && !ctx.signal.ending; i += BATCH) {
      const chunk = entries.slice(i, i + BATCH);
      const network = chunk.map((e) => e.result!.network!);
      const short = chunk.some((e) => !e.result!.refinedSteps)
        ? await refineBatch(chunk.map((e) => grayOf(e.work)), this.template.image, network, {
          iterations: DOUBT_RULE.refineIterations, size: DOUBT_RULE.refineSize, minScale: bounds.scale[0], maxScale: bounds.scale[1],
        })
        : network;
      for (let k = 0; k < chunk.length; k++) {
        const e = chunk[k];
        const r = e.result!;
        const refinedSteps = r.refinedSteps ?? 0;
        const against = refinedSteps > 0 ? r.raw : short[k];
        const d = judgeDoubt(outputMatrix(this.model.config, network[k]), outputMatrix(this.model.config, against), frame, grayOf(e.work),
          DOUBT_RULE, refinedSteps > 0 ? `its refinement (×${refinedSteps})` : undefined);
        if (d.reasons.length) doubtful++;
        done++;
        ctx.emit({ id: e.id, doubt: d, done, total: entries.length });
      }
      await this.checkpoint(ctx.signal);
    }
    return { checked: done, doubtful, ms: performance.now() - t0, cancelled: done < entries.length };
  }

  /**
   * The engine's test-time refinement: a few Adam steps on the five parameters
   * maximising local NCC with the template, from the network's prediction. On
   * the working copies, which are already at about twice the refinement size;
   * a gallery batch is refined together (cheaper per film).
   */
  private async refinedAll(entries: ImageEntry[], params: AffineParams[]): Promise<AffineParams[]> {
    if (this.refine <= 0) return params;
    const [lo, hi] = this.model.config.bounds.scale;
    return refineBatch(entries.map((e) => grayOf(e.work)), this.template.image, params, { iterations: this.refine, size: 128, minScale: lo, maxScale: hi });
  }

  private async refined(e: ImageEntry, params: AffineParams): Promise<AffineParams> {
    return (await this.refinedAll([e], [params]))[0];
  }

  private async resultOf(e: ImageEntry): Promise<NonNullable<ImageEntry['result']>> {
    if (e.result) return e.result;
    const [predicted] = await this.predict([await this.ensureLoc(e)]);
    const raw = await this.refined(e, predicted);
    const matrix = outputMatrix(this.model.config, raw);
    e.result = { params: matrixToParams(matrix), matrix, raw, score: await this.score(e, raw) };
    return e.result;
  }

  private async view(id: string): Promise<ViewResult> {
    const e = this.entry(id);
    const r = await this.resultOf(e);
    const img = await this.decodeEntry(e);
    const frame = this.model.config.frame;
    const initial = await warpImage(img, IDENTITY_MATRIX, frame);
    const aligned = await warpImage(img, r.matrix, frame);
    return {
      id, name: e.name, width: e.width, height: e.height, frame: { ...frame },
      params: r.params, matrix: r.matrix, score: r.score,
      initial: encodePng(initial), aligned: encodePng(aligned),
      initialGray: toBytes(initial.data), alignedGray: toBytes(aligned.data),
    };
  }

  private async rescore(): Promise<{ scores: Record<string, number> }> {
    const scores: Record<string, number> = {};
    for (const e of this.images.values()) {
      if (!e.result) continue;
      e.result.score = await this.score(e, e.result.raw);
      scores[e.id] = e.result.score;
    }
    return { scores };
  }

  // ---------------------------------------------------------------- template

  private templateInfo(): TemplateInfo {
    const t = this.template.image;
    const { frame, margin } = this.model.config;
    // marginMatrix maps the output frame onto the matched region: invert it for the region's place in the frame.
    const sx = 1 + margin.left + margin.right;
    const sy = 1 + margin.top + margin.bottom;
    const region = { left: margin.left / sx, top: margin.top / sy, width: 1 / sx, height: 1 / sy };
    const regionSize = { width: Math.max(8, Math.round(frame.width * region.width)), height: Math.max(8, Math.round(frame.height * region.height)) };
    const atRegion = resizeArea(t, regionSize.width, regionSize.height);
    return {
      source: this.template.source, label: this.template.label, width: t.width, height: t.height,
      png: encodePng(t), frame: { ...frame }, region, regionSize, frameGray: toBytes(atRegion.data), framePng: encodePng(atRegion),
    };
  }

  private async setTemplate(req: TemplateRequest): Promise<TemplateInfo> {
    if (req.from === 'shipped') this.template = this.shippedTemplate;
    else if (req.from === 'file') {
      const image = decodeImage(req.bytes, req.name);
      this.template = { image, source: 'file', label: `loaded from ${req.name}` };
    } else {
      if (!this.mean) throw new Error('build the mean image first');
      const c = canonicalFromMean(this.mean, { box: req.box });
      const b = req.box;
      this.template = { image: c.template, source: 'mean', label: `mean of ${this.mean.source?.replace(/^mean of /, '') ?? 'the loaded'} films, crop ${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.width)}x${Math.round(b.height)}` };
    }
    this.scoreCache = null;
    return this.templateInfo();
  }

  private async buildMean(ids: string[], ctx: JobContext<{ done: number; total: number }>): Promise<MeanResult> {
    const entries = ids.map((id) => this.images.get(id)).filter((e): e is ImageEntry => !!e);
    if (entries.length === 0) throw new Error('load some films first: the mean is built from the loaded images');
    const builder = new MeanImageBuilder(MEAN_SIZE.width, MEAN_SIZE.height);
    for (const e of entries) {
      builder.add(grayOf(e.work));
      ctx.emit({ done: builder.count, total: entries.length });
      await this.checkpoint(ctx.signal);
      if (ctx.signal.ending) throw new Error('building the mean was cancelled');
    }
    const mean = builder.result();
    this.mean = mean;
    let proposed = { x: mean.width * 0.1, y: mean.height * 0.08, width: mean.width * 0.8, height: mean.height * 0.84 };
    let lungBox = proposed;
    try {
      const c = canonicalFromMean(mean);
      proposed = c.box;
      lungBox = c.lungBox;
    } catch { /* no lung fields found (e.g. synthetic inputs): keep the central box */ }
    return { png: encodePng(mean), width: mean.width, height: mean.height, count: builder.count, proposed, lungBox };
  }

  private async demo(count: number, seed: number): Promise<{ files: NamedBytes[] }> {
    const frame = this.model.config.frame;
    const size = { width: Math.round(frame.width * 1.25), height: Math.round(frame.height * 1.25) };
    const files: NamedBytes[] = [];
    const params = demoParams(count, seed);
    for (let i = 0; i < count; i++) {
      const img = await warpImage(this.template.image, paramsToMatrix(params[i]), size);
      files.push({ name: `demo-${String(i + 1).padStart(2, '0')}.png`, bytes: encodePng(img) });
    }
    return { files };
  }

  // ---------------------------------------------------------------- fine-tuning

  private async withLocSize(locSize: number): Promise<void> {
    if (locSize === this.model.config.locSize) return;
    // The encoder ends in global pooling, so the same weights serve any input size.
    const art = await serializeModel(this.model);
    const json = { ...art.modelJson, config: { ...art.modelJson.config, locSize } };
    const next = deserializeModel(json, art.weightData, 'model').model;
    this.model.dispose();
    this.model = next;
    this.modelInfo = { ...this.modelInfo, locSize };
  }

  private async train(s: TrainSettings, ctx: JobContext<TrainEvent>): Promise<TrainResult> {
    const entries = s.ids.map((id) => this.images.get(id)).filter((e): e is ImageEntry => !!e).slice(0, Math.max(1, s.maxImages));
    if (entries.length === 0) throw new Error('load some films (or press "Try it") before fine-tuning');
    if (!(s.steps >= 1) || !(s.batchSize >= 1) || !(s.lr > 0)) throw new Error('steps, batch size and learning rate must be positive');
    if (s.frame.width < 16 || s.frame.height < 16) throw new Error('the training frame must be at least 16 x 16');
    if (s.loss === 'perceptual' && s.perceptual === 'loaded' && !this.vgg) throw new Error('no VGG weights are loaded: load a tfjs/Keras VGG16 model, or use the built-in network');
    await this.withLocSize(s.locSize);
    const L = s.locSize;
    const srcSize = { width: 2 * s.frame.width, height: 2 * s.frame.height };
    const images: TrainingImage[] = [];
    for (const e of entries) {
      const img = await this.decodeEntry(e);
      e.loc = { size: L, data: locInput(img, L) };
      images.push({ id: e.id, loc: e.loc.data, src: resizeArea(img, srcSize.width, srcSize.height).data });
      ctx.emit({ kind: 'preparing', done: images.length, total: entries.length });
      await this.checkpoint(ctx.signal);
      if (ctx.signal.ending) return { steps: 0, stopped: true, model: this.modelInfo, saved: false };
    }
    this.decoded.clear();
    const template = tf.tensor4d(resizeArea(this.template.image, s.frame.width, s.frame.height).data, [1, s.frame.height, s.frame.width, 1]);
    const builtin = s.loss === 'perceptual' && s.perceptual === 'builtin' ? randomVgg(1234) : null;
    const spec: LossSpec = s.loss === 'perceptual' ? { kind: 'perceptual', lambda: s.lambda } : DEFAULT_LOSS;
    const loss = new AlignmentLoss(spec, { template, perceptual: builtin ?? this.vgg?.net });
    const trainer = new Trainer(this.model, loss, defaultTrainerSettings(this.model, {
      steps: s.steps, batchSize: s.batchSize, lr: s.lr, lrEnd: s.lr * 0.01, frame: s.frame, srcSize,
      augment: { ...DEFAULT_AUGMENT, enabled: s.augment },
    }));
    const { ids: _ids, ...settings } = s;
    void _ids;
    this.lastTraining = settings;
    const stepsBefore = this.modelInfo.steps ?? 0;
    ctx.signal.onState = (state) => ctx.emit({ kind: 'state', state });
    ctx.emit({ kind: 'started', total: s.steps, images: images.length, model: this.modelInfo });
    const sampleEntry = entries[0];
    let done = 0;
    let failure: TrainFailure | undefined;
    // A lost GPU device takes its tensors with it: the weights then come back from this host copy,
    // refreshed with every sample (a readback of the whole model each step would cost more than the step).
    // Only GPU backends lose their device, so WASM and CPU keep none.
    const gpu = isGpuBackend(this.backend);
    let hostCopy = gpu ? { art: await serializeModel(this.model), step: stepsBefore } : null;
    try {
      for (let step = 0; step < s.steps; step++) {
        await this.checkpoint(ctx.signal, true);
        if (ctx.signal.ending) break;
        let r: StepReport;
        try {
          r = await trainer.trainStep(images);
        } catch (e) {
          if (!(e instanceof DeviceError)) throw e;
          failure = await this.deviceFailed(e, stepsBefore + step, hostCopy);
          break;
        }
        const point: StepPoint = { step: stepsBefore + step, loss: r.loss, parts: r.parts, lr: r.lr, ms: r.ms, skipped: r.skipped };
        this.history.push(point);
        done++;
        ctx.emit({ kind: 'step', point, total: s.steps });
        if (step % s.sampleEvery === 0 || step === s.steps - 1) {
          ctx.emit({ kind: 'sample', step: stepsBefore + step, name: sampleEntry.name, ...(await this.sample(sampleEntry, s.frame)) });
          if (gpu) hostCopy = { art: await serializeModel(this.model), step: stepsBefore + done };
        }
      }
    } finally {
      // After a lost device these tensors' buffers are gone already; freeing them only updates tfjs's books.
      for (const free of [() => trainer.dispose(), () => loss.dispose(), () => template.dispose(), () => builtin?.params.dispose()]) {
        try { free(); } catch (err) { if (!failure?.fatal) throw err; }
      }
      if (this.history.length > HISTORY_KEEP) this.history.splice(0, this.history.length - HISTORY_KEEP);
    }
    for (const e of this.images.values()) e.result = undefined;
    let saved = false;
    let saveError: string | undefined;
    const kept = failure ? failure.keptStep - stepsBefore : done;
    if (kept > 0) {
      const steps = stepsBefore + kept;
      this.modelInfo = this.describe(this.model, 'fine-tuned', `fine-tuned in this browser (${steps} steps)`, { steps, savedAt: new Date().toISOString() });
      try {
        await this.persist('fine-tuned', this.modelInfo.label);
        saved = true;
      } catch (e) {
        saveError = `the weights could not be saved in this browser (${(e as Error).message}); download them from Export to keep them`;
      }
    }
    return { steps: done, stopped: done < s.steps, failure, model: this.modelInfo, saved, saveError };
  }

  /**
   * A step the device failed. The trainer has put back the weights from before
   * it when the device still works; when the device is gone, the worker moves
   * to the next backend that starts, with the host copy's weights.
   */
  private async deviceFailed(e: DeviceError, step: number, hostCopy: { art: ModelArtifacts; step: number } | null): Promise<TrainFailure> {
    const failed = this.backend;
    const fallbacks = (['webgl', 'wasm', 'cpu'] as BackendName[]).filter((b) => b !== failed);
    // What the user is offered: the other GPU backend and WASM, unless they are known not to start here.
    const offer = (except?: BackendName) => fallbacks.filter((b) => b !== 'cpu' && b !== except && typeof this.tried[b] !== 'string');
    if (!e.fatal) return { step, backend: failed, message: e.message, fatal: false, keptStep: step, offer: offer() };
    if (!hostCopy) throw new Error(`${e.message}, and no copy of the weights was kept on ${failed}`);
    this.tried[failed] = e.message;
    let movedTo: BackendName | undefined;
    for (const b of fallbacks) {
      const reason = await trySetBackend(b, { wasmPaths: this.deps.wasmPaths, wasmThreads: this.wasmThreads });
      this.tried[b] = reason;
      if (reason === null) { movedTo = b; break; }
    }
    if (!movedTo) throw new Error(`${e.message}; and no other backend could start`);
    try { this.model.dispose(); } catch { /* its buffers went with the device */ }
    this.backend = movedTo;
    this.model = deserializeModel(hostCopy.art.modelJson, hostCopy.art.weightData, 'model').model;
    if (this.vgg) this.vgg.net = this.vggFromFiles(this.vgg.files);
    return { step, backend: failed, message: e.message, fatal: true, movedTo, keptStep: hostCopy.step, offer: offer(movedTo) };
  }

  private async sample(e: ImageEntry, frame: Size): Promise<{ input: Uint8Array; aligned: Uint8Array; template: Uint8Array }> {
    const df = displayFrame(frame);
    const [params] = await this.predict([await this.ensureLoc(e)]);
    const src = grayOf(e.work);
    const input = await warpImage(src, IDENTITY_MATRIX, df);
    // The training frame is the matched region itself: no output margin here.
    const aligned = await warpImage(src, paramsToMatrix(params), df);
    return { input: encodePng(input), aligned: encodePng(aligned), template: encodePng(resizeArea(this.template.image, df.width, df.height)) };
  }

  private metadata(): Record<string, unknown> {
    return {
      steps: this.modelInfo.steps ?? 0,
      training: this.lastTraining,
      history: this.history,
      backend: this.backend,
      savedAt: new Date().toISOString(),
    };
  }

  private async persist(kind: 'fine-tuned' | 'loaded', label: string): Promise<void> {
    const art = await serializeModel(this.model, { metadata: this.metadata() });
    await this.deps.weightStore.save({ modelJson: art.modelJson, weightData: art.weightData, kind, label, savedAt: new Date().toISOString() });
  }

  // ---------------------------------------------------------------- weights

  private async exportWeights(): Promise<{ name: string; bytes: Uint8Array }> {
    const art = await serializeModel(this.model, { metadata: this.metadata() });
    const entries: Record<string, Uint8Array> = {};
    for (const [name, bytes] of modelFiles(art)) entries[name] = bytes;
    entries['training.json'] = strToU8(JSON.stringify({
      model: { ...this.modelInfo },
      training: this.lastTraining,
      history: this.history,
      exportedAt: new Date().toISOString(),
    }, null, 1));
    // Float weights do not compress; storing keeps a 45 MB download instant.
    const bytes = zipSync(entries, { level: 0 });
    return withTransfer({ name: 'cxr-align-weights.zip', bytes }, [bytes.buffer]);
  }

  private async loadWeights(files: NamedBytes[]): Promise<ModelChange> {
    const source = files.map((f) => f.name).join(', ') || 'no file';
    const map = filesByName(files, source);
    if (!map.has('model.json')) {
      throw new Error(`${source}: no model.json found. Load the weights zip saved from Export → "Download weights", or a model.json together with its .bin weight files.`);
    }
    const read = await readModelFiles(async (name) => {
      const b = map.get(name) ?? map.get(baseName(name));
      if (!b) throw new Error('it was not among the files you chose');
      return b;
    }, source);
    const loaded = deserializeModel(read.json, read.weightData, source);
    tf.dispose([...loaded.extras.values()]);
    this.model.dispose();
    this.model = loaded.model;
    this.adoptMetadata(loaded.metadata);
    for (const e of this.images.values()) e.result = undefined;
    this.modelInfo = this.describe(this.model, 'loaded', `loaded from ${source}`, { steps: numberOr(loaded.metadata.steps) });
    try { await this.persist('loaded', this.modelInfo.label); } catch (e) {
      this.modelInfo.note = `not saved in this browser (${(e as Error).message})`;
    }
    return { model: this.modelInfo, history: [...this.history], template: this.templateInfo() };
  }

  private async resetWeights(): Promise<ModelChange> {
    await this.deps.weightStore.clear();
    const { model, info } = await this.defaultModel();
    this.model.dispose();
    this.model = model;
    this.modelInfo = info;
    for (const e of this.images.values()) e.result = undefined;
    return { model: info, history: [...this.history], template: this.templateInfo() };
  }

  private vggFromFiles(files: NamedBytes[]): PerceptualNet {
    const source = files.map((f) => f.name).join(', ');
    const map = filesByName(files, source);
    const jsonBytes = map.get('model.json') ?? [...map.entries()].find(([n]) => n.endsWith('.json'))?.[1];
    if (!jsonBytes) throw new Error(`${source}: no model.json found (a tfjs layers model: model.json plus its .bin files, or a zip of them)`);
    let json: unknown;
    try { json = JSON.parse(new TextDecoder().decode(jsonBytes)); } catch (e) {
      throw new Error(`${source}: model.json is not valid JSON (${(e as Error).message})`);
    }
    const buffers = new Map<string, ArrayBuffer>();
    for (const [n, b] of map) buffers.set(n, b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    return vggFromLayersModel(json, buffers, source);
  }

  private async loadVgg(files: NamedBytes[]): Promise<{ description: string }> {
    const net = this.vggFromFiles(files);
    this.vgg?.net.params.dispose();
    this.vgg = { net, files };
    return { description: net.description };
  }

  // ---------------------------------------------------------------- export

  private async exportAligned(req: ExportAlignedRequest, ctx: JobContext<ExportEvent>): Promise<{ files: number; bytes: number }> {
    const entries = req.ids.map((id) => this.images.get(id)).filter((e): e is ImageEntry => !!e);
    if (entries.length === 0) throw new Error('nothing to export: load and align some films first');
    let bytes = 0;
    let failure: Error | null = null;
    const zip = new Zip((err, data) => {
      if (err) { failure = err; return; }
      // A copy: fflate may hand out views of buffers it still uses.
      const chunk = data.slice();
      bytes += chunk.byteLength;
      ctx.emit({ kind: 'chunk', bytes: chunk }, [chunk.buffer]);
    });
    const names = alignedPngNames(entries.map((e) => e.name));
    const transforms: TransformEntry[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const r = await this.resultOf(e);
      const img = await this.decodeEntry(e);
      const frame = req.resolution === 'original' ? { width: img.width, height: img.height } : this.model.config.frame;
      const png = encodePng(await warpImage(img, r.matrix, frame), { bitDepth: req.bitDepth });
      const file = new ZipPassThrough(names[i]);
      zip.add(file);
      file.push(png, true);
      transforms.push({ name: e.name, matrix: r.matrix, params: r.params, size: { width: frame.width, height: frame.height } });
      ctx.emit({ kind: 'progress', done: i + 1, total: entries.length });
      await this.checkpoint(ctx.signal);
      if (ctx.signal.ending) { zip.terminate(); throw new Error('export cancelled'); }
      if (failure) throw failure;
    }
    const text = (name: string, content: string) => {
      const f = new ZipDeflate(name, { level: 6 });
      zip.add(f);
      f.push(strToU8(content), true);
    };
    text('transforms.json', transformsJson(req.resolution === 'original' ? 'original' : this.model.config.frame, this.modelInfo.label, transforms, req.failed ?? [], this.model.config.margin));
    text('transforms.csv', transformsCsv(transforms));
    text('README.txt', EXPORT_README);
    zip.end();
    if (failure) throw failure;
    return { files: entries.length, bytes };
  }

  // ---------------------------------------------------------------- helpers

  private lastYield = 0;

  /**
   * Give the worker's message queue a turn (so pause/stop/cancel arrive), at
   * most every 30 ms: yielding after every small film would make loading a
   * thousand files pay a thousand timer delays.
   */
  private async checkpoint(signal: JobSignal, force = false): Promise<void> {
    const now = performance.now();
    if (force || now - this.lastYield > 30 || signal.paused) {
      await signal.checkpoint();
      this.lastYield = performance.now();
    }
  }
}


function grayOf(b: Bytes8): GrayImage {
  return { width: b.width, height: b.height, data: fromBytes(b.data) };
}

function numberOr(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

function isZip(b: Uint8Array): boolean {
  return b.length > 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
}

/** Chosen files by base name, zips unpacked (a zip of a model folder is the usual way to carry one). */
function filesByName(files: NamedBytes[], source: string): Map<string, Uint8Array> {
  const map = new Map<string, Uint8Array>();
  for (const f of files) {
    if (isZip(f.bytes)) {
      let entries: Record<string, Uint8Array>;
      try { entries = unzipSync(f.bytes); } catch (e) { throw new Error(`${f.name}: not a readable zip (${(e as Error).message})`); }
      for (const [path, b] of Object.entries(entries)) if (!path.endsWith('/')) map.set(baseName(path), b);
    } else {
      map.set(baseName(f.name), f.bytes);
    }
  }
  if (map.size === 0) throw new Error(`${source}: no files`);
  return map;
}

/** One line a user can check a film's decoding against (format, depth, DICOM photometric and window). */
export function describeFilm(img: GrayImage): string {
  const m = img.meta ?? {};
  const parts: string[] = [];
  const format = String(m.format ?? 'image').toUpperCase();
  if (format === 'DICOM') {
    parts.push(`DICOM ${String(m.photometric ?? '')}${m.inverted ? ' (shown inverted)' : ''}`.trim());
    if (m.bitsStored) parts.push(`${m.bitsStored}-bit`);
    const w = m.window as { center?: number; width?: number; source?: string } | undefined;
    if (w && Number.isFinite(w.center) && Number.isFinite(w.width)) {
      parts.push(`window ${round(w.center!)}/${round(w.width!)}${w.source === 'percentile' ? ' (auto)' : ''}`);
    }
  } else {
    parts.push(`${format}${m.bitDepth ? ` ${m.bitDepth}-bit` : ''}`);
    if (m.convertedFromColor) parts.push('colour → gray');
  }
  parts.push(`${img.width}×${img.height}`);
  return parts.join(' · ');
}

function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

export type { AlignEvent, LoadEvent, TrainEvent };

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

function compareArrays(a: Float32Array, b: Float32Array): { maxAbs: number; relDiff: number } {
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  return { maxAbs, relDiff: maxRef > 0 ? maxAbs / maxRef : maxAbs };
}
