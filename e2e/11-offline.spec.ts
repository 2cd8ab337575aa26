/**
 * Nothing leaves the app's origin: the browser itself refuses other origins
 * under the page's Content-Security-Policy (a fresh context that enforces it),
 * and the shared page made no off-origin request during the whole run.
 */
import type { CxrWindow } from './helpers';
import { expect, log, test } from './fixtures';

test.describe.configure({ mode: 'serial' });

test('the browser itself refuses requests to other origins (Content-Security-Policy)', async ({ page }) => {
  // `page` is Playwright's own: a new context without bypassCSP, so the policy applies.
  page.setDefaultTimeout(60_000);
  await page.goto('/?backend=wasm');
  await page.waitForFunction(() => (window as unknown as Partial<CxrWindow>).cxrAlign?.store.getState().boot.status === 'ready', null, { timeout: 60_000 });
  // WASM threads (blob: workers) and the alignment itself must work under the policy.
  await page.click('[data-testid="try-it"]');
  await page.waitForFunction(() => (window as unknown as CxrWindow).cxrAlign.store.getState().alignment.last?.count === 8, null, { timeout: 60_000 });
  const blocked = await page.evaluate(async () => {
    const violations: string[] = [];
    document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
    let failed = false;
    try { await fetch('https://example.com/telemetry', { mode: 'no-cors' }); } catch { failed = true; }
    await new Promise((r) => setTimeout(r, 100));
    return { failed, violations };
  });
  expect(blocked.failed && blocked.violations.some((v) => v.startsWith('connect-src')), `cross-origin fetch not blocked by CSP: ${JSON.stringify(blocked)}`).toBe(true);
  log('  ok: demo films align under the policy; a cross-origin fetch is refused (connect-src)');
});

test('no request left the page\'s own origin during the whole run', async ({ wb }) => {
  await wb.ensureOpen();
  const off = [...new Set(wb.requests.offOrigin)];
  expect(off, `off-origin: ${off.slice(0, 5).join(', ')}`).toEqual([]);
  log(`  ${wb.requests.count()} requests, all same-origin`);
});
