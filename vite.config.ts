import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, resolve, sep } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

// Cross-origin isolation lets tfjs's WASM backend use threads (SharedArrayBuffer);
// it also guarantees the page loads nothing from another origin.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * The browser enforces what the app promises: scripts, workers, fetches and
 * images only from this origin (blob:/data: are the tab's own memory). WASM
 * needs 'wasm-unsafe-eval'; tfjs's WASM threads run from blob: workers.
 * Applied to the built app (header in `vite preview`, meta tag in index.html);
 * the dev server needs inline scripts for hot reload, so it goes without.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval' blob:",
  "worker-src 'self' blob:",
  "connect-src 'self' blob: data:",
  "img-src 'self' blob: data:",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

function contentSecurityPolicy(): Plugin {
  return {
    name: 'cxr-align-csp',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP }, injectTo: 'head-prepend' }],
  };
}

const MODELS_DIR = resolve(__dirname, 'models');
const TYPES: Record<string, string> = { '.json': 'application/json', '.png': 'image/png', '.bin': 'application/octet-stream' };

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

/** models/index.json: what the folder holds, so the app asks only for files that exist (no 404 probing). */
function modelsIndex(): string {
  return JSON.stringify({ files: listFiles(MODELS_DIR).map((f) => relative(MODELS_DIR, f).split(sep).join('/')).sort() });
}

/**
 * Serves the repository's models/ folder (shipped template and, once trained,
 * models/default/) at <base>models/ from the app's own origin, and copies it
 * into the build, with an index.json listing its files. Missing files answer
 * 404 rather than the SPA's index.html.
 */
function modelsFolder(): Plugin {
  let outDir = 'dist';
  let base = '/';
  const handler = (root: string) => (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const prefix = `${base}models/`;
    if (!url.pathname.startsWith(prefix)) return next();
    const rel = decodeURIComponent(url.pathname.slice(prefix.length));
    if (rel === 'index.json' && root === MODELS_DIR) {
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Cache-Control', 'no-cache');
      res.end(modelsIndex());
      return;
    }
    const file = resolve(root, rel);
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain');
      res.end('not found');
      return;
    }
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Cache-Control', 'no-cache');
    for (const [k, v] of Object.entries(isolation)) res.setHeader(k, v);
    res.end(readFileSync(file));
  };
  return {
    name: 'cxr-align-models',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
      base = config.base;
    },
    configureServer(server) {
      server.middlewares.use(handler(MODELS_DIR));
    },
    configurePreviewServer(server) {
      server.middlewares.use(handler(join(outDir, 'models')));
    },
    generateBundle() {
      for (const file of listFiles(MODELS_DIR)) {
        this.emitFile({ type: 'asset', fileName: `models/${relative(MODELS_DIR, file).split(sep).join('/')}`, source: readFileSync(file) });
      }
      this.emitFile({ type: 'asset', fileName: 'models/index.json', source: modelsIndex() });
    },
  };
}

export default defineConfig({
  plugins: [react(), modelsFolder(), contentSecurityPolicy()],
  server: { headers: isolation },
  preview: { headers: { ...isolation, 'Content-Security-Policy': CSP } },
  worker: { format: 'es' },
  // No minification: tfjs-backend-wasm starts its threads from its factory's own source (Function.toString()),
  // which breaks once a minifier renames the names that source refers to.
  build: { target: 'es2022', chunkSizeWarningLimit: 8192, minify: false },
  // Pre-bundled in dev too: its threaded build imports a CommonJS file that browsers cannot load raw.
  // The worker is scanned too, so its dependencies are ready before the first load (no re-optimise reload).
  optimizeDeps: { entries: ['index.html', 'src/app/worker/engine.worker.ts'], include: ['@tensorflow/tfjs-backend-wasm'] },
});
