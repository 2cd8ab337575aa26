/**
 * The network job of `align`, for threads beside the main one.
 *
 * On tfjs's single-threaded WASM build (--threads 1), a machine with spare
 * cores runs a second copy of the model in a worker thread, predicting batch
 * k+1 while the main thread predicts batch k (the threaded build, the default,
 * spreads one copy's convolutions over the cores instead). Each copy runs as
 * many WASM threads as the main thread's. The model travels as its serialized artifacts, so whatever the main
 * thread loaded (a folder, models/default, the untrained identity model) is
 * exactly what the worker runs. A batch is the engine's align stages 1–3
 * (alignMatrices), as on the main thread.
 */
import { setupBackend, wasmThreads, type BackendChoice } from './backend';
import { alignMatrices, deserializeModel, serializeModel, type AlignmentModel } from '../src/engine/index';
import type { LoadNetworkRequest, NetworkResult, PredictRequest } from './align-api';

export type { LoadNetworkRequest, NetworkResult, PredictRequest };

/** The main thread's model, as a load request for a worker. */
export async function networkRequest(model: AlignmentModel, backend: BackendChoice, refine?: LoadNetworkRequest['refine']): Promise<LoadNetworkRequest> {
  const { modelJson, weightData } = await serializeModel(model);
  return { backend, threads: wasmThreads() ?? undefined, modelJson, weightData, refine };
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
      return { id: -1, ok: true, matrices: [], ms: performance.now() - t };
    } catch (e) {
      return { id: -1, ok: false, reason: (e as Error).message, ms: performance.now() - t };
    }
  }

  async predict(req: PredictRequest): Promise<NetworkResult> {
    const t = performance.now();
    if (!this.model) return { id: req.id, ok: false, reason: 'no model loaded in the network worker', ms: 0 };
    try {
      const { matrices } = await alignMatrices(this.model, req.locs, { films: req.films, refine: this.refine, batchSize: req.batch, crops: req.crops });
      return { id: req.id, ok: true, matrices, ms: performance.now() - t };
    } catch (e) {
      return { id: req.id, ok: false, reason: (e as Error).message, ms: performance.now() - t };
    }
  }
}
