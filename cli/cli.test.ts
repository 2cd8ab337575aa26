/**
 * The CLI end to end, in-process, on a handful of real ChestX-ray14 films
 * (../shared/data/cxr14/images; skipped with a message when it is absent).
 * Sizes are kept small (64 px encoder, small frames) so the file runs in well
 * under a minute on two cores.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlignmentModel, BORDER_SCALES, decodeImage, embedding, encodePng, frameDisagreementPx, resizeArea, defaultStnConfig, modelFiles, paramsToMatrix, serializeModel, tf, warpImage,
  type AffineMatrix,
} from '../src/engine/index';
import { sharedPath } from '../src/testing/shared-data';
import { alignCommand, runAlign } from './commands/align';
import { canonicalCommand } from './commands/canonical';
import { trainCommand, type TrainOptions } from './commands/train';
import { parseArgs, parseSize, UsageError } from './args';
import { collectInputs } from './files';
import { setupBackend } from './backend';
import { silentSink } from './progress';

const CXR14 = sharedPath('data/cxr14/images');
const HAS_CXR14 = existsSync(CXR14);
if (!HAS_CXR14) console.warn(`[cli tests] ${CXR14} is absent: the CLI end-to-end tests are skipped.`);

const tmp = mkdtempSync(join(tmpdir(), 'cxr-align-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const quiet = { sink: silentSink, log: () => {} };

/** A folder of `n` real films (+ optionally one corrupt file). */
function filmFolder(name: string, n: number, corrupt = false): { dir: string; films: string[] } {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'sub'), { recursive: true });
  const films = readdirSync(CXR14).filter((f) => f.endsWith('.png')).sort().slice(0, n);
  films.forEach((f, i) => copyFileSync(join(CXR14, f), join(dir, i % 2 ? 'sub' : '', f)));
  if (corrupt) writeFileSync(join(dir, 'sub', 'broken.png'), readFileSync(join(CXR14, films[0])).subarray(0, 300));
  return { dir, films };
}

describe('argument parsing', () => {
  it('parses sizes, numbers, switches and refuses unknown options', () => {
    expect(parseSize('320x256')).toEqual({ width: 320, height: 256 });
    expect(() => parseSize('320')).toThrow(UsageError);
    const specs = { out: { type: 'string', required: true, help: '' }, n: { type: 'int', default: 3, help: '' }, q: { type: 'boolean', help: '' } } as const;
    const a = parseArgs(['x.png', '--out=o', '--n', '5', '--q', 'y.png'], specs);
    expect(a.positionals).toEqual(['x.png', 'y.png']);
    expect(a.values).toMatchObject({ out: 'o', n: 5, q: true });
    expect(() => parseArgs(['--outt', 'o'], specs)).toThrow(/unknown option --outt/);
    expect(() => parseArgs([], specs)).toThrow(/--out is required/);
    expect(() => parseArgs(['--out', 'o', '--n', '-1'], specs)).toThrow(/whole number/);
  });
});

describe.skipIf(!HAS_CXR14)('cxr-align CLI on real films (../shared/data/cxr14)', () => {
  let modelDir: string;

  beforeAll(async () => {
    await setupBackend('wasm');
    // A small model whose head predicts a clearly non-identity transform, so the
    // test can tell "matrices applied" from "plain resize".
    const m = new AlignmentModel(defaultStnConfig({ locSize: 64, frame: { width: 48, height: 60 }, seed: 5, margin: { left: 0.1, right: 0.1, top: 0.1, bottom: 0.05 } }));
    m.params.assign('head.fc2.weight', tf.randomNormal([256, 5], 0, 0.02, 'float32', 2));
    m.params.assign('head.fc2.bias', tf.tensor1d([0.15, -0.1, -0.4, -0.3, 0.2]));
    modelDir = join(tmp, 'model');
    mkdirSync(modelDir);
    for (const [name, bytes] of modelFiles(await serializeModel(m))) writeFileSync(join(modelDir, name), bytes);
    m.dispose();
  });

  it('align: writes one PNG per input and transforms whose matrices reproduce them', async () => {
    const { dir, films } = filmFolder('in-a', 3);
    const out = join(tmp, 'out-a');
    const s = await alignCommand({ inputs: [dir], out, model: modelDir, batch: 2, ...quiet });
    expect(s.failed).toEqual([]);
    expect(s.aligned).toBe(3);
    const t = JSON.parse(readFileSync(join(out, 'transforms.json'), 'utf8')) as {
      frame: { width: number; height: number }; transforms: Record<string, AffineMatrix>; params: Record<string, number[]>;
    };
    expect(t.frame).toEqual({ width: 48, height: 60 });
    expect(Object.keys(t.transforms)).toHaveLength(3);
    const csv = readFileSync(join(out, 'transforms.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(4);
    for (const [i, f] of films.entries()) {
      const rel = i % 2 ? `sub/${f}` : f;
      const key = `${dir}/${rel}`;
      const matrix = t.transforms[key];
      expect(matrix, key).toBeDefined();
      expect(Math.abs(matrix[0][2])).toBeGreaterThan(0.05); // not the identity
      const written = decodeImage(new Uint8Array(readFileSync(join(out, rel))), rel);
      expect([written.width, written.height]).toEqual([48, 60]);
      const input = decodeImage(new Uint8Array(readFileSync(join(dir, rel))), rel);
      const expected = await warpImage(input, matrix, t.frame);
      let max = 0;
      let sum = 0;
      expected.data.forEach((v, k) => { const d = Math.abs(v - written.data[k]); max = Math.max(max, d); sum += d; });
      expect(max).toBeLessThanOrEqual(1 / 255 + 1e-6);
      expect(sum / expected.data.length).toBeLessThan(1e-3);
      const row = csv.find((l) => l.startsWith(`${key},`))!.split(',').slice(1, 7).map(Number);
      expect(row).toEqual(matrix.flat());
      // params are the same transform as (tx, ty, sx, sy, θ).
      paramsToMatrix(t.params[key]).flat().forEach((v, k) => expect(v).toBeCloseTo(matrix.flat()[k], 9));
    }
  });

  it('align --size original keeps each input\'s resolution', async () => {
    const film = join(CXR14, readdirSync(CXR14).filter((f) => f.endsWith('.png')).sort()[5]);
    const out = join(tmp, 'out-orig');
    const s = await alignCommand({ inputs: [film], out, model: modelDir, size: 'original', ...quiet });
    expect(s.aligned).toBe(1);
    const input = decodeImage(new Uint8Array(readFileSync(film)), film);
    const written = decodeImage(new Uint8Array(readFileSync(join(out, basename(film)))), film);
    expect([written.width, written.height]).toEqual([input.width, input.height]);
    const t = JSON.parse(readFileSync(join(out, 'transforms.json'), 'utf8'));
    expect(t.frame).toBe('original');
    expect(t.sizes[film]).toEqual([input.width, input.height]);
    const expected = await warpImage(input, t.transforms[film], { width: input.width, height: input.height });
    let max = 0;
    expected.data.forEach((v, k) => { max = Math.max(max, Math.abs(v - written.data[k])); });
    expect(max).toBeLessThanOrEqual(1 / 255 + 1e-6);
  });

  it('align --refine: refined matrices still reproduce the written PNGs (films travel to the main thread and back)', async () => {
    const { dir } = filmFolder('in-r', 2);
    const out = join(tmp, 'out-r');
    const plain = await alignCommand({ inputs: [dir], out: join(tmp, 'out-r0'), model: modelDir, ...quiet });
    const s = await alignCommand({ inputs: [dir], out, model: modelDir, refine: 3, ...quiet });
    expect(s.aligned).toBe(2);
    const t = JSON.parse(readFileSync(s.transformsJson, 'utf8'));
    const t0 = JSON.parse(readFileSync(plain.transformsJson, 'utf8'));
    for (const key of Object.keys(t.transforms)) {
      expect(t.transforms[key]).not.toEqual(t0.transforms[key]); // refinement moved it
      const rel = key.slice(dir.length + 1);
      const input = decodeImage(new Uint8Array(readFileSync(join(dir, rel))), rel);
      const written = decodeImage(new Uint8Array(readFileSync(join(out, rel))), rel);
      const expected = await warpImage(input, t.transforms[key], t.frame);
      let max = 0;
      expected.data.forEach((v, k) => { max = Math.max(max, Math.abs(v - written.data[k])); });
      expect(max).toBeLessThanOrEqual(1 / 255 + 1e-6);
    }
  });

  it('align --networks 2: a worker\'s copy of the model predicts every other batch, with the same results as one copy', async () => {
    const { dir } = filmFolder('in-n', 4);
    for (const refine of [0, 2]) {
      const one = await alignCommand({ inputs: [dir], out: join(tmp, `out-n1-${refine}`), model: modelDir, batch: 1, networks: 1, refine, ...quiet });
      const messages: string[] = [];
      const two = await alignCommand({ inputs: [dir], out: join(tmp, `out-n2-${refine}`), model: modelDir, batch: 1, networks: 2, refine, sink: silentSink, log: (m) => messages.push(m) });
      expect(messages.join('\n')).toContain('2 network copies');
      expect(two.aligned).toBe(4);
      const a = JSON.parse(readFileSync(one.transformsJson, 'utf8')).transforms as Record<string, AffineMatrix>;
      const b = JSON.parse(readFileSync(two.transformsJson, 'utf8')).transforms as Record<string, AffineMatrix>;
      expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
      for (const key of Object.keys(a)) b[key].flat().forEach((v, k) => expect(v, key).toBeCloseTo(a[key].flat()[k], 5));
    }
  });

  it('align with a model that sees the content: a film pasted into black canvases keeps its frame on the film (one copy, --networks 2, --refine)', async () => {
    const m = new AlignmentModel(defaultStnConfig({ locSize: 64, frame: { width: 48, height: 60 }, seed: 5, inputCrop: 'content' }));
    m.params.assign('head.fc2.weight', tf.randomNormal([256, 5], 0, 0.02, 'float32', 2));
    m.params.assign('head.fc2.bias', tf.tensor1d([0.15, -0.1, -0.4, -0.3, 0.2]));
    const contentDir = join(tmp, 'model-content');
    mkdirSync(contentDir);
    for (const [name, bytes] of modelFiles(await serializeModel(m))) writeFileSync(join(contentDir, name), bytes);
    m.dispose();
    const dir = join(tmp, 'in-canvas');
    mkdirSync(dir);
    const name = readdirSync(CXR14).filter((f) => f.endsWith('.png')).sort()[2];
    const film = decodeImage(new Uint8Array(readFileSync(join(CXR14, name))), name);
    writeFileSync(join(dir, 'bare.png'), encodePng(film));
    const embeddings = BORDER_SCALES.map((s) => embedding(film, s));
    embeddings.forEach((e, k) => {
      const data = new Float32Array(e.size.width * e.size.height);
      const x = (e.size.width - film.width) / 2, y = (e.size.height - film.height) / 2;
      for (let i = 0; i < film.height; i++) data.set(film.data.subarray(i * film.width, (i + 1) * film.width), (y + i) * e.size.width + x);
      writeFileSync(join(dir, `canvas${k}.png`), encodePng({ width: e.size.width, height: e.size.height, data }));
    });
    for (const o of [{ networks: 1, refine: 0 }, { networks: 2, refine: 0 }, { networks: 1, refine: 3 }]) {
      const s = await alignCommand({ inputs: [dir], out: join(tmp, `out-canvas-${o.networks}-${o.refine}`), model: contentDir, batch: 2, ...o, ...quiet });
      expect(s.aligned).toBe(4);
      const t = JSON.parse(readFileSync(s.transformsJson, 'utf8')).transforms as Record<string, AffineMatrix>;
      const bare = t[join(dir, 'bare.png')];
      expect(Math.abs(bare[0][2])).toBeGreaterThan(0.05);
      embeddings.forEach((e, k) => {
        // The canvas's frame, taken back onto the film through the embedding, is the bare film's.
        expect(frameDisagreementPx(bare, t[join(dir, `canvas${k}.png`)], e.matrix, { width: 256, height: 320 }), `${JSON.stringify(o)} canvas ${k}`).toBeLessThan(0.05);
      });
    }
  });

  it('align: a corrupt file is reported by name and reason, the others are aligned, exit code 1', async () => {
    const { dir } = filmFolder('in-c', 3, true);
    const out = join(tmp, 'out-c');
    const messages: string[] = [];
    const s = await alignCommand({ inputs: [dir], out, model: modelDir, sink: silentSink, log: (m) => messages.push(m) });
    expect(s.aligned).toBe(3);
    expect(s.failed).toHaveLength(1);
    expect(s.failed[0].key).toBe(`${dir}/sub/broken.png`);
    expect(s.failed[0].reason).toMatch(/PNG|truncated|corrupt/i);
    expect(messages.join('\n')).toMatch(/aligned 3 of 4 file\(s\).*1 failed/);
    expect(messages.join('\n')).toContain('sub/broken.png');
    expect(collectInputs([dir]).files).toHaveLength(4);
    expect(readdirSync(join(out, 'sub'))).toHaveLength(1);
    expect(existsSync(join(out, 'sub', 'broken.png'))).toBe(false);
    const t = JSON.parse(readFileSync(join(out, 'transforms.json'), 'utf8'));
    expect(Object.keys(t.transforms)).toHaveLength(3);
    expect(t.failed[`${dir}/sub/broken.png`]).toBe(s.failed[0].reason);
    // Through the argv entry: the exit code says something failed.
    expect(await runAlign([dir, '--out', join(tmp, 'out-c2'), '--model', modelDir, '--quiet'])).toBe(1);
  });

  it('train: JSONL, sample PNG, checkpoint; resume continues with the same losses as an uninterrupted run', async () => {
    const { dir } = filmFolder('in-t', 6);
    const base: Omit<TrainOptions, 'out'> = {
      images: dir, steps: 4, batch: 4, lr: 1e-3, locSize: 64, frame: { width: 32, height: 40 }, modelFrame: { width: 48, height: 60 },
      sampleEvery: 2, checkpointEvery: 0, seed: 3, ...quiet,
    };
    const full = await trainCommand({ ...base, out: join(tmp, 'run-full') });
    expect(full.reports.map((r) => r.step)).toEqual([0, 1, 2, 3]);
    expect(full.reports.every((r) => Number.isFinite(r.loss) && !r.skipped)).toBe(true);
    const lines = readFileSync(full.logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.step)).toEqual([0, 1, 2, 3]);
    expect(lines[0]).toMatchObject({ loss: full.reports[0].loss, lr: 1e-3 });
    expect(Object.keys(lines[0])).toEqual(expect.arrayContaining(['parts', 'ms', 'gradNorm']));
    expect(full.samples.map((p) => basename(p))).toEqual(['step-000000.png', 'step-000002.png', 'step-000004.png']);
    const strip = decodeImage(new Uint8Array(readFileSync(full.samples[1])), 'sample');
    expect([strip.width, strip.height]).toEqual([3 * 32 + 4, 40]);
    expect(existsSync(join(full.checkpointDir, 'model.json'))).toBe(true);
    expect(existsSync(join(full.modelDir, 'model.json'))).toBe(true);
    expect(existsSync(join(full.modelDir, 'template.png'))).toBe(true);

    // Interrupted after two steps (as Ctrl-C does), then resumed.
    const out = join(tmp, 'run-split');
    const abort = new AbortController();
    const first = await trainCommand({ ...base, out, signal: abort.signal, onStep: (r) => { if (r.step === 1) abort.abort(); } });
    expect(first.interrupted).toBe(true);
    expect(first.step).toBe(2);
    const ck = JSON.parse(readFileSync(join(first.checkpointDir, 'model.json'), 'utf8'));
    expect(ck.userDefinedMetadata.train.step).toBe(2);
    const second = await trainCommand({ ...base, out, resume: out });
    expect(second.reports.map((r) => r.step)).toEqual([2, 3]);
    expect(second.reports[0].loss).toBe(full.reports[2].loss);
    expect(second.reports[1].loss).toBe(full.reports[3].loss);
    expect(second.reports[1].gradNorm).toBe(full.reports[3].gradNorm);
    // The log of the resumed run reads like the uninterrupted one's.
    const resumedLog = readFileSync(second.logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(resumedLog.map((l) => [l.step, l.loss])).toEqual(lines.map((l) => [l.step, l.loss]));
  });

  it('train --targets: learns from align\'s transforms.json (margin undone), refuses a file naming no training film', async () => {
    const { dir } = filmFolder('in-tg', 4);
    // The teacher is the init model itself, with a head that ignores the features (so batch-norm's training
    // mode cannot change its output): at step 0 the target term is 0 — unless the margin were mishandled.
    const m = new AlignmentModel(defaultStnConfig({ locSize: 64, frame: { width: 48, height: 60 }, seed: 5, margin: { left: 0.1, right: 0.1, top: 0.1, bottom: 0.05 } }));
    m.params.assign('head.fc2.bias', tf.tensor1d([0.15, -0.1, -0.4, -0.3, 0.2]));
    const teacherDir = join(tmp, 'model-tg');
    mkdirSync(teacherDir);
    for (const [name, bytes] of modelFiles(await serializeModel(m))) writeFileSync(join(teacherDir, name), bytes);
    m.dispose();
    const teacher = await alignCommand({ inputs: [dir], out: join(tmp, 'out-tg'), model: teacherDir, ...quiet });
    const base: Omit<TrainOptions, 'out'> = {
      images: dir, steps: 1, batch: 4, lr: 1e-9, frame: { width: 32, height: 40 }, init: teacherDir, augment: false,
      // The student's margin differs from the teacher's: the file records the teacher's, which is what must be undone.
      margin: { left: 0.3, right: 0.2, top: 0.25, bottom: 0.1 }, sampleEvery: 0, checkpointEvery: 0, targetWeight: 5, ...quiet,
    };
    const same = await trainCommand({ ...base, out: join(tmp, 'run-tg'), targets: teacher.transformsJson });
    const t = JSON.parse(readFileSync(teacher.transformsJson, 'utf8'));
    expect(t.margin).toEqual({ left: 0.1, right: 0.1, top: 0.1, bottom: 0.05 });
    const idFile = join(tmp, 'identity-targets.json');
    writeFileSync(idFile, JSON.stringify({ transforms: Object.fromEntries(Object.keys(t.transforms).map((k) => [k, [[1, 0, 0], [0, 1, 0]]])) }));
    const other = await trainCommand({ ...base, out: join(tmp, 'run-tg2'), targets: idFile });
    console.log(`step-0 target term: own matrices ${same.reports[0].parts.target.toExponential(2)}, identity ${other.reports[0].parts.target.toExponential(2)}`);
    expect(same.reports[0].parts.target).toBeLessThan(1e-9);
    expect(other.reports[0].parts.target).toBeGreaterThan(0.01);
    expect(same.reports[0].loss).toBeCloseTo(same.reports[0].parts.lncc + 5 * same.reports[0].parts.target, 5);
    writeFileSync(idFile, JSON.stringify({ transforms: { 'elsewhere.png': [[1, 0, 0], [0, 1, 0]] } }));
    await expect(trainCommand({ ...base, out: join(tmp, 'run-tg3'), targets: idFile })).rejects.toThrow(/none of its 1 names matches a training film/);
    // From --init, the model's encoder size and scale range stay unless given; given, the saved model has them.
    const config = (run: string) => JSON.parse(readFileSync(join(tmp, run, 'model', 'model.json'), 'utf8')).config;
    expect(config('run-tg')).toMatchObject({ locSize: 64, bounds: { scale: [0.5, 1.5] } });
    await trainCommand({ ...base, out: join(tmp, 'run-tg4'), locSize: 48, scaleRange: [0.4, 1.5] });
    expect(config('run-tg4')).toMatchObject({ locSize: 48, bounds: { scale: [0.4, 1.5] } });
  });

  it('canonical: writes the mean and the lung crop', async () => {
    const out = join(tmp, 'canon', 'chest.png');
    const r = await canonicalCommand({ images: CXR14, n: 12, out, meanSize: { width: 128, height: 128 }, ...quiet });
    expect(r.used).toBe(12);
    const crop = decodeImage(new Uint8Array(readFileSync(out)), out);
    const mean = decodeImage(new Uint8Array(readFileSync(r.meanOut)), r.meanOut);
    expect([mean.width, mean.height]).toEqual([128, 128]);
    expect(crop.width).toBeLessThan(128);
    expect(crop.width).toBe(r.size.width);
    const fixed = await canonicalCommand({ images: CXR14, n: 4, crop: '10,20,60,50', out: join(tmp, 'canon', 'fixed.png'), meanSize: { width: 128, height: 128 }, ...quiet });
    expect(fixed.size).toEqual({ width: 60, height: 50 });
  });

  it('canonical --model: the mean of the films as the shipped model aligns them matches its template better than the plain mean', async () => {
    const out = join(tmp, 'canon', 'aligned.png');
    const r = await canonicalCommand({ images: CXR14, n: 16, out, model: 'models/default', ...quiet });
    expect(r.used).toBe(16);
    const aligned = decodeImage(new Uint8Array(readFileSync(out)), out);
    const template = decodeImage(new Uint8Array(readFileSync('models/default/template.png')), 'template');
    expect([aligned.width, aligned.height]).toEqual([256, 320]);
    const plain = await canonicalCommand({ images: CXR14, n: 16, out: join(tmp, 'canon', 'plain.png'), meanSize: { width: 256, height: 320 }, ...quiet });
    const plainMean = decodeImage(new Uint8Array(readFileSync(plain.meanOut)), plain.meanOut);
    const ncc = (a: Float32Array, b: Float32Array) => {
      const m = (x: Float32Array) => x.reduce((s, v) => s + v, 0) / x.length;
      const [ma, mb] = [m(a), m(b)];
      let ab = 0, aa = 0, bb = 0;
      for (let i = 0; i < a.length; i++) { ab += (a[i] - ma) * (b[i] - mb); aa += (a[i] - ma) ** 2; bb += (b[i] - mb) ** 2; }
      return ab / Math.sqrt(aa * bb);
    };
    const t = resizeArea(template, 256, 320).data;
    const [withModel, withoutModel] = [ncc(aligned.data, t), ncc(plainMean.data, t)];
    console.log(`NCC with the template: aligned mean ${withModel.toFixed(3)}, plain mean ${withoutModel.toFixed(3)}`);
    expect(withModel).toBeGreaterThan(withoutModel + 0.1);
  });
});
