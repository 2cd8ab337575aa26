/** The app opens with no setup: model, template, backend order, isolation and policy of the built page. */
import { bootReady, IDENTITY_LABEL, S, SHIPPED_MODEL, shot, tab } from './helpers';
import { expect, log, test } from './fixtures';

test.describe.configure({ mode: 'serial' });

test('opens with no setup: the shipped model (or the identity model), shipped template, WebGPU first when available', async ({ wb }, testInfo) => {
  const { page } = wb;
  await page.goto(wb.origin);
  await bootReady(page);
  const st = await S(page, (s) => ({ model: s.model!, template: s.template!.info, backend: s.backend! }));
  if (SHIPPED_MODEL) {
    expect(st.model.kind === 'shipped' && st.model.label !== IDENTITY_LABEL, `model: ${st.model.kind} ${st.model.label}`).toBe(true);
    expect(await page.isVisible('[data-testid="identity-banner"]'), 'the identity-model banner shows although weights are shipped').toBe(false);
  } else {
    expect(st.model.label, 'model label').toBe(IDENTITY_LABEL);
    expect(await page.isVisible('[data-testid="identity-banner"]'), 'the identity-model banner is missing').toBe(true);
  }
  expect(st.template.source, 'template source').toBe('shipped');
  const gpu = await page.evaluate(async () => !!(await navigator.gpu?.requestAdapter()));
  wb.facts.webgpu = gpu;
  const indicator = await page.getAttribute('[data-testid="backend-indicator"]', 'data-backend');
  if (gpu) expect(indicator, 'WebGPU is available: the indicator').toBe('webgpu');
  log(`  backend indicator: ${indicator} (WebGPU adapter ${gpu ? 'present' : 'absent'})`);
  const csp = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '');
  expect(csp, 'the built page carries no Content-Security-Policy').toMatch(/connect-src 'self'/);
  expect(await page.evaluate(() => crossOriginIsolated), 'the page is not cross-origin isolated (WASM threads need it)').toBe(true);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  wb.facts.wasmThreads = st.backend.wasmThreads;
  wb.facts.cores = cores;
  const threads = `WASM threads: ${st.backend.wasmThreads ?? `not started (${indicator} is active)`} (navigator.hardwareConcurrency ${cores})`;
  log(`  ${threads}`);
  testInfo.annotations.push({ type: 'fact', description: threads });
  await tab(page, 'template');
  await shot(page, '01-template');
});
