/**
 * The network job of `align`, for threads beside the main one.
 *
 * On tfjs's single-threaded WASM build (--threads 1), a machine with spare
 * cores runs a second copy of the model in a worker thread, predicting batch
 * k+1 while the main thread predicts batch k (the threaded build, the default,
 * spreads one copy's convolutions over the cores instead). Each copy runs as
 * many WASM threads as the main thread's. The model travels as its serialized artifacts, so whatever the main
 * thread loaded (a folder, models/default, the untrained identity model) is
 * exactly what the worker runs.
 */
import { setupBackend, wasmThreads, type BackendChoice } from './backend';
import {
  deserializeModel, predictMatrices, serializeModel, type AffineMatrix, type AlignmentModel, type GrayImage,
} from '../src/engine/index';

export interface LoadNetworkRequest {
  type: 'load-network';
  backend: BackendChoice;
  /** WASM threads of the copy (the main thread's). */
  threads?: number;
  modelJson: unknown;
  weightData: Uint8Array;
  /** Present with --refine: each batch is refined against it after the prediction. */
  refine?: { template: GrayImage; iterations: number };
}

export interface PredictRequest {
  type: 'predict';
  id: number;
  images: GrayImage[];
  batch: number;
}

export type NetworkResult =
  | { type: 'network'; id: number; ok: true; matrices: AffineMatrix[]; ms: number }
  | { type: 'network'; id: number; ok: false; reason: string; ms: number };

/** The main thread's model, as a load request for a worker. */
export async function networkRequest(model: AlignmentModel, backend: BackendChoice, refine?: LoadNetworkRequest['refine']): Promise<LoadNetworkRequest> {
  const { modelJson, weightData } = await serializeModel(model);
  return { type: 'load-network', backend, threads: wasmThreads() ?? undefined, modelJson, weightData, refine };
}

/** Worker side: one model copy, loaded once, predicting batch after batch. */
export class NetworkJobs {
  private model?: AlignmentModel;
  private refine?: LoadNetworkRequest['refine'];

  async load(req: LoadNetworkRequest): Promise<NetworkResult> {
    const t = performance.now();
    try {
      await setupBackend(req.backend, () => {}, { threads: req.threads });
      this.model?.dispose();
      this.model = deserializeModel(req.modelJson, req.weightData, 'align network worker').model;
      this.refine = req.refine;
      return { type: 'network', id: -1, ok: true, matrices: [], ms: performance.now() - t };
    } catch (e) {
      return { type: 'network', id: -1, ok: false, reason: (e as Error).message, ms: performance.now() - t };
    }
  }

  async predict(req: PredictRequest): Promise<NetworkResult> {
    const t = performance.now();
    if (!this.model) return { type: 'network', id: req.id, ok: false, reason: 'no model loaded in the network worker', ms: 0 };
    try {
      const matrices = await predictMatrices(this.model, req.images, req.batch, this.refine);
      return { type: 'network', id: req.id, ok: true, matrices, ms: performance.now() - t };
    } catch (e) {
      return { type: 'network', id: req.id, ok: false, reason: (e as Error).message, ms: performance.now() - t };
    }
  }
}
