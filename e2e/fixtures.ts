/**
 * The page the scenarios share. As a user would, the specs work on one tab
 * in order (01-load … 11-offline: the file names set the order): films loaded
 * in one spec are aligned, compared and trained on in the next. That page
 * lives in the worker-scoped `wb` fixture, so it survives from file to file
 * (`workers: 1`); a failed test ends the worker, and the next spec that
 * continues from an earlier one then fails at once with the reason instead of
 * timing out on a page that lacks its films (`wb.continuesFrom`).
 *
 * The main context bypasses the page's Content-Security-Policy (the store
 * helpers evaluate source text); 11-offline checks the policy itself on a
 * fresh context without the bypass.
 */
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test as base, type BrowserContext, type Page } from '@playwright/test';
import { ART, bootReady, log, ROOT, watchRequests } from './helpers';

export { expect } from '@playwright/test';

/** Figures the scenarios measure, printed again when the worker ends (they are quoted in notes). */
export interface Facts {
  webgpu?: boolean;
  wasmThreads?: number | null;
  cores?: number;
  backendCheck?: string;
  align20?: { alignMs: number; wallMs: number };
  exportZip?: string;
  finetune: Record<string, number[]>;
  pageThreads?: Record<number, number>;
}

export interface Bench {
  page: Page;
  context: BrowserContext;
  /** The app's origin (`vite preview` from playwright.config.ts). */
  origin: string;
  requests: { offOrigin: string[]; count: () => number };
  facts: Facts;
  pageErrors: string[];
  /** Spec files (basename without .spec.ts) with a test through on this page (a failure ends the worker, page and all). */
  ran: Set<string>;
  /** Opens the app on the shared page if no spec has yet. */
  ensureOpen(): Promise<void>;
  /** Fails unless `spec` ran on this page: this spec carries on from its state. */
  continuesFrom(spec: string): void;
}

export const ORIGIN = process.env.CXR_E2E_ORIGIN ?? '';

const specName = (file: string) => basename(file).replace(/\.spec\.ts$/, '');

export const test = base.extend<{ _record: void }, { wb: Bench }>({
  wb: [async ({ browser }, use) => {
    if (!ORIGIN) throw new Error('CXR_E2E_ORIGIN is unset: run the specs through playwright.config.ts (npx playwright test)');
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    const requests = await watchRequests(context, ORIGIN);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
    page.setDefaultTimeout(60_000);
    const ran = new Set<string>();
    const wb: Bench = {
      page, context, origin: ORIGIN, requests, pageErrors, ran, facts: { finetune: {} },
      async ensureOpen() {
        if (!page.url().startsWith(ORIGIN)) {
          await page.goto(ORIGIN);
          await bootReady(page);
        }
      },
      continuesFrom(spec) {
        if (!ran.has(spec)) {
          throw new Error(`this spec carries on from the page ${spec}.spec.ts leaves (its films, model, backend), and ${spec} did not run `
            + `on this page${ran.size ? ` (ran: ${[...ran].join(', ')})` : ''}: run the whole suite, \`npx playwright test\``);
        }
      },
    };
    await use(wb);

    const f = wb.facts;
    console.log('\n──────── figures from this run ────────');
    if (f.wasmThreads !== undefined) console.log(`WASM threads in the page: ${f.wasmThreads ?? 'not started'} (navigator.hardwareConcurrency ${f.cores})`);
    if (f.backendCheck) console.log(`Backend check: ${f.backendCheck}`);
    if (f.align20) console.log(`Align 20 films on WASM in the page: ${f.align20.alignMs} ms alignment (${Math.round(f.align20.alignMs / 20)} ms/film); ${f.align20.wallMs} ms from choosing the files to all aligned.`);
    for (const [b, losses] of Object.entries(f.finetune)) console.log(`Fine-tune 2 steps on ${b}: step losses ${losses.map((l) => l.toFixed(6)).join(' / ')}`);
    if (f.pageThreads) {
      const [many, one] = [Math.max(...Object.keys(f.pageThreads).map(Number)), 1];
      console.log(`Page WASM, 20 films: ${many} threads ${f.pageThreads[many].toFixed(1)} ms/film, 1 thread ${f.pageThreads[one].toFixed(1)} ms/film (${(f.pageThreads[one] / f.pageThreads[many]).toFixed(2)}x)`);
    }
    if (pageErrors.length) console.log(`browser console errors (${pageErrors.length}):\n  ${[...new Set(pageErrors)].slice(0, 8).join('\n  ')}`);
    console.log(`Screenshots: ${ART.slice(ROOT.length + 1)}/`);
    await context.close();
  }, { scope: 'worker', timeout: 60_000 }],

  /** Records finished specs for `continuesFrom`; on a failure, the shared page as e2e/artifacts/FAILED-<spec>-<line>.png (the report attaches it too: screenshot 'only-on-failure'). */
  _record: [async ({ wb }, use, testInfo) => {
    await use();
    const spec = specName(testInfo.file);
    if (testInfo.status === 'passed' || testInfo.status === 'skipped') {
      // A failure ends the worker (and this page with it), so a spec in `ran` had no failed test here.
      wb.ran.add(spec);
    } else if (!wb.page.isClosed()) {
      mkdirSync(ART, { recursive: true });
      await wb.page.screenshot({ path: join(ART, `FAILED-${spec}-${testInfo.line}.png`), timeout: 10_000 }).catch(() => undefined);
    }
  }, { auto: true }],
});

/** Skips the running test when `cond` holds, and prints why (the list reporter shows a skip only as "-"). */
export function skipIf(cond: boolean, reason: string) {
  if (cond) log(`  skipped: ${reason}`);
  test.skip(cond, reason);
}

export { log };
