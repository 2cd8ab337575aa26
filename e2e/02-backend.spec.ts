/** The Backend panel: WebGPU checked against WASM, then the user picks WASM (the later specs run on it). */
import type { Page } from '@playwright/test';
import { S, shot, tab, until } from './helpers';
import { expect, log, skipIf, test } from './fixtures';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ wb }) => { await wb.ensureOpen(); });

const hasWebGpu = (page: Page) => page.evaluate(async () => !!(await navigator.gpu?.requestAdapter()));

test('one small inference and one training step on WebGPU match WASM (the Backend panel check)', async ({ wb }, testInfo) => {
  const { page } = wb;
  wb.facts.webgpu ??= await hasWebGpu(page);
  skipIf(!wb.facts.webgpu, 'no WebGPU adapter in this browser');
  await tab(page, 'backend');
  await page.click('[data-testid="check-backend"]');
  await page.waitForSelector('[data-testid="check-result"]', { timeout: 180_000 });
  const ok = await page.getAttribute('[data-testid="check-result"]', 'data-ok');
  const text = (await page.textContent('[data-testid="check-result"]')) ?? '';
  log(`  ${text}`);
  wb.facts.backendCheck = text;
  testInfo.annotations.push({ type: 'fact', description: text });
  expect(ok, `WebGPU and WASM disagree: ${text}`).toBe('true');
  expect(await page.getAttribute('[data-testid="check-train"]', 'data-ok'), `the training step disagrees: ${text}`).toBe('true');
  await shot(page, '02-backend');
});

test('the user switches to WASM on the backend panel', async ({ wb }) => {
  const { page } = wb;
  await tab(page, 'backend');
  const active = await S(page, (s) => s.backend!.active);
  if (active !== 'wasm') await page.click('[data-testid="use-wasm"]');
  await until(page, (s) => s.backend!.active === 'wasm' && !s.backendBusy, 'the switch to WASM');
  await page.waitForSelector('[data-testid="backend-indicator"][data-backend="wasm"]');
  wb.facts.wasmThreads = await S(page, (s) => s.backend!.wasmThreads);
  log(`  WASM threads now that WASM runs: ${wb.facts.wasmThreads}`);
  // Chromium has WASM SIMD: training's batch norm, AdamW and gradient norm must run host-kernels.wat.
  const kernels = await S(page, (s) => s.backend!.wasmKernels);
  log(`  WASM training kernels: ${kernels}`);
  expect(kernels).toBe('SIMD');
  await expect(page.locator('[data-testid="wasm-kernels"]')).toHaveText('SIMD');
  // Chromium has relaxed SIMD: convolutions run the engine's GEMM on as many threads as XNNPACK has.
  const convolutions = await S(page, (s) => s.backend!.wasmConvolutions);
  log(`  WASM convolutions: ${convolutions}`);
  expect(convolutions).toBe(`relaxed-SIMD GEMM, ${wb.facts.wasmThreads} thread${wb.facts.wasmThreads === 1 ? '' : 's'}`);
  await expect(page.locator('[data-testid="wasm-convolutions"]')).toHaveText(convolutions!);
  if (!wb.facts.webgpu) await shot(page, '02-backend');
});
