/**
 * Worker thread of `align`: serves the AlignWorkerApi (align-api.ts) on the
 * project's RPC layer — prepare/finish jobs (align-jobs.ts) at once, network
 * jobs (align-network.ts) one at a time in arrival order (one model, one backend).
 */
import { Dispatcher, withTransfer, type Handlers, type Transfer } from '../src/rpc/index';
import { parentPost, serveOnParentPort } from '../src/rpc/node-port';
import { ALIGN_IMMEDIATE, type AlignWorkerApi } from './align-api';
import { FilmStore } from './align-jobs';
import { NetworkJobs } from './align-network';

const store = new FilmStore();
const network = new NetworkJobs();

const handlers: Handlers<AlignWorkerApi> = {
  prepare: async (req) => {
    const r = store.prepare(req);
    if (!r.ok) return r;
    // The encoder copy and (with --refine) the decoded film move to the main thread, not copied.
    const transfer: Transfer[] = [r.loc.buffer as ArrayBuffer];
    if (r.full) transfer.push(r.full.buffer as ArrayBuffer);
    return withTransfer(r, transfer);
  },
  finish: async (req) => store.finish(req),
  drop: async ({ id }) => { store.drop(id); },
  loadNetwork: (req) => network.load(req),
  predict: (req) => network.predict(req),
};

serveOnParentPort(new Dispatcher<AlignWorkerApi>(handlers, parentPost(), { immediate: ALIGN_IMMEDIATE }));
