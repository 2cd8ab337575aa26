/**
 * Shared plumbing for the browser tests: a free port, the Vite preview server,
 * Debian's Chromium (never a downloaded browser), and a request log that
 * fails the run if anything leaves the app's own origin.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}\n${out}`))));
  });
}

/** `vite preview` on a free localhost port; resolves once it answers. */
export async function startPreview(root) {
  const port = await freePort();
  const proc = spawn(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'preview', '--port', String(port), '--strictPort', '--host', '127.0.0.1'], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: false,
  });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`vite preview exited early:\n${log}`);
    try {
      const r = await fetch(origin);
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) { proc.kill(); throw new Error(`vite preview did not answer within 30 s:\n${log}`); }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { origin, stop: () => proc.kill('SIGTERM'), log: () => log };
}

/**
 * `bypassCSP` is for the main run: Playwright evaluates string predicates
 * with eval, which the app's Content-Security-Policy forbids. The policy
 * itself is checked in a separate browser without it.
 */
export async function launchBrowser({ bypassCSP = true } = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'cxr-align-e2e-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    bypassCSP,
    viewport: { width: 1440, height: 900 },
    args: [
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--no-sandbox',
      // WebGPU on SwiftShader (without the last three a synchronous read breaks the device).
      '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=swiftshader',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Every request the browser makes (page, workers) outside `origin`, blob: and data:. */
export function watchRequests(context, origin) {
  const offOrigin = [];
  let total = 0;
  const check = (url) => {
    total++;
    if (url.startsWith(`${origin}/`) || url === origin || url.startsWith('blob:') || url.startsWith('data:')) return;
    offOrigin.push(url);
  };
  context.on('request', (r) => check(r.url()));
  // Routing sees requests from dedicated workers too, and blocks anything off-origin.
  void context.route('**/*', (route) => {
    const url = route.request().url();
    check(url);
    if (url.startsWith(origin) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
    return route.abort();
  });
  return { offOrigin, count: () => total };
}
