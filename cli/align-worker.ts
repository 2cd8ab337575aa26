/** Worker thread of `align`: runs prepare/finish jobs (align-jobs.ts) or network jobs (align-network.ts) off the main thread. */
import { parentPort } from 'node:worker_threads';
import { FilmStore, type FinishRequest, type PrepareRequest } from './align-jobs';
import { NetworkJobs, type LoadNetworkRequest, type PredictRequest } from './align-network';

const store = new FilmStore();
const network = new NetworkJobs();
const port = parentPort!;
// Network jobs run one at a time, in the order they came (one model, one backend).
let networkQueue: Promise<unknown> = Promise.resolve();

port.on('message', (msg: PrepareRequest | FinishRequest | LoadNetworkRequest | PredictRequest | { type: 'drop'; id: number }) => {
  if (msg.type === 'load-network') {
    networkQueue = networkQueue.then(async () => port.postMessage(await network.load(msg)));
  } else if (msg.type === 'predict') {
    networkQueue = networkQueue.then(async () => port.postMessage(await network.predict(msg)));
  } else if (msg.type === 'prepare') {
    const r = store.prepare(msg);
    const transfer: ArrayBuffer[] = [];
    if (r.ok) {
      transfer.push(r.loc.buffer as ArrayBuffer);
      if (r.full) transfer.push(r.full.buffer as ArrayBuffer);
    }
    port.postMessage(r, transfer);
  } else if (msg.type === 'finish') {
    port.postMessage(store.finish(msg));
  } else if (msg.type === 'drop') {
    store.drop(msg.id);
  }
});
port.postMessage({ type: 'ready' });
