/** The Export panel: the aligned films as one zip; the weights downloaded, restored after a reload, reset and loaded back. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { allAligned, bootReady, DEFAULT_KIND, download, HAS_SHARED, paramsByName, pngSize, ready, S, sharedFiles, SHIPPED_MODEL, shot, tab, TMP, until } from './helpers';
import { expect, log, test } from './fixtures';

test.describe.configure({ mode: 'serial' });

// The weights round trip needs the fine-tuned model of 06 (and the films of 03).
test.beforeAll(({ wb }) => wb.continuesFrom('06-finetune'));

test('export: one zip with the aligned PNGs, transforms.json and transforms.csv', async ({ wb }) => {
  const { page } = wb;
  await tab(page, 'export');
  const n = await ready(page);
  const zipPath = await download(page, () => page.click('[data-testid="export-zip"]'));
  const files = unzipSync(readFileSync(zipPath));
  const pngs = Object.keys(files).filter((k) => k.startsWith('aligned/') && k.endsWith('.png'));
  expect(pngs.length, `zip has ${pngs.length} PNGs for ${n} films`).toBe(n);
  for (const k of pngs) {
    const { width, height } = pngSize(files[k]);
    expect(`${width}x${height}`, `${k}: expected the 256x320 frame`).toBe('256x320');
  }
  const tj = JSON.parse(strFromU8(files['transforms.json']));
  expect(tj.frame.width === 256 && tj.frame.height === 320, 'transforms.json frame').toBe(true);
  expect(Object.keys(tj.transforms).length === n && Object.keys(tj.params).length === n, 'transforms.json entries').toBe(true);
  for (const m of Object.values(tj.transforms) as number[][][]) expect(m.length === 2 && m.every((r) => r.length === 3 && r.every(Number.isFinite)), 'matrix shape').toBe(true);
  for (const p of Object.values(tj.params) as number[][]) expect(p, 'params shape').toHaveLength(5);
  expect(typeof tj.convention === 'string' && typeof tj.model === 'string' && typeof tj.failed === 'object', 'transforms.json convention/model/failed').toBe(true);
  const csv = strFromU8(files['transforms.csv']).trim().split('\n');
  expect(csv[0], 'transforms.csv header').toBe('path,a,b,c,d,e,f,tx,ty,sx,sy,theta,width,height');
  expect(csv, 'transforms.csv rows').toHaveLength(n + 1);
  expect(csv.slice(1).every((row) => row.endsWith(',256,320')), 'transforms.csv output sizes').toBe(true);
  wb.facts.exportZip = zipPath;
  log(`  ${pngs.length} PNGs (256x320), transforms.json and CSV with ${n} entries`);
  await shot(page, '11-export');
});

test('weights: download, reload (restored from this browser), reset, load back → same aligned output; a wrong file is refused', async ({ wb }) => {
  const { page } = wb;
  await tab(page, 'export');
  const before = await paramsByName(page);
  const trained = (await S(page, (s) => s.model))!;
  // Steps count over every run behind the weights: the shipped model's and this page's fine-tuning.
  expect(trained.steps ?? 0, `steps behind the fine-tuned weights: ${JSON.stringify(trained)}`).toBeGreaterThan(SHIPPED_MODEL ? 700 : 0);
  const weights = await download(page, () => page.click('[data-testid="download-weights"]'));
  const inside = Object.keys(unzipSync(readFileSync(weights)));
  // The engine's model folder, as `cxr-align train` writes it: the template the weights were trained to match travels with them.
  expect(inside.includes('model.json') && inside.includes('template.png') && inside.some((f) => f.endsWith('.bin')), `weights zip holds ${inside.join(', ')}`).toBe(true);

  await page.reload();
  await bootReady(page);
  const restored = (await S(page, (s) => s.model))!;
  expect(restored.kind === 'fine-tuned' && /restored from this browser/.test(restored.label), `after reload: ${restored.label}`).toBe(true);

  await tab(page, 'export');
  await page.click('[data-testid="reset-weights"]');
  await until(page, (s, kind) => s.model!.kind === kind, 'the reset to the default model', { arg: DEFAULT_KIND });

  // The same films as before the reload.
  const films = HAS_SHARED ? [...sharedFiles().cxr.slice(0, 3), sharedFiles().dicom] : [0, 1, 2].map((i) => join(TMP, `film-${i}.png`));
  await tab(page, 'images');
  await page.setInputFiles('[data-testid="file-input"]', films);
  await until(page, (s, n) => s.images.order.filter((id) => s.images.byId[id].status === 'ready').length === n, 'films to load after reload', { arg: films.length });
  await allAligned(page);

  await tab(page, 'export');
  const wrong = films[0];
  await page.setInputFiles('[data-testid="weights-input"]', [wrong]);
  const err = page.locator('[data-testid="notice-error"]').filter({ hasText: 'no model.json found' });
  await err.first().waitFor({ timeout: 30_000 });
  log(`  wrong file: ${(await err.first().textContent())?.replace(/×$/, '')}`);

  await page.setInputFiles('[data-testid="weights-input"]', [weights]);
  await until(page, (s) => s.model!.kind === 'loaded', 'the weights to load');
  expect((await S(page, (s) => s.model))!.steps, 'the step count travels with the weights').toBe(trained.steps);
  await allAligned(page);
  const after = await paramsByName(page);
  for (const [name, p] of Object.entries(after)) {
    expect(before[name], `no earlier result for ${name}`).toBeDefined();
    expect(p, `${name} after loading the weights back (before: ${before[name]})`).toBe(before[name]);
  }
  const again = unzipSync(readFileSync(await download(page, () => page.click('[data-testid="export-zip"]'))));
  expect(wb.facts.exportZip, 'the first export (previous test)').toBeDefined();
  const first = unzipSync(readFileSync(wb.facts.exportZip!));
  const common = Object.keys(again).filter((k) => k.startsWith('aligned/'));
  expect(common.length, 'second export size').toBe(films.length);
  for (const k of common) expect(Buffer.from(again[k]).equals(Buffer.from(first[k])), `${k} differs after the weights round trip`).toBe(true);
  log(`  ${common.length} films: identical parameters and identical aligned PNGs after reload + load`);
  await shot(page, '12-weights');
});
