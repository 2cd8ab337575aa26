// Bootstrap of an align worker thread. Registered loaders do not carry over
// into worker threads, so it loads TypeScript through tsx exactly as the CLI's
// entry (bin/cxr-align.mjs) does, then the worker itself.
import { register } from 'tsx/esm/api';

register();
await import('./align-worker.ts');
