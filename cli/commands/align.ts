/**
 * `cxr-align align`: predict each film's transform with the model, optionally
 * refine it against the template, write the aligned PNG and collect the
 * matrices in transforms.json / transforms.csv.
 *
 * Streaming: files are read a batch ahead (the reads overlap the network),
 * decoded, aligned and written one batch at a time, so memory holds one or two
 * batches of films whatever the number of inputs. A file that cannot be read
 * or decoded is reported by name and reason and the run goes on.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  ImageDecodeError, decodeImage, encodePng, paramsToMatrix, predictParams, refineParams,
  type AffineMatrix, type AffineParams, type GrayImage, type Size,
} from '../../src/engine/index';
import { warpImageHost } from '../../src/engine/align/warp-host';
import { formatOptions, formatSize, parseArgs, parseSize, UsageError, type OptionSpecs } from '../args';
import { setupBackend } from '../backend';
import { collectInputs, type InputFile } from '../files';
import { csvField, writeFileAtomicSync } from '../io';
import { DEFAULT_TEMPLATE, loadCliModel, readImageFile } from '../model';
import { ProgressBar, formatDuration, silentSink, stderrSink, type ProgressSink } from '../progress';

export interface AlignOptions {
  inputs: string[];
  out: string;
  /** Model folder; default models/default, else the untrained identity model. */
  model?: string;
  /** Output frame: a size, 'original' (each input's own size), or undefined for the model's frame. */
  size?: Size | 'original';
  /** Test-time refinement iterations per film (0 = off). */
  refine?: number;
  /** Template for --refine (default models/canonical-chest.png). */
  template?: string;
  /** Films per network batch. */
  batch?: number;
  /** PNG bit depth; 'auto' writes 16 bit for inputs deeper than 8 bit. */
  bitDepth?: 8 | 16 | 'auto';
  backend?: 'wasm' | 'cpu' | 'auto';
  /** Stop after the current batch (Ctrl-C). */
  signal?: AbortSignal;
  /** Progress output (stderr by default). */
  sink?: ProgressSink;
  /** Messages (notices, per-file errors, summary); console.error by default. */
  log?: (msg: string) => void;
}

export interface AlignSummary {
  total: number;
  aligned: number;
  failed: { key: string; reason: string }[];
  interrupted: boolean;
  seconds: number;
  transformsJson: string;
  transformsCsv: string;
  /** Milliseconds spent per stage, summed over the run (for profiling). */
  stageMs: Record<string, number>;
}

interface Done {
  key: string;
  params: AffineParams;
  matrix: AffineMatrix;
  size: Size;
}

const CONVENTION = 'PyTorch affine_grid normalized coordinates, align_corners=False; '
  + 'each matrix maps output-frame points to input points (see src/engine/affine/affine.ts)';

function inputBitDepth(img: GrayImage): number {
  const m = img.meta ?? {};
  return Number(m.bitDepth ?? m.bitsStored ?? 8);
}

export async function alignCommand(opts: AlignOptions): Promise<AlignSummary> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const t0 = performance.now();
  const stageMs: Record<string, number> = { read: 0, decode: 0, predict: 0, refine: 0, warp: 0, encode: 0, write: 0 };
  const time = <T>(stage: string, f: () => T): T => {
    const s = performance.now();
    try { return f(); } finally { stageMs[stage] += performance.now() - s; }
  };
  if (opts.inputs.length === 0) throw new UsageError('align needs at least one input file or folder');
  const batchSize = Math.max(1, opts.batch ?? 8);
  const refine = opts.refine ?? 0;

  await setupBackend(opts.backend ?? 'auto', log);
  const { model, description } = await loadCliModel(opts.model, log);
  const frame: Size | 'original' = opts.size ?? model.config.frame;
  let template: GrayImage | undefined;
  if (refine > 0) template = readImageFile(opts.template ?? DEFAULT_TEMPLATE);

  const { files, missing, skipped } = collectInputs(opts.inputs);
  const failed: AlignSummary['failed'] = [];
  for (const m of missing) {
    failed.push(m);
    log(`error: ${m.key}: ${m.reason}`);
  }
  // Two inputs must not write the same output file.
  const owner = new Map<string, string>();
  const work: InputFile[] = [];
  for (const f of files) {
    const prev = owner.get(f.outRel);
    if (prev !== undefined) {
      const reason = `its output ${f.outRel} is already written for ${prev}`;
      failed.push({ key: f.key, reason });
      log(`error: ${f.key}: ${reason}`);
    } else {
      owner.set(f.outRel, f.key);
      work.push(f);
    }
  }
  if (skipped) log(`note: skipped ${skipped} file(s) without an image extension (.png, .jpg, .jpeg, .dcm or none)`);

  mkdirSync(opts.out, { recursive: true });
  const csvPath = join(opts.out, 'transforms.csv');
  const jsonPath = join(opts.out, 'transforms.json');
  const csv: WriteStream = createWriteStream(csvPath);
  csv.write('path,a,b,c,d,e,f,tx,ty,sx,sy,theta,width,height\n');
  const done: Done[] = [];
  const dirs = new Set<string>();
  const bar = new ProgressBar(work.length + failed.length, 'img', opts.sink ?? stderrSink());
  if (failed.length) bar.tick(0, failed.length);
  log(`aligning ${work.length} file(s) with ${description} (locSize ${model.config.locSize}) into `
    + `${frame === 'original' ? 'each input\'s own size' : formatSize(frame)}${refine ? `, refining ${refine} iterations` : ''} → ${opts.out}`);

  const readBatch = (batch: InputFile[]) => Promise.all(batch.map(async (f) => {
    try {
      return await readFile(f.path);
    } catch (e) {
      return e as Error;
    }
  }));
  const fail = (key: string, reason: string) => {
    failed.push({ key, reason });
    bar.message(`error: ${key}: ${reason}`);
  };

  let interrupted = false;
  let pendingWrites: Promise<unknown>[] = [];
  let next = work.length ? readBatch(work.slice(0, batchSize)) : undefined;
  try {
    for (let start = 0; start < work.length; start += batchSize) {
      if (opts.signal?.aborted) { interrupted = true; break; }
      const batch = work.slice(start, start + batchSize);
      const rs = performance.now();
      const bytes = await next!;
      stageMs.read += performance.now() - rs;
      // Start reading the next batch while this one is computed.
      next = start + batchSize < work.length ? readBatch(work.slice(start + batchSize, start + 2 * batchSize)) : undefined;

      const images: GrayImage[] = [];
      const items: InputFile[] = [];
      time('decode', () => {
        batch.forEach((f, i) => {
          const b = bytes[i];
          if (b instanceof Error) {
            fail(f.key, (b as NodeJS.ErrnoException).code === 'EISDIR' ? 'is a folder' : b.message);
            return;
          }
          try {
            images.push(decodeImage(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), f.key));
            items.push(f);
          } catch (e) {
            fail(f.key, e instanceof ImageDecodeError ? e.reason : (e as Error).message);
          }
        });
      });
      if (images.length === 0) { bar.tick(0, 0); continue; }

      const ps = performance.now();
      const params = await predictParams(model, images, batchSize);
      stageMs.predict += performance.now() - ps;
      if (template) {
        const s = performance.now();
        for (let i = 0; i < images.length; i++) params[i] = await refineParams(images[i], template, params[i], { iterations: refine });
        stageMs.refine += performance.now() - s;
      }

      // Let the previous batch's writes finish before queueing more.
      const ws = performance.now();
      await Promise.all(pendingWrites);
      stageMs.write += performance.now() - ws;
      pendingWrites = [];
      for (let i = 0; i < images.length; i++) {
        const img = images[i];
        const f = items[i];
        const size = frame === 'original' ? { width: img.width, height: img.height } : frame;
        const matrix = paramsToMatrix(params[i]);
        if (!params[i].every(Number.isFinite)) {
          fail(f.key, 'the model predicted a non-finite transform');
          continue;
        }
        const aligned = time('warp', () => warpImageHost(img, matrix, size));
        const depth = opts.bitDepth === 8 || opts.bitDepth === 16 ? opts.bitDepth : inputBitDepth(img) > 8 ? 16 : 8;
        const png = time('encode', () => encodePng(aligned, { bitDepth: depth }));
        const outPath = join(opts.out, f.outRel);
        const dir = dirname(outPath);
        if (!dirs.has(dir)) { mkdirSync(dir, { recursive: true }); dirs.add(dir); }
        pendingWrites.push(writeFile(outPath, png).catch((e) => fail(f.key, `cannot write ${outPath}: ${(e as Error).message}`)));
        done.push({ key: f.key, params: params[i], matrix, size });
        csv.write(`${[csvField(f.key), ...matrix.flat(), ...params[i], size.width, size.height].join(',')}\n`);
      }
      bar.tick(images.length, batch.length - images.length);
    }
    const ws = performance.now();
    await Promise.all(pendingWrites);
    stageMs.write += performance.now() - ws;
  } finally {
    await new Promise<void>((res) => csv.end(res));
    model.dispose();
  }
  // A failure after a row was written (the PNG write) removes nothing from the CSV,
  // but transforms.json lists only films whose PNG exists.
  const failedKeys = new Set(failed.map((f) => f.key));
  const ok = done.filter((d) => !failedKeys.has(d.key));
  bar.finish();

  writeFileAtomicSync(jsonPath, transformsJson(ok, frame, description, failed));
  const seconds = (performance.now() - t0) / 1000;
  const total = work.length + missing.length + (files.length - work.length);
  log(`${interrupted ? 'interrupted: ' : ''}aligned ${ok.length} of ${total} file(s) in ${formatDuration(seconds)} `
    + `(${(ok.length / Math.max(seconds, 1e-9)).toFixed(1)} img/s); ${failed.length} failed`
    + `${failed.length ? `:\n${failed.map((f) => `  ${f.key}: ${f.reason}`).join('\n')}` : ''}`);
  log(`wrote ${jsonPath} and ${csvPath}`);
  return { total, aligned: ok.length, failed, interrupted, seconds, transformsJson: jsonPath, transformsCsv: csvPath, stageMs };
}

function transformsJson(done: Done[], frame: Size | 'original', model: string, failed: AlignSummary['failed']): string {
  // Hand-written so each entry is one line: readable, and diffable between runs.
  const obj = (entries: string[]) => (entries.length ? `{\n${entries.join(',\n')}\n }` : '{}');
  const q = JSON.stringify;
  const parts = [
    ` "frame": ${frame === 'original' ? '"original"' : q({ width: frame.width, height: frame.height })}`,
    ` "convention": ${q(CONVENTION)}`,
    ` "model": ${q(model)}`,
    ` "transforms": ${obj(done.map((d) => `  ${q(d.key)}: ${q(d.matrix)}`))}`,
    ` "params": ${obj(done.map((d) => `  ${q(d.key)}: ${q(d.params)}`))}`,
  ];
  if (frame === 'original') parts.push(` "sizes": ${obj(done.map((d) => `  ${q(d.key)}: ${q([d.size.width, d.size.height])}`))}`);
  parts.push(` "failed": ${obj(failed.map((f) => `  ${q(f.key)}: ${q(f.reason)}`))}`);
  return `{\n${parts.join(',\n')}\n}\n`;
}

export const ALIGN_OPTIONS: OptionSpecs = {
  out: { type: 'string', required: true, meta: 'DIR', alias: 'o', help: 'output folder: aligned PNGs (same relative paths), transforms.json, transforms.csv' },
  model: { type: 'string', meta: 'DIR', help: 'model folder (model.json + weights); default models/default, else an untrained identity model' },
  size: { type: 'string', meta: 'WxH|original', help: 'output frame; "original" keeps each input\'s resolution (default: the model\'s frame, 256x320)' },
  refine: { type: 'int', meta: 'N', default: 0, help: 'test-time refinement: N Adam steps of windowed NCC against the template per film' },
  template: { type: 'string', meta: 'PNG', help: 'template for --refine (default models/canonical-chest.png)' },
  batch: { type: 'int', meta: 'N', default: 8, help: 'films per network batch' },
  'bit-depth': { type: 'string', meta: '8|16|auto', default: 'auto', choices: ['8', '16', 'auto'], help: 'output PNG bit depth; auto = 16 for inputs deeper than 8 bit' },
  backend: { type: 'string', meta: 'NAME', default: 'auto', choices: ['auto', 'wasm', 'cpu'], help: 'TensorFlow.js backend' },
  quiet: { type: 'boolean', alias: 'q', help: 'no progress bar' },
};

export const ALIGN_USAGE = `Usage: cxr-align align <files or folders…> --out DIR [options]

Aligns each chest X-ray (PNG, JPEG, DICOM) to the canonical chest and writes
the aligned PNG plus every transform (2x3 matrices in PyTorch affine_grid
normalized coordinates, align_corners=False) to transforms.json and .csv.

${formatOptions(ALIGN_OPTIONS)}

Examples:
  cxr-align align ~/cxr14/images --out aligned/
  cxr-align align a.png b.dcm --out aligned/ --size original
  cxr-align align films/ --out aligned/ --model runs/my-model/model --refine 15`;

export async function runAlign(argv: string[], signal?: AbortSignal): Promise<number> {
  const a = parseArgs(argv, ALIGN_OPTIONS);
  const v = a.values;
  let size: Size | 'original' | undefined;
  if (typeof v.size === 'string') {
    if (v.size === 'original') size = 'original';
    else size = parseSize(v.size, '--size');
  }
  const depth = v['bit-depth'] === 'auto' ? 'auto' : (Number(v['bit-depth']) as 8 | 16);
  const summary = await alignCommand({
    inputs: a.positionals, out: v.out as string, model: v.model as string | undefined, size,
    refine: v.refine as number, template: v.template as string | undefined, batch: v.batch as number,
    bitDepth: depth, backend: v.backend as AlignOptions['backend'], signal,
    sink: v.quiet ? silentSink : undefined,
  });
  if (summary.interrupted) return 130;
  return summary.failed.length > 0 ? 1 : 0;
}
