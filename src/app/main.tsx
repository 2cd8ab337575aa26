import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { AppContext } from './context';
import { Workbench, type Platform } from './workbench';
import { createAppStore } from './store';
import { PortRunner, workerPort } from './worker/runner';
import { backendOrder } from './backend-order';
import './styles.css';

const platform: Platform = {
  objectUrl: (bytes, type) => URL.createObjectURL(new Blob([bytes as BlobPart], { type })),
  revokeUrl: (url) => URL.revokeObjectURL(url),
  save: (name, parts, type) => {
    const url = URL.createObjectURL(new Blob(parts as BlobPart[], { type }));
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    // Revoked later: the download reads the blob after the click returns.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  },
  now: () => performance.now(),
};

const store = createAppStore();
const worker = new Worker(new URL('./worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'cxr-align-engine' });
const runner = new PortRunner(workerPort(worker));
runner.onStopped = (reason) => store.getState().bootFailed(`${reason}. Your files are safe on disk; reload the page to start again.`);
const wb = new Workbench(store, runner, platform);
// ?threads=N: the WASM thread pool's size (tests compare 1 with the default).
const threads = Number(new URLSearchParams(location.search).get('threads')) || undefined;
void wb.start(backendOrder(location.search, localStorage), threads);

// For the end-to-end tests and the curious: read-only access from the console.
(window as unknown as { cxrAlign: unknown }).cxrAlign = { store, wb };

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <AppContext.Provider value={{ store, wb }}>
      <App />
    </AppContext.Provider>
  </StrictMode>,
);
