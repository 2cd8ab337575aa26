/**
 * `cxr-align align`: predict each film's transform with the model, optionally
 * refine it against the template, write the aligned PNG and collect the
 * matrices in transforms.json / transforms.csv.
 *
 * Streaming: worker threads read, decode and shrink films (the encoder's
 * copy) a few batches ahead of the network on the main thread, then warp,
 * encode and write them once their matrix is known (align-jobs.ts). Memory
 * holds a few batches of films whatever the number of inputs. A file that
 * cannot be read or decoded is reported by name and reason and the run goes on.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  isFiniteMatrix, matrixToParams, predictMatrices, type AffineMatrix, type AffineParams, type GrayImage, type Size,
} from '../../src/engine/index';
import { InlineRunner, WorkerPool, type JobRunner, type Prepared } from '../align-pool';
import { networkRequest } from '../align-network';
import { formatOptions, formatSize, parseArgs, parseSize, UsageError, type OptionSpecs } from '../args';
import { setupBackend } from '../backend';
import { collectInputs, type InputFile } from '../files';
import { writeFileAtomicSync } from '../io';
import { transformsCsv, transformsJson } from '../../src/engine/export/transforms-file';
import { loadCliModel, modelTemplate, readImageFile } from '../model';
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
  /** Template for --refine (default: the model folder's template.png, else models/canonical-chest.png). */
  template?: string;
  /** Films per network batch. */
  batch?: number;
  /** PNG bit depth; 'auto' writes 16 bit for inputs deeper than 8 bit. */
  bitDepth?: 8 | 16 | 'auto';
  backend?: 'wasm' | 'cpu' | 'auto';
  /** Worker threads for reading, decoding, warping and encoding (0 = all on the main thread). */
  workers?: number;
  /** Copies of the network predicting batches side by side: the main thread's and networks − 1 workers' (≥ 1). */
  networks?: number;
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
  /** Throughput after the first batch (model load, worker start-up and warm-up excluded). */
  steady: { images: number; seconds: number };
}

interface Done {
  key: string;
  params: AffineParams;
  matrix: AffineMatrix;
  size: Size;
}

export async function alignCommand(opts: AlignOptions): Promise<AlignSummary> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const t0 = performance.now();
  // Host stages are summed over worker threads (they overlap the network); `wait` is main-thread idle time.
  const stageMs: Record<string, number> = { read: 0, decode: 0, resize: 0, predict: 0, refine: 0, warp: 0, encode: 0, write: 0, wait: 0 };
  if (opts.inputs.length === 0) throw new UsageError('align needs at least one input file or folder');
  const batchSize = Math.max(1, opts.batch ?? 8);
  const refine = opts.refine ?? 0;

  await setupBackend(opts.backend ?? 'auto', log);
  const { model, description } = await loadCliModel(opts.model, log);
  const frame: Size | 'original' = opts.size ?? model.config.frame;
  let template: GrayImage | undefined;
  if (refine > 0) template = readImageFile(opts.template ?? modelTemplate(opts.model));

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
  const bar = new ProgressBar(work.length + failed.length, 'img', opts.sink ?? stderrSink());
  if (failed.length) bar.tick(0, failed.length);
  const threads = Math.max(0, Math.min(opts.workers ?? defaultWorkers(), 16));
  // Network lanes: lane 0 is the main thread's model, lane i > 0 a worker's copy (only as many as there are batches).
  const netThreads = Math.max(0, Math.min(opts.networks ?? defaultNetworks(threads), 16, Math.ceil(work.length / batchSize)) - 1);
  log(`aligning ${work.length} file(s) with ${description} (locSize ${model.config.locSize}) into `
    + `${frame === 'original' ? 'each input\'s own size' : formatSize(frame)}${refine ? `, refining ${refine} iterations` : ''}`
    + `${threads ? `, ${threads} worker thread(s)` : ''}${netThreads ? `, ${netThreads + 1} network copies` : ''} → ${opts.out}`);
  const fail = (key: string, reason: string) => {
    failed.push({ key, reason });
    bar.message(`error: ${key}: ${reason}`);
  };
  const addMs = (ms: Record<string, number>) => { for (const [k, v] of Object.entries(ms)) stageMs[k] = (stageMs[k] ?? 0) + v; };

  const runner: JobRunner = threads > 0 ? new WorkerPool(threads) : new InlineRunner();
  const L = model.config.locSize;
  const dispatched: Promise<Prepared>[][] = [];
  const dispatch = (k: number) => {
    if (k * batchSize >= work.length || dispatched[k]) return;
    dispatched[k] = work.slice(k * batchSize, (k + 1) * batchSize).map((f, i) => runner.prepare({
      type: 'prepare', id: k * batchSize + i, path: f.path, key: f.key, locSize: L, sendFull: refine > 0,
    }));
  };
  // Prepare up to this many batches ahead of the one being written (bounded memory: depth x batch films).
  const depth = Math.max(1 + netThreads, threads > 0 ? 2 + Math.ceil(threads / 2) : 1);

  // The network: the main thread's model and, with netThreads, worker copies ("lanes"). A lane takes the
  // next batch when it is free — a worker once its model has loaded — at most `depth` batches ahead.
  type Predicted = { ok: (Prepared & { ok: true })[]; matrices: AffineMatrix[]; reason?: string };
  /** `retire`: the lane stops after this batch (its worker failed; the main thread's model did the batch). */
  type Predict = (images: GrayImage[], k: number) => Promise<{ matrices: AffineMatrix[]; ms: number; reason?: string; retire?: boolean }>;
  const nBatches = Math.ceil(work.length / batchSize);
  const predicted: { promise: Promise<Predicted>; resolve: (p: Predicted) => void }[] = Array.from({ length: nBatches }, () => {
    let resolve!: (p: Predicted) => void;
    const promise = new Promise<Predicted>((r) => { resolve = r; });
    return { promise, resolve };
  });
  let nextBatch = 0;
  let written = 0;
  let stopLanes = false;
  const waiting: (() => void)[] = [];
  const wakeLanes = () => { for (const w of waiting.splice(0)) w(); };
  const predictBatch = async (k: number, predict: Predict): Promise<Predicted & { retire?: boolean }> => {
    dispatch(k);
    const ws = performance.now();
    const prepared = await Promise.all(dispatched[k]);
    stageMs.wait += performance.now() - ws;
    const ok: (Prepared & { ok: true })[] = [];
    for (const r of prepared) {
      addMs(r.ms);
      if (r.ok) ok.push(r);
      else { fail(work[r.id].key, r.reason); bar.tick(0, 1); }
    }
    if (ok.length === 0) return { ok, matrices: [] };
    const images: GrayImage[] = template
      ? ok.map((r) => ({ width: r.width, height: r.height, data: r.full! }))
      : ok.map((r) => ({ width: L, height: L, data: r.loc })); // locInput of an L x L copy is itself
    const r = await predict(images, k);
    stageMs[template ? 'refine' : 'predict'] += r.ms;
    return { ok, matrices: r.matrices, reason: r.reason, retire: r.retire };
  };
  const lane = async (predict: Predict) => {
    for (;;) {
      // Back to the event loop between batches: the main thread's network resolves through microtasks
      // only, and would otherwise starve the workers' messages (a loaded model, Ctrl-C, the progress bar).
      await new Promise<void>((r) => setImmediate(r));
      while (!stopLanes && nextBatch < nBatches && nextBatch >= written + depth) await new Promise<void>((w) => waiting.push(w));
      if (stopLanes || nextBatch >= nBatches) return;
      const k = nextBatch++;
      const r = await predictBatch(k, predict);
      predicted[k].resolve(r);
      if (r.retire) return;
    }
  };
  const refineSettings = template ? { template, iterations: refine } : undefined;
  const mainLane: Predict = async (images) => {
    const t = performance.now();
    try {
      return { matrices: await predictMatrices(model, images, batchSize, refineSettings), ms: performance.now() - t };
    } catch (e) {
      return { matrices: [], ms: performance.now() - t, reason: `the network failed: ${(e as Error).message}` };
    }
  };
  const lanes: Promise<void>[] = [lane(mainLane)];
  const netPool = netThreads > 0 ? new WorkerPool(netThreads) : undefined;
  if (netPool) {
    const request = await networkRequest(model, opts.backend ?? 'auto', refineSettings);
    for (let w = 0; w < netThreads; w++) {
      lanes.push(netPool.loadNetwork(w, request).then((loaded) => {
        // A worker that cannot load the model leaves the batches to the other lanes.
        if (!loaded.ok) { bar.message(`notice: a network worker could not load the model (${loaded.reason}); going on without it`); return; }
        return lane(async (images, k) => {
          const r = await netPool.predict(w, { type: 'predict', id: k, images, batch: batchSize });
          if (r.ok) return { matrices: r.matrices, ms: r.ms };
          bar.message(`notice: a network worker failed (${r.reason}); the main thread takes its batches`);
          return { ...await mainLane(images, k), retire: true };
        });
      }));
    }
  }

  // Per input index: its transform once aligned (written to the JSON/CSV in input order).
  const results: (Done | undefined)[] = new Array(work.length);
  let finishing: Promise<void>[] = [];
  let interrupted = false;
  let steadyFrom = 0;
  let firstBatch = 0;
  try {
    for (let k = 0; k < nBatches; k++) {
      if (opts.signal?.aborted) { interrupted = true; break; }
      for (let j = k; j < k + depth; j++) dispatch(j);
      // Not counted as `wait`: the main thread's own network usually runs meanwhile.
      const { ok, matrices, reason } = await predicted[k].promise;
      dispatched[k] = [];
      written = k + 1;
      wakeLanes();
      if (ok.length === 0) continue;
      if (k === 0) { steadyFrom = performance.now(); firstBatch = ok.length; }
      // Bound the writes in flight to about two batches.
      if (finishing.length > 2 * batchSize) {
        const fs = performance.now();
        await Promise.all(finishing);
        stageMs.wait += performance.now() - fs;
        finishing = [];
      }
      ok.forEach((r, i) => {
        const f = work[r.id];
        const matrix = matrices[i];
        if (reason || !matrix || !isFiniteMatrix(matrix)) {
          fail(f.key, reason ?? 'the model predicted a non-finite transform');
          bar.tick(0, 1);
          runner.drop(r.worker, r.id);
          return;
        }
        const p = matrixToParams(matrix);
        const size = frame === 'original' ? { width: r.width, height: r.height } : frame;
        finishing.push(runner.finish(r.worker, {
          type: 'finish', id: r.id, matrix, frame: frame === 'original' ? null : frame, outPath: join(opts.out, f.outRel),
          bitDepth: opts.bitDepth ?? 'auto', full: r.full ? { data: r.full, width: r.width, height: r.height, bitDepth: r.bitDepth } : undefined,
        }).then((fr) => {
          addMs(fr.ms);
          if (fr.ok) {
            results[r.id] = { key: f.key, params: p, matrix, size };
            bar.tick(1);
          } else {
            fail(f.key, fr.reason);
            bar.tick(0, 1);
          }
        }));
      });
    }
    const fs = performance.now();
    await Promise.all(finishing);
    stageMs.wait += performance.now() - fs;
  } finally {
    // Lanes finish the batch in hand (an interrupted run) before their workers stop.
    stopLanes = true;
    wakeLanes();
    await Promise.allSettled(lanes);
    await Promise.all([runner.close(), netPool?.close()]);
    model.dispose();
  }
  const ok = results.filter((d): d is Done => d !== undefined);
  bar.finish();

  const entries = ok.map((d) => ({ name: d.key, matrix: d.matrix, params: d.params, size: d.size }));
  writeFileAtomicSync(csvPath, transformsCsv(entries));
  writeFileAtomicSync(jsonPath, transformsJson(frame, description, entries, failed.map((f) => ({ name: f.key, reason: f.reason })), model.config.margin));
  const seconds = (performance.now() - t0) / 1000;
  const total = files.length + missing.length;
  log(`${interrupted ? 'interrupted: ' : ''}aligned ${ok.length} of ${total} file(s) in ${formatDuration(seconds)} `
    + `(${(ok.length / Math.max(seconds, 1e-9)).toFixed(1)} img/s); ${failed.length} failed`
    + `${failed.length ? `:\n${failed.map((f) => `  ${f.key}: ${f.reason}`).join('\n')}` : ''}`);
  log(`wrote ${jsonPath} and ${csvPath}`);
  const steady = { images: Math.max(0, ok.length - firstBatch), seconds: steadyFrom ? (performance.now() - steadyFrom) / 1000 : 0 };
  return { total, aligned: ok.length, failed, interrupted, seconds, transformsJson: jsonPath, transformsCsv: csvPath, stageMs, steady };
}

/**
 * Host threads: they read, decode, warp and encode while the network runs.
 * Two already keep up with the network at the default resolution.
 */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(2, availableParallelism() - 1));
}

/**
 * Network copies: tfjs WASM runs on one thread in Node, so with cores to spare
 * further copies of the network in worker threads predict batches side by side.
 * The host threads need their cores too: on 2 cores a second copy gains ~10% on
 * 512-px films and loses ~10% on 1024-px ones (their decoding is heavier), so the
 * default gives the network only the cores the host threads leave (at most 4).
 */
export function defaultNetworks(workers = defaultWorkers()): number {
  return Math.max(1, Math.min(4, availableParallelism() - workers));
}

export const ALIGN_OPTIONS: OptionSpecs = {
  out: { type: 'string', required: true, meta: 'DIR', alias: 'o', help: 'output folder: aligned PNGs (same relative paths), transforms.json, transforms.csv' },
  model: { type: 'string', meta: 'DIR', help: 'model folder (model.json + weights); default models/default, else an untrained identity model' },
  size: { type: 'string', meta: 'WxH|original', help: 'output frame; "original" keeps each input\'s resolution (default: the model\'s frame, 256x320)' },
  refine: { type: 'int', meta: 'N', default: 0, help: 'test-time refinement: N Adam steps of windowed NCC against the template per film' },
  template: { type: 'string', meta: 'PNG', help: 'template for --refine (default: the model folder\'s template.png, else models/canonical-chest.png)' },
  batch: { type: 'int', meta: 'N', default: 8, help: 'films per network batch' },
  'bit-depth': { type: 'string', meta: '8|16|auto', default: 'auto', choices: ['8', '16', 'auto'], help: 'output PNG bit depth; auto = 16 for inputs deeper than 8 bit' },
  backend: { type: 'string', meta: 'NAME', default: 'auto', choices: ['auto', 'wasm', 'cpu'], help: 'TensorFlow.js backend' },
  workers: { type: 'int', meta: 'N', help: 'threads that read, decode, warp and encode beside the network (default: cores − 1, at least 1, at most 2; 0 = none)' },
  networks: { type: 'int', meta: 'N', help: 'copies of the network predicting batches side by side, one on the main thread and N − 1 in worker threads (default: the cores the --workers leave, at least 1, at most 4)' },
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
    bitDepth: depth, backend: v.backend as AlignOptions['backend'], workers: v.workers as number | undefined,
    networks: v.networks as number | undefined, signal,
    sink: v.quiet ? silentSink : undefined,
  });
  if (summary.interrupted) return 130;
  return summary.failed.length > 0 ? 1 : 0;
}
