/**
 * Browser end-to-end tests (e2e/*.spec.ts): the built app served by
 * `vite preview` (cross-origin isolated and under its Content-Security-Policy,
 * both from vite.config.ts), driven in Debian's Chromium — never a downloaded
 * browser: CHROMIUM_PATH overrides /usr/bin/chromium. WebGPU and WebGL run on
 * SwiftShader here (~1 GFLOP/s), hence the long timeouts.
 *
 * The port: E2E_PORT if set (then a server already answering there is reused
 * outside CI, e.g. your own `npx vite preview --port $E2E_PORT`), otherwise a
 * free one picked once here and handed to the workers through the environment.
 * E2E_SKIP_BUILD=1 serves the dist/ already built.
 */
import { execFileSync } from 'node:child_process';
import { defineConfig } from '@playwright/test';

const freePort = () => execFileSync(process.execPath, ['-e',
  "const s = require('net').createServer(); s.listen(0, '127.0.0.1', () => { process.stdout.write(String(s.address().port)); s.close(); });",
], { encoding: 'utf8' }).trim();

// Evaluated again in every worker: the environment carries the runner's choice there.
process.env.E2E_PORT ??= freePort();
const PORT = Number(process.env.E2E_PORT);
const ORIGIN = `http://127.0.0.1:${PORT}`;
process.env.CXR_E2E_ORIGIN = ORIGIN;

const vite = 'node node_modules/vite/bin/vite.js';
const preview = `${vite} preview --port ${PORT} --strictPort --host 127.0.0.1`;

export default defineConfig({
  testDir: 'e2e',
  testMatch: '*.spec.ts',
  // The specs share one page in file order (e2e/fixtures.ts); two cores would only slow each other.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  // Per test: the longest (fine-tuning on three SwiftShader backends) takes minutes on two busy cores.
  timeout: 10 * 60_000,
  globalTimeout: 45 * 60_000,
  expect: { timeout: 60_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  outputDir: 'test-results',
  globalSetup: './e2e/global-setup.ts',
  webServer: {
    command: process.env.E2E_SKIP_BUILD ? preview : `${vite} build --logLevel warn && ${preview}`,
    url: ORIGIN,
    reuseExistingServer: !process.env.CI,
    timeout: 5 * 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
  use: {
    baseURL: ORIGIN,
    viewport: { width: 1440, height: 900 },
    actionTimeout: 60_000,
    navigationTimeout: 60_000,
    // Kept for failed tests only. No DOM snapshots: the store is polled every 200 ms, and two snapshots per
    // call of a page holding 1,000 thumbnails took seconds each on two cores (the 1,000-file test then missed
    // the alignment it cancels). Actions, console, network and the screencast stay in the trace.
    trace: { mode: 'retain-on-failure', snapshots: false },
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        headless: true,
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: [
            '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--no-sandbox',
            // WebGPU on SwiftShader (without the last three a synchronous read breaks the device).
            '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=swiftshader',
          ],
        },
      },
    },
  ],
});
