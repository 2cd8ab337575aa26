/** Fine-tuning on every backend the browser offers, from the same weights and seed: the same losses and alignment. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { allAligned, clearAll, paramsByName, S, shot, tab, tinyTraining, TMP, until, writeFilm } from './helpers';
import { expect, log, test } from './fixtures';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ wb }) => { await wb.ensureOpen(); });

test('fine-tune 2 tiny steps (batch 4) on WebGPU, WebGL and WASM from the same weights and seed: the same non-zero losses, the same alignment', async ({ wb }, testInfo) => {
  const { page } = wb;
  const runs: Record<string, { losses: number[]; params: Record<string, string> }> = {};
  const backends = ['webgpu', 'webgl', 'wasm'];
  // Four small films: every switch re-aligns what is loaded, at the shipped encoder size, and SwiftShader is slow.
  const dir = join(TMP, 'backends');
  mkdirSync(dir, { recursive: true });
  await clearAll(page);
  await page.setInputFiles('[data-testid="file-input"]', [1.3, 2.9, 4.1, 5.7].map((seed, i) => writeFilm(join(dir, `gpu-${i}.png`), seed)));
  await until(page, (s) => s.images.order.filter((id) => s.images.byId[id].status === 'ready').length === 4, 'the four films');
  for (const b of backends) {
    await tab(page, 'backend');
    const state = await page.getAttribute(`[data-testid="backend-${b}"]`, 'data-state');
    if (state === 'unavailable' || state === 'failed') { log(`  ${b}: not offered in this browser (${state})`); continue; }
    // The same start on every backend: the shipped weights (or the identity model).
    await tab(page, 'export');
    if (await page.isEnabled('[data-testid="reset-weights"]')) {
      await page.click('[data-testid="reset-weights"]');
      await until(page, (s) => s.model!.kind === 'shipped' || s.model!.kind === 'identity', 'the reset to the shipped weights');
    }
    await tab(page, 'backend');
    if ((await S(page, (s) => s.backend!.active)) !== b) await page.click(`[data-testid="use-${b}"]`);
    await until(page, (s, name) => s.backend!.active === name && !s.backendBusy, `the switch to ${b}`, { arg: b, timeout: 120_000 });
    await allAligned(page, 300_000);
    // Batch 4, not 2: at a 32-px encoder input layer4's maps are 1x1, and batch norm over two values makes
    // every step after the first chaotic (two steps part by 3% even between WASM and CPU). lr: the panel's default.
    await tinyTraining(page, { steps: 2, batch: 4, lr: 0.0001, loss: 'Local NCC' });
    expect(await page.isVisible('[data-testid="bn-warning"]'), 'the batch-norm warning shows at batch 4').toBe(false);
    const before = await S(page, (s) => s.training.points.length);
    await page.click('[data-testid="train-start"]');
    await until(page, (s, n) => (s.training.status === 'idle' && s.training.last && s.training.points.length >= n) || s.training.error, `fine-tuning on ${b}`, { arg: before + 2, timeout: 300_000 });
    const tr = await S(page, (s, n) => ({ error: s.training.error, failure: s.training.last?.failure, steps: s.training.last?.steps, losses: s.training.points.slice(n).map((p) => p.loss) }), before);
    expect(!tr.error && !tr.failure, `fine-tuning on ${b} failed: ${tr.error ?? tr.failure?.message}`).toBe(true);
    expect(tr.steps, `${b}: steps`).toBe(2);
    await allAligned(page, 300_000);
    runs[b] = { losses: tr.losses, params: await paramsByName(page) };
    const fact = `${b}: step losses ${tr.losses.map((l) => l.toFixed(6)).join(' / ')}`;
    log(`  ${fact}`);
    testInfo.annotations.push({ type: 'fact', description: fact });
    wb.facts.finetune[b] = tr.losses;
  }
  const names = Object.keys(runs);
  expect(names.includes('wasm') && names.length >= 2, `fine-tuning ran on ${names.join(', ') || 'nothing'}: nothing to compare`).toBe(true);
  const ref = runs.wasm;
  for (const b of names) {
    for (const l of runs[b].losses) expect(l > 0 && Number.isFinite(l), `${b}: loss ${l}`).toBe(true);
    if (b === 'wasm') continue;
    runs[b].losses.forEach((l, i) => {
      const rel = Math.abs(l - ref.losses[i]) / Math.abs(ref.losses[i]);
      expect(rel, `${b} step ${i + 1} loss ${l} vs WASM ${ref.losses[i]} (relative ${rel.toExponential(2)})`).toBeLessThan(1e-3);
    });
    let worst = 0;
    for (const [film, p] of Object.entries(ref.params)) {
      const a = JSON.parse(runs[b].params[film]) as number[];
      (JSON.parse(p) as number[]).forEach((v, k) => { worst = Math.max(worst, Math.abs(v - a[k])); });
    }
    log(`  ${b} vs WASM: largest difference in the four films' parameters after fine-tuning ${worst.toExponential(2)}`);
    expect(worst, `${b} aligns the films differently from WASM after the same fine-tuning (largest parameter difference)`).toBeLessThan(2e-3);
  }
  await tab(page, 'finetune');
  await shot(page, '14-finetune-backends');
  // Later scenarios start from the shipped weights on WASM, as before.
  await tab(page, 'export');
  if (await page.isEnabled('[data-testid="reset-weights"]')) await page.click('[data-testid="reset-weights"]');
  await until(page, (s) => (s.model!.kind === 'shipped' || s.model!.kind === 'identity') && s.backend!.active === 'wasm', 'the reset after the backend runs');
  await allAligned(page, 300_000);
});
