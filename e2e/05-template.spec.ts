/** The Template panel: the mean of the loaded films with an adjustable crop, used and given back. */
import { shot, tab, until } from './helpers';
import { test } from './fixtures';

test.describe.configure({ mode: 'serial' });

test.beforeAll(({ wb }) => wb.continuesFrom('03-images'));

test('template: the mean of the loaded films with an adjustable crop', async ({ wb }) => {
  const { page } = wb;
  await tab(page, 'template');
  await page.click('[data-testid="build-mean"]');
  await page.waitForSelector('[data-testid="crop-editor"]');
  await page.fill('[data-testid="box-x"]', '30');
  await until(page, (s) => s.mean && s.mean.box.x === 30, 'the crop box to follow the input', { timeout: 5000 });
  await shot(page, '09-template-mean');
  await page.click('[data-testid="use-mean"]');
  await until(page, (s) => s.template!.info.source === 'mean', 'the mean template', { timeout: 30_000 });
  await page.click('button:has-text("Use shipped")');
  await until(page, (s) => s.template!.info.source === 'shipped', 'the shipped template back', { timeout: 30_000 });
});
