/** Worker thread of `align`: runs prepare/finish jobs (align-jobs.ts) off the main thread. */
import { parentPort } from 'node:worker_threads';
import { FilmStore, type FinishRequest, type PrepareRequest } from './align-jobs';

const store = new FilmStore();
const port = parentPort!;

port.on('message', (msg: PrepareRequest | FinishRequest | { type: 'drop'; id: number }) => {
  if (msg.type === 'prepare') {
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
