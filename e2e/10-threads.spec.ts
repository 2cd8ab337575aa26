/** The page's WASM thread pool: the same 20 real films with every core and with one thread (ms/film). */
import { bootReady, HAS_SHARED, NO_SHARED, S, sharedFiles, until } from './helpers';
import { expect, log, skipIf, test } from './fixtures';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ wb }) => { await wb.ensureOpen(); });

test('the page\'s WASM on every core against one thread: the same 20 films, ms/film', async ({ wb }, testInfo) => {
  skipIf(!HAS_SHARED, NO_SHARED);
  const { cxr } = sharedFiles();
  const cores = await wb.page.evaluate(() => navigator.hardwareConcurrency);
  const timing: Record<number, number> = {};
  const convolutions: Record<number, string | null> = {};
  for (const threads of [cores, 1]) {
    // A fresh page: the thread pool is sized once, when the WASM backend first starts.
    const p = await wb.context.newPage();
    p.setDefaultTimeout(60_000);
    try {
      await p.goto(`${wb.origin}/?backend=wasm&threads=${threads}`);
      await bootReady(p);
      const got = await S(p, (s) => s.backend!.wasmThreads);
      expect(got, `asked for ${threads} WASM threads, the page runs`).toBe(threads);
      // The engine's convolution GEMM runs on as many threads (its helpers are workers of the engine's worker).
      convolutions[threads] = await S(p, (s) => s.backend!.wasmConvolutions);
      expect(convolutions[threads]).toBe(`relaxed-SIMD GEMM, ${threads} thread${threads === 1 ? '' : 's'}`);
      await p.setInputFiles('[data-testid="file-input"]', cxr);
      await until(p, (s) => s.alignment.last && s.alignment.last.count === 20 && !s.alignment.running, '20 films to align', { timeout: 180_000 });
      timing[threads] = (await S(p, (s) => s.alignment.last!.ms)) / 20;
    } finally {
      await p.close();
    }
  }
  wb.facts.pageThreads = timing;
  const fact = `20 ChestX-ray14 films in the page on WASM: ${cores} threads ${timing[cores].toFixed(1)} ms/film, 1 thread ${timing[1].toFixed(1)} ms/film (${(timing[1] / timing[cores]).toFixed(2)}x); convolutions: ${convolutions[cores]} / ${convolutions[1]}`;
  log(`  ${fact}`);
  testInfo.annotations.push({ type: 'fact', description: fact });
});
