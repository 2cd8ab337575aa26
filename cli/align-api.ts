/**
 * What `align`'s worker threads answer (align-worker.ts), over the project's
 * one RPC layer (src/rpc): the host jobs around the network (align-jobs.ts)
 * and the network jobs of a worker's model copy (align-network.ts). Types only.
 */
import type { AffineMatrix, Size } from '../src/engine/affine/affine';
import type { GrayImage } from '../src/engine/io/gray-image';
import type { ContentCrop } from '../src/engine/image/content-crop';
import type { InputCrop } from '../src/engine/models/stn/config';
import type { BackendChoice } from './backend';

export interface PrepareRequest {
  id: number;
  path: string;
  key: string;
  locSize: number;
  /** What the model's encoder sees of a film (config.inputCrop). */
  inputCrop: InputCrop;
  /** Also send the decoded film back (test-time refinement needs it on the main thread). */
  sendFull: boolean;
}

export type PrepareResult =
  | { id: number; ok: true; loc: Float32Array; crop: ContentCrop; width: number; height: number; bitDepth: number; full?: Float32Array; ms: Record<string, number> }
  | { id: number; ok: false; reason: string; ms: Record<string, number> };

export interface FinishRequest {
  id: number;
  matrix: AffineMatrix;
  /** null: the film's own size (--size original). */
  frame: Size | null;
  outPath: string;
  bitDepth: 8 | 16 | 'auto';
  /** The film, when it was sent to the main thread (refinement) and comes back. */
  full?: { data: Float32Array; width: number; height: number; bitDepth: number };
}

export type FinishResult =
  /** sha256: of the PNG written, for the journal (hashed here, off the main thread). */
  | { id: number; ok: true; sha256: string; ms: Record<string, number> }
  | { id: number; ok: false; reason: string; ms: Record<string, number> };

export interface LoadNetworkRequest {
  backend: BackendChoice;
  /** WASM threads of the copy (the main thread's). */
  threads?: number;
  modelJson: unknown;
  weightData: Uint8Array;
  /** Present with --refine: each batch is refined against it after the prediction. */
  refine?: { template: GrayImage; iterations: number };
}

export interface PredictRequest {
  id: number;
  /** The encoder inputs (encoderInput at the model's locSize and inputCrop). */
  locs: Float32Array[];
  /** Where each input's view lies on its film. */
  crops: ContentCrop[];
  /** The decoded films beside them, with --refine only. */
  films?: GrayImage[];
  batch: number;
}

export type NetworkResult =
  | { id: number; ok: true; matrices: AffineMatrix[]; ms: number }
  | { id: number; ok: false; reason: string; ms: number };

export type AlignWorkerApi = {
  prepare: { req: PrepareRequest; res: PrepareResult; progress: never };
  finish: { req: FinishRequest; res: FinishResult; progress: never };
  /** Forget a prepared film that will not be finished. */
  drop: { req: { id: number }; res: void; progress: never };
  /** Give the worker its own copy of the model (network workers). */
  loadNetwork: { req: LoadNetworkRequest; res: NetworkResult; progress: never };
  predict: { req: PredictRequest; res: NetworkResult; progress: never };
};

/** Quick, synchronous jobs: answered in arrival order, never queued behind a network job. */
export const ALIGN_IMMEDIATE = ['prepare', 'finish', 'drop'] as const satisfies readonly (keyof AlignWorkerApi)[];
