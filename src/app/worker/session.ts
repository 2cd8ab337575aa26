/**
 * What the engine worker holds between calls: the backend, the model and its
 * metadata, the template, the loaded films and their results. The handler
 * modules (handlers/*.ts, one per job) read and change it; this file owns no
 * job itself, only the state and the few helpers every job needs.
 *
 * Memory plan for large folders: a film is decoded once on load into three
 * small things — the encoder's L x L input, an 8-bit working copy no larger
 * than the model frame (gallery warps, means, scores, refinement) and a
 * thumbnail — and the full-resolution pixels are dropped. The compare view,
 * training and the export decode the file again when they need more. Nothing
 * stays on the GPU between calls except the model's weights.
 */
import { unzipSync } from 'fflate';
import {
  decodeImage, deserializeModel, emptyMetadata, encoderInput, serializeModel, trySetBackend, vggFromLayersModel, wasmConvMode, wasmKernelMode, wasmThreadsCount,
  type AffineMatrix, type AffineParams, type AlignmentModel, type BackendName, type ContentCrop, type GrayImage, type InputCrop, type ModelMetadata, type PerceptualNet,
} from '../../engine';
import { fromBytes } from '../lib/geometry';
import type { JobSignal } from './dispatcher';
import type { BackendState, ModelInfo, NamedBytes, TemplateSource } from './protocol';
import type { WeightStore } from './weight-store';

export interface SessionDeps {
  /** Bytes of a same-origin file under the app's base (e.g. "models/canonical-chest.png"), or null when absent. */
  fetchAsset(path: string): Promise<Uint8Array | null>;
  weightStore: WeightStore;
  wasmPaths?: Record<string, string>;
}

export interface Bytes8 { width: number; height: number; data: Uint8Array }

export interface FilmResult {
  /** Output-frame matrix and its (tx, ty, sx, sy, θ). */
  params: AffineParams;
  matrix: AffineMatrix;
  /** The (refined) network parameters, which map the matched region (what the template shows). */
  raw: AffineParams;
  score: number;
  /** The network's own parameters before any refinement, and the refinement `raw` had (for the doubt check). */
  network?: AffineParams;
  refinedSteps?: number;
}

export interface FilmEntry {
  id: string;
  name: string;
  blob: Blob;
  width: number;
  height: number;
  work: Bytes8;
  /** The encoder input at a locSize, and where its view lies on the film (the model's inputCrop). */
  loc: { size: number; inputCrop: InputCrop; data: Float32Array; crop: ContentCrop };
  result?: FilmResult;
}

/** A film's encoder input and view for a model, as a FilmEntry keeps them. */
export function filmLoc(img: GrayImage, cfg: { locSize: number; inputCrop: InputCrop }): FilmEntry['loc'] {
  const x = encoderInput(img, cfg);
  return { size: cfg.locSize, inputCrop: cfg.inputCrop, data: x.loc, crop: x.crop };
}

export interface TemplateState {
  image: GrayImage;
  source: TemplateSource;
  label: string;
  /** PNG bytes: what goes into the model folder as template.png once a model is trained on it. */
  bytes: Uint8Array;
}

export class Session {
  backend: BackendName = 'cpu';
  wasmThreads?: number;
  readonly tried: Partial<Record<BackendName, string | null>> = {};
  model!: AlignmentModel;
  modelInfo!: ModelInfo;
  metadata: ModelMetadata = emptyMetadata();
  /** The template the current weights were trained to match ("reset template" goes back to it). */
  modelTemplate!: TemplateState;
  /** The template alignment, scores and training use now. */
  template!: TemplateState;
  readonly images = new Map<string, FilmEntry>();
  /** Full-resolution films decoded again for the compare view and export: two at most. */
  readonly decoded = new Map<string, GrayImage>();
  mean: GrayImage | null = null;
  vgg: { net: PerceptualNet; files: NamedBytes[] } | null = null;
  scoreCache: { key: string; data: Float32Array } | null = null;
  /** Test-time refinement iterations, as last asked for by an alignment (view and export follow it). */
  refine = 0;
  private lastYield = 0;

  constructor(readonly deps: SessionDeps) {}

  backendOptions() {
    return { wasmPaths: this.deps.wasmPaths, wasmThreads: this.wasmThreads };
  }

  backendState(): BackendState {
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
      wasmKernels: wasmKernelMode(),
      wasmConvolutions: wasmConvMode(),
    };
  }

  /** Try backends in order; the first that starts becomes active. Null when none did, with the reasons. */
  async startFirst(order: readonly BackendName[]): Promise<{ started: BackendName | null; reasons: string[] }> {
    const reasons: string[] = [];
    for (const name of order) {
      const reason = await trySetBackend(name, this.backendOptions());
      this.tried[name] = reason;
      if (reason === null) { this.backend = name; return { started: name, reasons }; }
      reasons.push(reason);
    }
    return { started: null, reasons };
  }

  /**
   * Rebuild the model (and the loaded VGG) from host bytes on the backend now
   * active: tensors belong to the backend that made them, and rebuilding is
   * cheaper to reason about than tfjs's lazy moves. The old model's tensors
   * are freed first; after a lost device that only updates tfjs's books.
   */
  rebuildModel(art: Awaited<ReturnType<typeof serializeModel>>): void {
    try { this.model.dispose(); } catch { /* its buffers went with the device */ }
    this.model = deserializeModel(art.modelJson, art.weightData, 'model').model;
    if (this.vgg) this.vgg.net = vggFromFiles(this.vgg.files);
  }

  /** Every result is stale (new weights, template or backend): the page re-aligns. */
  resultsStale(): void {
    for (const e of this.images.values()) e.result = undefined;
  }

  entry(id: string): FilmEntry {
    const e = this.images.get(id);
    if (!e) throw new Error(`no loaded image with id ${id}`);
    return e;
  }

  /** The loaded films among `ids`, in order (ids removed meanwhile are skipped). */
  entries(ids: readonly string[]): FilmEntry[] {
    return ids.map((id) => this.images.get(id)).filter((e): e is FilmEntry => !!e);
  }

  async decodeEntry(e: FilmEntry): Promise<GrayImage> {
    const hit = this.decoded.get(e.id);
    if (hit) return hit;
    const img = decodeImage(new Uint8Array(await e.blob.arrayBuffer()), e.name);
    // Two full-resolution films at most: the compare view flips between neighbours.
    this.decoded.set(e.id, img);
    while (this.decoded.size > 2) this.decoded.delete(this.decoded.keys().next().value!);
    return img;
  }

  /** The film's encoder input at the model's current locSize and view (decoded again when either changed). */
  async ensureLoc(e: FilmEntry): Promise<FilmEntry['loc']> {
    const cfg = this.model.config;
    if (e.loc.size !== cfg.locSize || e.loc.inputCrop !== cfg.inputCrop) e.loc = filmLoc(await this.decodeEntry(e), cfg);
    return e.loc;
  }

  /**
   * Give the worker's message queue a turn (so pause/stop/cancel arrive), at
   * most every 30 ms: yielding after every small film would make loading a
   * thousand files pay a thousand timer delays.
   */
  async checkpoint(signal: JobSignal, force = false): Promise<void> {
    const now = performance.now();
    if (force || now - this.lastYield > 30 || signal.paused) {
      await signal.checkpoint();
      this.lastYield = performance.now();
    }
  }
}

export function grayOf(b: Bytes8): GrayImage {
  return { width: b.width, height: b.height, data: fromBytes(b.data) };
}

export function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

/** A tfjs layers VGG16 (model.json + .bin files, or a zip of them) as the perceptual network. */
export function vggFromFiles(files: NamedBytes[]): PerceptualNet {
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

function isZip(b: Uint8Array): boolean {
  return b.length > 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;
}

/** Chosen files by base name, zips unpacked (a zip of a model folder is the usual way to carry one). */
export function filesByName(files: NamedBytes[], source: string): Map<string, Uint8Array> {
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
