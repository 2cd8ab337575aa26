/**
 * Measures the Fine-tune panel's presets as a user would meet them: the
 * workbench's own worker handlers (the code the browser tab runs), driven in
 * Node on threaded WASM, fine-tune the shipped model on a folder of films with
 * each preset and the panel's default settings; each result is written as a
 * model folder for `cxr-align eval`. Masks are never read: this is a user
 * adapting the model to their own films.
 *
 *   npx tsx scripts/model/finetune-presets.ts --images ../shared/data/masked/images --out runs/presets [--steps 300] [--lr 1e-4] [--presets adapt,similarity]
 *   npx cxr-align eval --data ../shared/data/masked --model runs/presets/adapt --patients ../shared/data/manifest.csv
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { unzipSync } from 'fflate';
import { defaultWasmThreads, prepareNodeWasm } from '../../cli/wasm-threads';
import { DEFAULT_FORM } from '../../src/app/store';
import { engineHandlers } from '../../src/app/worker/handlers';
import { inProcessRunner } from '../../src/app/worker/in-process';
import type { TrainPreset } from '../../src/app/worker/protocol';
import { MemoryWeightStore } from '../../src/app/worker/weight-store';

const ROOT = resolve(import.meta.dirname, '../..');
const { values } = parseArgs({
  options: {
    images: { type: 'string', default: join(ROOT, '../shared/data/masked/images') },
    out: { type: 'string', default: join(ROOT, 'runs/presets') },
    steps: { type: 'string', default: String(DEFAULT_FORM.steps) },
    presets: { type: 'string', default: 'adapt,similarity' },
    lr: { type: 'string', default: String(DEFAULT_FORM.lr) },
  },
});

async function fetchFromRepo(path: string): Promise<Uint8Array | null> {
  try { return new Uint8Array(readFileSync(join(ROOT, path))); } catch { return null; }
}

await prepareNodeWasm(defaultWasmThreads());
const names = readdirSync(values.images!).filter((n) => /\.(png|jpe?g|dcm)$/i.test(n)).sort();
const rows: string[] = [];
for (const preset of values.presets!.split(',') as TrainPreset[]) {
  const runner = inProcessRunner(engineHandlers({ fetchAsset: fetchFromRepo, weightStore: new MemoryWeightStore() }));
  const init = await runner.call('init', { order: ['wasm'] }).done;
  const files = names.map((n, i) => ({ id: `f${i}`, name: n, blob: new Blob([readFileSync(join(values.images!, n))]) }));
  const loaded = await runner.call('addFiles', { files }).done;
  const t0 = performance.now();
  let teacherAt = 0;
  let last = '';
  const form = { ...DEFAULT_FORM, preset, steps: Number(values.steps), lr: Number(values.lr), maxImages: files.length };
  const r = await runner.call('train', { ...form, ids: files.map((f) => f.id) }, (e) => {
    if (e.kind === 'preparing' && e.phase === 'teacher' && e.done === e.total) teacherAt = performance.now();
    if (e.kind === 'step' && (e.point.step % 50 === 0)) {
      last = `${preset}: step ${e.point.step} loss ${e.point.loss.toFixed(4)} (${Object.entries(e.point.parts).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')})`;
      console.error(last);
    }
  }).done;
  const minutes = (performance.now() - t0) / 60_000;
  const { bytes } = await runner.call('exportWeights', {}).done;
  const dir = join(values.out!, preset);
  mkdirSync(dir, { recursive: true });
  for (const [name, b] of Object.entries(unzipSync(bytes))) writeFileSync(join(dir, name), b);
  const row = `${preset}: ${loaded.decoded} films, ${r.steps} steps from ${init.model.label} (${init.model.steps ?? 0} steps), `
    + `${minutes.toFixed(1)} min${teacherAt ? ` (teacher ${((teacherAt - t0) / 60_000).toFixed(1)} min)` : ''} → ${dir}`;
  console.log(row);
  rows.push(row);
  runner.terminate();
}
console.log(rows.join('\n'));
