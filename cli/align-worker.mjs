// Bootstrap of an align worker thread: TypeScript through tsx, and the
// resolution hook the engine's tfjs import needs in Node (node-hooks.mjs).
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./node-hooks.mjs', import.meta.url);
await import('./align-worker.ts');
