/**
 * The typed message protocol between the page and the engine worker. The page
 * asks (a `call` with a method name and its parameters); the worker answers
 * once (`result` or `error`) and may send any number of `progress` events in
 * between. Long calls take `control` messages (pause, resume, stop, cancel)
 * addressed by the call's id. This file is types only, so the page bundle
 * does not pull in TensorFlow.js through it.
 */
import type { AffineMatrix, AffineParams, Size } from '../../engine/affine/affine';
import type { BackendName } from '../../engine/backend/backends';
import type { Box } from '../../engine/canonical/canonical';
import type { PresetName } from '../../engine/train/presets';
import type { StepPoint } from '../../engine/weights/model-folder';

export type { AffineMatrix, AffineParams, BackendName, Box, Size };

export type Control = 'pause' | 'resume' | 'stop' | 'cancel';

export interface BackendState {
  active: BackendName;
  /** null = started here; a string = why it could not; absent = not tried yet. */
  tried: Partial<Record<BackendName, string | null>>;
  /** What the environment appears to offer before trying (WebGPU adapter API, OffscreenCanvas). */
  hints: Record<BackendName, boolean>;
  /** Threads of the WASM backend (getThreadsCount; 1 = single-threaded), null until WASM has started. */
  wasmThreads: number | null;
  /** How training's batch norm, AdamW and gradient norm run on WASM: 'SIMD' or 'scalar (reason)'; null until WASM has started. */
  wasmKernels: string | null;
  /** How WASM runs convolutions: 'relaxed-SIMD GEMM, N threads' (engine/backend/wasm-conv.ts) or 'XNNPACK (reason)'; null until WASM has started. */
  wasmConvolutions: string | null;
}

export type ModelKind = 'identity' | 'shipped' | 'fine-tuned' | 'loaded';

export interface ModelInfo {
  kind: ModelKind;
  /** One line for the header, e.g. "identity model — no trained weights shipped yet". */
  label: string;
  /** Anything the user should know (a saved model that could not be read, …). */
  note?: string;
  locSize: number;
  frame: Size;
  head: 'raw' | 'bounded';
  /** Training steps behind these weights, when known. */
  steps?: number;
  savedAt?: string;
}

export type TemplateSource = 'shipped' | 'generated' | 'mean' | 'file';

export interface TemplateInfo {
  source: TemplateSource;
  label: string;
  width: number;
  height: number;
  /** The template as the user loaded or built it. */
  png: Uint8Array;
  /** The model's output frame. */
  frame: Size;
  /**
   * Where the template (the region the model matches) sits in the output
   * frame, as fractions of it: the whole frame unless the model adds an
   * output margin around the matched region (StnConfig.margin).
   */
  region: { left: number; top: number; width: number; height: number };
  /** The template at that region's pixel size, 8-bit gray, for outlines and overlays. */
  frameGray: Uint8Array;
  /** Its size in pixels. */
  regionSize: Size;
  framePng: Uint8Array;
}

export interface InitRequest {
  order: BackendName[];
  /** WASM threads (the page's ?threads=N); tfjs's default when absent. */
  wasmThreads?: number;
}

export interface InitResult {
  backend: BackendState;
  model: ModelInfo;
  /** Loss history stored with the weights (empty for the default model). */
  history: StepPoint[];
  template: TemplateInfo;
}

export interface ModelChange {
  model: ModelInfo;
  history: StepPoint[];
  /** The template as the new model frames it (frame and margin may differ). */
  template: TemplateInfo;
}

export interface FileInput {
  id: string;
  name: string;
  blob: Blob;
}

export type LoadEvent =
  | { kind: 'decoded'; id: string; width: number; height: number; format: string; details: string; thumb: Uint8Array }
  | { kind: 'failed'; id: string; name: string; reason: string };

export interface AlignEvent {
  kind: 'aligned';
  id: string;
  params: AffineParams;
  matrix: AffineMatrix;
  score: number;
  /** Aligned film in the gallery frame, PNG. */
  aligned: Uint8Array;
  done: number;
  total: number;
}

/** Why a film's alignment is doubtful (the engine's doubt rule, src/engine/align/doubt.ts). */
export interface FilmDoubt {
  /** Empty: not doubtful. 'disagree': the network and a refinement put the frame apart; 'border': a lot of black border. */
  reasons: ('disagree' | 'border')[];
  disagreementPx: number;
  borderFraction: number;
  /** One line for the gallery's tooltip. */
  text: string;
}

/** One film checked, after its plain alignment was shown. */
export interface DoubtEvent {
  id: string;
  doubt: FilmDoubt;
  done: number;
  total: number;
}

export interface DoubtSummary {
  checked: number;
  doubtful: number;
  ms: number;
  cancelled: boolean;
}

export interface AlignResultSummary {
  aligned: number;
  ms: number;
  cancelled: boolean;
  backend: BackendName;
}

export interface ViewResult {
  id: string;
  name: string;
  width: number;
  height: number;
  frame: Size;
  params: AffineParams;
  matrix: AffineMatrix;
  score: number;
  /** The film in the frame with the identity transform (what the network starts from). */
  initial: Uint8Array;
  aligned: Uint8Array;
  /** Raw 8-bit aligned pixels at the frame, for blending in the page. */
  alignedGray: Uint8Array;
  initialGray: Uint8Array;
}

export interface MeanResult {
  png: Uint8Array;
  width: number;
  height: number;
  count: number;
  /** The crop the engine proposes (lung box plus margin), in the mean image's pixels. */
  proposed: Box;
  lungBox: Box;
}

export type TemplateRequest =
  | { from: 'shipped' }
  | { from: 'file'; name: string; bytes: Uint8Array }
  | { from: 'mean'; box: Box };

export type LossChoice = 'lncc' | 'perceptual';

/**
 * "adapt" (Adapt to my films): teacher matrices from refining the current
 * model on the films, then teacher + consistency + border bands, the shipped
 * model's own recipe (engine PRESETS). "similarity": `loss` alone.
 */
export type TrainPreset = PresetName;

export interface TrainSettings {
  ids: string[];
  /** Absent = "similarity" (what clients before the presets sent). */
  preset?: TrainPreset;
  steps: number;
  batchSize: number;
  lr: number;
  loss: LossChoice;
  /** Weight of the pixel term in the perceptual loss (the seed's λ). */
  lambda: number;
  augment: boolean;
  /** Side of the encoder's square input; changing it keeps the weights (the encoder is fully convolutional). */
  locSize: number;
  /** Frame the loss is computed in (smaller is faster). */
  frame: Size;
  perceptual: 'builtin' | 'loaded';
  /** At most this many films are prepared for training (memory). */
  maxImages: number;
  sampleEvery: number;
}

export type { StepPoint };

export type TrainEvent =
  /** `films`: decoding and reducing the films; `teacher`: refining the current model's matrices on them (preset "adapt"). */
  | { kind: 'preparing'; phase?: 'films' | 'teacher'; done: number; total: number }
  | { kind: 'started'; total: number; images: number; model: ModelInfo }
  | { kind: 'step'; point: StepPoint; total: number }
  | { kind: 'sample'; step: number; name: string; input: Uint8Array; aligned: Uint8Array; template: Uint8Array }
  | { kind: 'state'; state: 'running' | 'paused' };

/**
 * A training step the GPU device failed (validation, out of memory, device or
 * context lost, or a step that read back as all zeros). Training stops there.
 */
export interface TrainFailure {
  /** The model's step count at which the failed step would have been taken. */
  step: number;
  backend: BackendName;
  message: string;
  /** The device is gone: the worker moved to `movedTo` with the weights of `keptStep`. */
  fatal: boolean;
  movedTo?: BackendName;
  /** Step count of the weights now in use (== step unless the device was lost). */
  keptStep: number;
  /** Backends that could take over (the user's choice). */
  offer: BackendName[];
}

export interface TrainResult {
  steps: number;
  stopped: boolean;
  failure?: TrainFailure;
  model: ModelInfo;
  /** Whether the weights were saved to this browser's storage. */
  saved: boolean;
  saveError?: string;
}

export interface ExportAlignedRequest {
  ids: string[];
  resolution: 'frame' | 'original';
  bitDepth: 8 | 16;
  /** Files that could not be loaded, listed under "failed" in transforms.json (as the CLI does). */
  failed?: { name: string; reason: string }[];
}

export type ExportEvent =
  | { kind: 'progress'; done: number; total: number }
  | { kind: 'chunk'; bytes: Uint8Array };

export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

export interface CheckResult {
  backend: BackendName;
  reference: BackendName;
  maxAbsDiff: number;
  /** Largest difference relative to the largest reference value. */
  relDiff: number;
  /** One training step from the same weights and seed: its loss and gradient norm on both. */
  train: { loss: number; referenceLoss: number; gradNorm: number; referenceGradNorm: number; relDiff: number; ok: boolean };
  ok: boolean;
  ms: number;
}

export interface MemoryInfo {
  numTensors: number;
  numBytes: number;
  images: number;
}

/** Every method: its parameters, its answer and its progress events. */
export interface Api {
  init: { req: InitRequest; res: InitResult; progress: never };
  /** Never rejects for a backend that cannot start: `error` says why, and the previous one stays active. */
  setBackend: { req: { name: BackendName }; res: BackendState & { error?: string }; progress: never };
  checkBackend: { req: { reference: BackendName }; res: CheckResult; progress: never };
  addFiles: { req: { files: FileInput[] }; res: { decoded: number; failed: number; cancelled: boolean }; progress: LoadEvent };
  removeImages: { req: { ids: string[] | 'all' }; res: { remaining: number }; progress: never };
  /** `refine`: test-time refinement iterations per film (0 = the network's prediction as is). */
  align: { req: { ids: string[]; refine?: number }; res: AlignResultSummary; progress: AlignEvent };
  /** The doubt check of aligned films: a short refinement from each network frame (or the user's refinement), and the black border. */
  doubts: { req: { ids: string[] }; res: DoubtSummary; progress: DoubtEvent };
  view: { req: { id: string }; res: ViewResult; progress: never };
  demo: { req: { count: number; seed: number }; res: { files: NamedBytes[] }; progress: never };
  buildMean: { req: { ids: string[] }; res: MeanResult; progress: { done: number; total: number } };
  setTemplate: { req: TemplateRequest; res: TemplateInfo; progress: never };
  rescore: { req: Record<string, never>; res: { scores: Record<string, number> }; progress: never };
  train: { req: TrainSettings; res: TrainResult; progress: TrainEvent };
  exportAligned: { req: ExportAlignedRequest; res: { files: number; bytes: number }; progress: ExportEvent };
  exportWeights: { req: Record<string, never>; res: { name: string; bytes: Uint8Array }; progress: never };
  loadWeights: { req: { files: NamedBytes[] }; res: ModelChange; progress: never };
  resetWeights: { req: Record<string, never>; res: ModelChange; progress: never };
  loadVgg: { req: { files: NamedBytes[] }; res: { description: string }; progress: never };
  memory: { req: Record<string, never>; res: MemoryInfo; progress: never };
}

export type Method = keyof Api;
export type Req<M extends Method> = Api[M]['req'];
export type Res<M extends Method> = Api[M]['res'];
export type Progress<M extends Method> = Api[M]['progress'];

export const IMMEDIATE_METHODS: readonly Method[] = ['view', 'memory', 'demo'];
