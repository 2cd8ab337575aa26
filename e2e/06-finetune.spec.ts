/** The Fine-tune panel on WASM: a few tiny steps, the loss plot, samples, weights saved in the browser. */
import { allAligned, paramsByName, S, shot, tinyTraining, until } from './helpers';
import { expect, log, test } from './fixtures';

test.describe.configure({ mode: 'serial' });

test.beforeAll(({ wb }) => wb.continuesFrom('03-images'));

test('fine-tune a few steps on WASM: the loss plot gains points and a sample appears', async ({ wb }) => {
  const { page } = wb;
  await tinyTraining(page, { steps: 3, batch: 2, lr: 0.001, loss: 'Perceptual' });
  expect(await page.isVisible('[data-testid="bn-warning"]'), 'no warning that batch 2 at a 32-px input leaves batch norm two values').toBe(true);
  await page.fill('[data-testid="lambda"]', '20');
  const start = Date.now();
  await page.click('[data-testid="train-start"]');
  await page.waitForSelector('[data-testid="loss-chart"] .recharts-line', { timeout: 120_000 });
  await until(page, (s) => s.training.status === 'idle' && s.training.last, 'fine-tuning to finish', { timeout: 180_000 });
  const tr = await S(page, (s) => ({ points: s.training.points.length, samples: s.training.samples.length, last: s.training.last!, parts: Object.keys(s.training.points[0].parts) }));
  log(`  ${tr.last.steps} steps in ${Date.now() - start} ms; ${tr.points} loss points (${tr.parts.join(' + ')}), ${tr.samples} samples`);
  expect(tr.points >= 3 && tr.last.steps === 3, 'the loss plot did not gain a point per step').toBe(true);
  expect(tr.parts, 'the two loss parts are not reported').toHaveLength(2);
  expect(Number(await page.getAttribute('[data-testid="loss-chart"]', 'data-points')), 'chart does not show the points').toBeGreaterThanOrEqual(3);
  expect(await page.locator('[data-testid="sample"]').count(), 'no sample strip entry').toBeGreaterThanOrEqual(1);
  expect(tr.last.saved, 'weights were not saved in the browser').toBe(true);
  await allAligned(page);
  const model = (await S(page, (s) => s.model))!;
  expect(model.kind === 'fine-tuned' && model.locSize === 32, `model after training: ${JSON.stringify(model)}`).toBe(true);
  const moved = Object.values(await paramsByName(page)).some((p) => p !== JSON.stringify([0, 0, 1, 1, 0]));
  expect(moved, 'aligned results did not refresh with the new weights').toBe(true);
  await shot(page, '10-finetune');
  await page.locator('[data-testid="samples"]').scrollIntoViewIfNeeded();
  await shot(page, '10b-finetune-samples');
});

test('"Adapt to my films": teacher frames from the current model, then teacher + consistency + border bands', async ({ wb }) => {
  const { page } = wb;
  await tinyTraining(page, { steps: 2, batch: 4, lr: 0.0001 });
  await expect(page.locator('[data-testid="preset-note"]')).toContainText('teacher');
  expect(await page.isVisible('[data-testid="loss"]'), 'the similarity-only loss choice shows under "Adapt to my films"').toBe(false);
  const before = await S(page, (s) => s.training.points.length);
  await page.click('[data-testid="train-start"]');
  await until(page, (s, n) => s.training.status === 'idle' && !!s.training.last && s.training.points.length > n, 'the adapt run to finish', { arg: before, timeout: 180_000 });
  const tr = await S(page, (s, n) => ({ last: s.training.last!, points: s.training.points.slice(n) }), before);
  log(`  adapt: ${tr.last.steps} steps; losses ${tr.points.map((p) => `${p.loss.toFixed(4)} (${Object.entries(p.parts).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')})`).join('; ')}`);
  expect(tr.last.steps, 'adapt steps').toBe(2);
  expect(Object.keys(tr.points[0].parts).sort(), 'the recipe\'s terms').toEqual(['consistency', 'lncc', 'target']);
  expect(tr.points.every((p) => Number.isFinite(p.loss) && p.loss > 0), 'finite, non-zero losses').toBe(true);
  expect(tr.last.saved, 'weights were not saved in the browser').toBe(true);
  await allAligned(page);
  await shot(page, '10c-finetune-adapt');
});
