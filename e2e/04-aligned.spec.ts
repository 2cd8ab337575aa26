/** The Aligned panel: pair cards, worst-first sort, and the compare view in its three modes. */
import { ready, shot, tab } from './helpers';
import { expect, test } from './fixtures';

test.describe.configure({ mode: 'serial' });

test.beforeAll(({ wb }) => wb.continuesFrom('03-images'));

test('aligned pairs and the compare view: side by side, blend, slider, outline, five parameters', async ({ wb }) => {
  const { page } = wb;
  await tab(page, 'aligned');
  const n = await ready(page);
  expect(await page.locator('[data-testid="pair"]').count(), 'a pair card is missing').toBe(n);
  await page.selectOption('[data-testid="sort"]', 'worst');
  const scores = await page.locator('[data-testid="pair"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-score'))));
  expect(scores.every((v, i) => i === 0 || scores[i - 1] >= v), 'worst-first sort is not ordered by score').toBe(true);
  await page.locator('[data-testid="pair"]').first().click();
  await page.waitForSelector('[data-testid="compare-aligned"]');
  await page.waitForSelector('[data-testid="outline"]');
  const params = JSON.parse((await page.getAttribute('[data-testid="params"]', 'data-params'))!) as number[];
  expect(params, 'five parameters are not shown').toHaveLength(5);
  expect(await page.locator('.param').count(), 'parameter tiles missing').toBe(6);
  await shot(page, '06-aligned-compare');
  const firstId = await page.getAttribute('[data-testid="compare"]', 'data-id');
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction((id) => document.querySelector('[data-testid="compare"]')?.getAttribute('data-id') !== id, firstId);
  await page.click('[data-testid="compare-mode"] button:has-text("Blend")');
  await page.waitForSelector('input[aria-label="Blend"]');
  await shot(page, '07-compare-blend');
  await page.click('[data-testid="compare-mode"] button:has-text("Slider")');
  await page.fill('input[aria-label="Slider position"]', '35');
  await shot(page, '08-compare-slider');
  await page.click('[data-testid="compare-mode"] button:has-text("Side by side")');
  await page.click('button[aria-label="Close compare view"]');
  await page.selectOption('[data-testid="sort"]', 'order');
});
