/**
 * Plain helpers for the browser tests: paths, the tiny PNG writer, store
 * access through `window.cxrAlign`, waits on the store (expect.poll), panel
 * navigation, downloads, screenshots under e2e/artifacts/, and the request
 * watcher that fails the run if anything leaves the app's own origin.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type BrowserContext, type Page } from '@playwright/test';
import { encode as encodePng } from 'fast-png';
import type { Workbench } from '../src/app/workbench';
import type { Actions, AppState } from '../src/app/store';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ART = join(ROOT, 'e2e/artifacts');
export const TMP = join(ROOT, 'e2e/.tmp');
// Overridable only to exercise the skip path (CXR_SHARED_DATA=/nonexistent); the tests condition on the folder existing.
export const SHARED = process.env.CXR_SHARED_DATA ?? resolve(ROOT, '../shared/data');
export const HAS_SHARED = existsSync(SHARED);
export const NO_SHARED = `${SHARED} is absent`;
export const IDENTITY_LABEL = 'identity model — no trained weights shipped yet';
/** With trained weights in models/default the app opens on them; without, on the identity model. */
export const SHIPPED_MODEL = existsSync(join(ROOT, 'models/default/model.json'));
/** The model the app opens on, and the one "Reset" goes back to. */
export const DEFAULT_KIND = SHIPPED_MODEL ? 'shipped' : 'identity';

/** What `window.cxrAlign` holds in the page (src/app/main.tsx): the store and the controller. */
export type State = AppState & Actions;
export type CxrWindow = Window & { cxrAlign: { store: { getState(): State }; wb: Workbench } };

const t0 = Date.now();
/** A line in the run output (the list reporter prints test stdout as it comes). */
export const log = (...a: unknown[]) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s]`, ...a);

export function pngSize(b: Uint8Array) {
  const v = Buffer.from(b);
  expect(v.readUInt32BE(0), 'not a PNG').toBe(0x89504e47);
  return { width: v.readUInt32BE(16), height: v.readUInt32BE(20) };
}

/** A small gray PNG on disk (a smooth "film" that differs per seed). */
export function writeFilm(path: string, seed: number, w = 96, h = 96) {
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const u = x / w - 0.5; const v = y / h - 0.5;
    data[y * w + x] = Math.max(0, Math.min(255, 150 + 80 * Math.cos(7 * u + seed) * Math.sin(5 * v - seed) - 90 * Math.exp(-((Math.abs(u) - 0.22) ** 2 + v * v) * 25)));
  }
  writeFileSync(path, encodePng({ width: w, height: h, data, channels: 1, depth: 8 }));
  return path;
}

/**
 * `fn(store state, arg)` evaluated in the page. `fn` travels as source text
 * (so it must use nothing but its two parameters); the main context bypasses
 * the page's CSP for that, as the old runner did.
 */
export function S<R, A = null>(page: Page, fn: (s: State, arg: A) => R, arg?: A): Promise<R> {
  return page.evaluate(`(${fn.toString()})(window.cxrAlign.store.getState(), ${JSON.stringify(arg ?? null)})`) as Promise<R>;
}

/** Waits until `fn` holds on the store (default 60 s, as the old runner's waitFor). */
export async function until<A = null>(page: Page, fn: (s: State, arg: A) => unknown, what: string, { arg, timeout = 60_000 }: { arg?: A; timeout?: number } = {}) {
  await expect.poll(async () => !!(await S(page, fn, arg)), { message: `waiting for ${what}`, timeout, intervals: [100, 200] }).toBe(true);
}

/** Films decoded and ready. */
export const ready = (page: Page) => S(page, (s) => s.images.order.filter((id) => s.images.byId[id].status === 'ready').length);

/** Screenshot of the viewport into e2e/artifacts/; passing toasts are cleared first unless `keepNotices` (they fade after 5 s for a user anyway). */
export async function shot(page: Page, name: string, { keepNotices = false } = {}) {
  if (!keepNotices) await S(page, (s) => { for (const n of s.notices) s.dismiss(n.id); });
  await page.waitForTimeout(250);
  const path = join(ART, `${name}.png`);
  await page.screenshot({ path });
  log(`  screenshot ${path.slice(ROOT.length + 1)}`);
}

export async function tab(page: Page, id: string) {
  await page.click(`[data-testid="tab-${id}"]`);
  await page.waitForSelector(`[data-testid="panel-${id}"]`);
}

/** Clicks, saves the download under e2e/.tmp/ and returns its path. */
export async function download(page: Page, click: () => Promise<unknown>) {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), click()]);
  const path = join(TMP, dl.suggestedFilename());
  await dl.saveAs(path);
  return path;
}

export async function bootReady(page: Page) {
  await until(page, (s) => s.boot.status !== 'starting', 'the engine to start');
  const boot = await S(page, (s) => s.boot);
  expect(boot.status, `engine failed to start: ${boot.error}`).toBe('ready');
}

/** All ready films aligned and nothing running. */
export async function allAligned(page: Page, timeout = 120_000) {
  await until(page, (s) => !s.alignment.running && s.images.order.every((id) => s.images.byId[id].status !== 'queued')
    && s.images.order.filter((id) => s.images.byId[id].status === 'ready').every((id) => s.images.byId[id].result), 'every film to be aligned', { timeout });
}

/** The Fine-tune panel set for a tiny run: encoder 32, training frame 32x40. */
/** Tiny fine-tuning settings: with `loss`, the "Template similarity" recipe and that loss; without, "Adapt to my films". */
export async function tinyTraining(page: Page, { steps, batch, lr, loss }: { steps: number; batch: number; lr: number; loss?: string }) {
  await tab(page, 'finetune');
  await page.fill('[data-testid="steps"]', String(steps));
  await page.fill('[data-testid="batch"]', String(batch));
  await page.fill('[data-testid="lr"]', String(lr));
  await page.selectOption('[data-testid="locsize"]', '32');
  await page.selectOption('[data-testid="frame"]', '32x40');
  await page.click(`[data-testid="preset"] button:has-text("${loss ? 'Template similarity' : 'Adapt to my films'}")`);
  if (loss) await page.click(`[data-testid="loss"] button:has-text("${loss}")`);
}

/** Film name → its five alignment parameters (as JSON, for exact comparison). */
export function paramsByName(page: Page): Promise<Record<string, string>> {
  return S(page, (s) => Object.fromEntries(s.images.order.map((id) => s.images.byId[id]).filter((it) => it.result).map((it) => [it.name, JSON.stringify(it.result!.params)])));
}

export async function clearAll(page: Page) {
  await tab(page, 'images');
  const n = await S(page, (s) => s.images.order.length);
  if (n) await page.click('button:has-text("Clear all")');
  await until(page, (s) => s.images.order.length === 0, 'the image list to clear', { timeout: 30_000 });
}

/** The real films in ../shared/data: the first 20 ChestX-ray14 PNGs and a MONOCHROME1 DICOM. */
export function sharedFiles() {
  const dir = join(SHARED, 'cxr14/images');
  return {
    cxr: readdirSync(dir).filter((f) => f.endsWith('.png')).sort().slice(0, 20).map((f) => join(dir, f)),
    dicom: join(SHARED, 'dicom/Fake_MONOHR1.dcm'),
  };
}

/** Every request the browser makes (page, workers) outside `origin`, blob: and data:; anything off-origin is also aborted. */
export async function watchRequests(context: BrowserContext, origin: string) {
  const offOrigin: string[] = [];
  let total = 0;
  const own = (url: string) => url.startsWith(`${origin}/`) || url === origin || url.startsWith('blob:') || url.startsWith('data:');
  const check = (url: string) => {
    total++;
    if (!own(url)) offOrigin.push(url);
  };
  context.on('request', (r) => check(r.url()));
  // Routing sees requests from dedicated workers too, and blocks anything off-origin.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    check(url);
    return own(url) ? route.continue() : route.abort();
  });
  return { offOrigin, count: () => total };
}
