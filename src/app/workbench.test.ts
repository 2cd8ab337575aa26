/**
 * The page's flows without a browser: the Workbench drives an in-process
 * runner (the real dispatcher and core on WASM) and records into the real
 * store; object URLs and downloads are captured by a stub Platform.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../testing/shared-data';
import { Workbench, type Platform } from './workbench';
import { createAppStore } from './store';
import { engineHandlers } from './worker/handlers';
import type { Runner } from './worker/runner';
import { inProcessRunner } from './worker/in-process';
import { MemoryWeightStore } from './worker/weight-store';

const saved: { name: string; bytes: Uint8Array }[] = [];
let urls = 0;
const platform: Platform = {
  objectUrl: () => `mem:${++urls}`,
  revokeUrl: () => undefined,
  save: (name, parts) => {
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let o = 0;
    for (const p of parts) { bytes.set(p, o); o += p.byteLength; }
    saved.push({ name, bytes });
  },
  now: () => performance.now(),
};

const store = createAppStore();
const s = () => store.getState();
const handlers = engineHandlers({
  fetchAsset: async (p) => (existsSync(join(REPO_ROOT, p)) ? new Uint8Array(readFileSync(join(REPO_ROOT, p))) : null),
  weightStore: new MemoryWeightStore(),
});
const wb = new Workbench(store, inProcessRunner(handlers), platform);
const paramsOf = () => Object.fromEntries(s().images.order.map((id) => [s().images.byId[id].name, s().images.byId[id].result?.params]));

beforeAll(async () => {
  await wb.start(['wasm']);
});

describe('workbench flows (in-process runner)', () => {
  it('starts on the identity model with the shipped template', () => {
    expect(s().boot.status).toBe('ready');
    expect(s().backend?.active).toBe('wasm');
    expect(s().model?.kind).toBe(existsSync(join(REPO_ROOT, 'models/default/model.json')) ? 'shipped' : 'identity');
    expect(s().template?.info.source).toBe('shipped');
  });

  it('"Try it" loads demo films and aligns them automatically; sidecar files are skipped with a notice', async () => {
    await wb.tryDemo(4);
    expect(s().images.order).toHaveLength(4);
    expect(s().loading.running).toBe(false);
    expect(s().alignment.last).toMatchObject({ count: 4, cancelled: false, backend: 'wasm' });
    for (const id of s().images.order) expect(s().images.byId[id].result?.alignedUrl).toMatch(/^mem:/);
    await wb.addFiles([{ name: 'folder/.DS_Store', blob: new Blob(['x']) }]);
    expect(s().notices.at(-1)?.text).toMatch(/Skipped 1 file/);
    expect(s().images.order).toHaveLength(4);
  });

  it('opens the compare view for a film', async () => {
    const id = s().images.order[0];
    await wb.select(id);
    expect(s().view).toMatchObject({ id, frame: { width: 256, height: 320 } });
    expect(s().view!.alignedGray.length).toBe(256 * 320);
    await wb.select(null);
  });

  it('builds a template from the mean and goes back to the shipped one, rescoring each time', async () => {
    await wb.buildMean();
    expect(s().mean?.count).toBe(4);
    await wb.useMeanTemplate();
    expect(s().template?.info.source).toBe('mean');
    await wb.resetTemplate();
    expect(s().template?.info.source).toBe('shipped');
  });

  it('fine-tunes, plots every step, shows a sample, then re-aligns with the new weights', async () => {
    s().formChanged({ steps: 2, batchSize: 2, lr: 1e-3, locSize: 32, frame: { width: 32, height: 40 }, loss: 'lncc' });
    await wb.train();
    const t = s().training;
    expect(t.status).toBe('idle');
    expect(t.last).toMatchObject({ steps: 2, stopped: false, saved: true });
    expect(t.points).toHaveLength(2);
    expect(t.samples.length).toBeGreaterThanOrEqual(1);
    expect(s().model).toMatchObject({ kind: 'fine-tuned', locSize: 32 });
    expect(s().alignment.last?.count).toBe(4);
    expect(Object.values(paramsOf()).some((p) => JSON.stringify(p) !== '[0,0,1,1,0]')).toBe(true);
  });

  it('pauses, resumes and stops a fine-tune; the steps done are kept', async () => {
    s().formChanged({ steps: 200, batchSize: 1 });
    const stepsBefore = s().model?.steps ?? 0;
    const running = wb.train();
    const until = async (cond: () => boolean) => { while (!cond()) await new Promise((r) => setTimeout(r, 10)); };
    const start = s().training.points.length;
    await until(() => s().training.points.length > start);
    wb.pauseTraining();
    await until(() => s().training.status === 'paused');
    const frozen = s().training.points.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(s().training.points.length).toBe(frozen);
    wb.resumeTraining();
    await until(() => s().training.points.length > frozen);
    wb.stopTraining();
    await running;
    expect(s().training.last?.stopped).toBe(true);
    expect(s().training.last!.steps).toBeLessThan(200);
    expect(s().model?.steps).toBe(stepsBefore + s().training.last!.steps);
  });

  it('loads a template image from a file', async () => {
    const { files } = await wb.runner.call('demo', { count: 1, seed: 3 }).done;
    await wb.loadTemplateFile({ name: 'my-template.png', blob: new Blob([files[0].bytes as BlobPart]) });
    expect(s().template?.info).toMatchObject({ source: 'file', label: 'loaded from my-template.png' });
    await wb.loadTemplateFile({ name: 'broken.png', blob: new Blob(['not an image']) });
    expect(s().notices.at(-1)?.text).toMatch(/Template not changed: broken\.png: not a PNG, JPEG or DICOM/);
    await wb.resetTemplate();
  });

  it('exports the aligned zip and the weights; a wrong weights file is refused; the right one restores the output', async () => {
    await wb.exportAligned();
    const zip = unzipSync(saved.at(-1)!.bytes);
    expect(Object.keys(zip).filter((k) => k.startsWith('aligned/'))).toHaveLength(4);
    expect(Object.keys(JSON.parse(strFromU8(zip['transforms.json'])).transforms)).toHaveLength(4);

    const before = paramsOf();
    const history = s().training.points.length;
    await wb.exportWeights();
    const weights = saved.at(-1)!;
    expect(weights.name).toBe('cxr-align-weights.zip');

    await wb.resetWeights();
    expect(s().model?.kind).not.toBe('fine-tuned');
    expect(s().training.points).toHaveLength(0);

    expect(await wb.loadWeights([{ name: 'film.png', blob: new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47])]) }])).toBe(false);
    expect(s().notices.at(-1)).toMatchObject({ level: 'error' });
    expect(s().notices.at(-1)!.text).toMatch(/film\.png: no model\.json found/);

    expect(await wb.loadWeights([{ name: weights.name, blob: new Blob([weights.bytes as BlobPart]) }])).toBe(true);
    expect(s().model?.kind).toBe('loaded');
    expect(s().training.points).toHaveLength(history);
    expect(paramsOf()).toEqual(before);
  });

  it('invalidating during a running alignment cancels it and re-aligns every film exactly once; no old result lands', async () => {
    const runner = wb.runner as { call: Runner['call'] };
    const call = runner.call.bind(wb.runner);
    const aligns: { ids: string[]; controls: string[]; ended: boolean; alignsBefore: number }[] = [];
    let invalidated: Promise<void> | null = null;
    let mark = 0;
    const generation = s().alignment.generation;
    runner.call = ((method, params, onProgress, transfer) => {
      if (method !== 'align') return call(method, params, onProgress, transfer);
      const rec = { ids: (params as { ids: string[] }).ids, controls: [] as string[], ended: false, alignsBefore: aligns.filter((a) => a.ended).length };
      aligns.push(rec);
      const job = call(method, params, (e) => {
        // The first film of the first alignment is in: the weights "change" now, mid-job.
        if (!invalidated) { mark = urls; invalidated = wb.realignAll(); }
        onProgress?.(e);
      }, transfer);
      void job.done.finally(() => { rec.ended = true; });
      return { id: job.id, done: job.done, control: (a) => { rec.controls.push(a); job.control(a); } };
    }) as Runner['call'];
    try {
      await wb.tryDemo(20);
      await invalidated;
    } finally {
      runner.call = call;
    }
    const ready = wb.readyIds();
    expect(ready).toHaveLength(24);
    expect(aligns[0].ids).toHaveLength(20);
    expect(aligns[0].controls).toContain('cancel');
    expect(s().alignment.generation).toBe(generation + 1);
    // After the invalidation: every film once, and only once the cancelled job had ended.
    const after = aligns.slice(1);
    expect(after.flatMap((a) => a.ids).sort()).toEqual([...ready].sort());
    for (const a of after) expect(a.alignsBefore).toBeGreaterThanOrEqual(1);
    // Every result on show was made after the invalidation (the old job's late ones were dropped).
    for (const id of ready) expect(Number(s().images.byId[id].result?.alignedUrl.slice(4))).toBeGreaterThan(mark);
    expect(s().alignment.last).toMatchObject({ count: 24, cancelled: false });
  });
});
