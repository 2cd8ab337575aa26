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
 *
 * Whole datasets: the inputs (files, folders, a --list) form one plan
 * (input-plan.ts); --shard takes a share of it (shard.ts); every finished film
 * is journaled as it goes (journal.ts), which is what --resume continues
 * (resume.ts) and `merge` joins. transforms.json lists films in plan order, so
 * the merged shards of a run read exactly like the run unsharded.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  isFiniteMatrix, matrixToParams, predictMatrices, type AffineMatrix, type GrayImage, type Size,
} from '../../src/engine/index';
import { InlineRunner, WorkerPool, type JobRunner, type Prepared } from '../align-pool';
import { networkRequest } from '../align-network';
import { formatOptions, formatSize, parseArgs, parseSize, UsageError, type OptionSpecs } from '../args';
import { BACKEND_CHOICES, THREADS_OPTION, setupBackend, wasmThreads, type BackendChoice } from '../backend';
import { defaultWasmThreads } from '../wasm-threads';
import type { FileListOptions } from '../file-list';
import { fileSha256, modelSha256 } from '../fingerprint';
import { planInputs } from '../input-plan';
import { JOURNAL_TOOL, JOURNAL_VERSION, type DoneLine, type FailedLine, type JournalHeader, type RunSettings } from '../journal';
import { startJournal, type ShardFilm } from '../resume';
import { formatShard, resolveShard, shardOf, shardSuffix, WHOLE, type Shard } from '../shard';
import { transformsPaths, writeTransforms } from '../transforms-out';
import { loadCliModel, modelTemplate, readImageFile } from '../model';
import { ProgressBar, formatDuration, silentSink, stderrSink, type ProgressSink } from '../progress';

export interface AlignOptions {
  inputs: string[];
  /** A dataset's file list, after the inputs. */
  list?: FileListOptions;
  /** The share of the inputs to align (default: all of them). */
  shard?: Shard;
  /** Continue the journal of an earlier run of this shard in `out`. */
  resume?: boolean;
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
  /** webgpu: one GPU device, so one network copy (--networks is set to 1). */
  backend?: BackendChoice;
  /** Worker threads for reading, decoding, warping and encoding (0 = all on the main thread). */
  workers?: number;
  /** Copies of the network predicting batches side by side: the main thread's and networks − 1 workers' (≥ 1). */
  networks?: number;
  /** WASM threads of each network copy (default: the cores, shared among the copies; see defaultNetworks). */
  threads?: number;
  /** Stop after the current batch (Ctrl-C). */
  signal?: AbortSignal;
  /** Progress output (stderr by default). */
  sink?: ProgressSink;
  /** Messages (notices, per-file errors, summary); console.error by default. */
  log?: (msg: string) => void;
}

export interface AlignSummary {
  /** Films of this shard (all of the inputs when unsharded). */
  total: number;
  /** Aligned by this run. */
  aligned: number;
  /** Done by an earlier run, taken from the journal (--resume). */
  resumed: number;
  shard: Shard;
  journal: string;
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

/** A film to align, with its place in the whole plan. */
interface Work { i: number; key: string; path: string; outRel: string }

export async function alignCommand(opts: AlignOptions): Promise<AlignSummary> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const t0 = performance.now();
  // Host stages are summed over worker threads (they overlap the network); `wait` is main-thread idle time.
  const stageMs: Record<string, number> = { read: 0, decode: 0, resize: 0, predict: 0, refine: 0, warp: 0, encode: 0, write: 0, wait: 0 };
  if (opts.inputs.length === 0 && !opts.list) throw new UsageError('align needs at least one input file or folder, or --list');
  const batchSize = Math.max(1, opts.batch ?? 8);
  const refine = opts.refine ?? 0;
  const shard = opts.shard ?? WHOLE;

  const plan = planInputs(opts.inputs, opts.list);
  for (const p of plan.problems) log(`note: ${p}`);
  const mine: ShardFilm[] = [];
  plan.items.forEach((item, i) => { if (shardOf(item.key, shard.count) === shard.index) mine.push({ i, item }); });
  if (shard.count > 1) log(`shard ${formatShard(shard)} (${shard.source}): ${mine.length} of the ${plan.items.length} film(s)`);

  const backend = await setupBackend(opts.backend ?? 'auto', log, {
    threads: opts.threads ?? ((opts.networks ?? 1) > 1 ? Math.max(1, Math.floor(defaultWasmThreads() / opts.networks!)) : undefined),
  });
  const loaded = await loadCliModel(opts.model, log);
  const { model, description } = loaded;
  const frame: Size | 'original' = opts.size ?? model.config.frame;
  let template: GrayImage | undefined;
  const templatePath = refine > 0 ? opts.template ?? modelTemplate(opts.model) : undefined;
  if (templatePath) template = readImageFile(templatePath);
  const settings: RunSettings = {
    model: { name: description, sha256: modelSha256(opts.model, loaded) }, frame, refine,
    template: templatePath ? fileSha256(templatePath) : null, bitDepth: opts.bitDepth ?? 'auto', margin: model.config.margin ?? null,
  };
  const header: JournalHeader = {
    type: 'header', tool: JOURNAL_TOOL, version: JOURNAL_VERSION, started: new Date().toISOString(), settings, backend,
    shard: { index: shard.index, count: shard.count }, inputs: { count: plan.items.length, sha256: plan.sha256 }, films: mine.length,
  };
  mkdirSync(opts.out, { recursive: true });
  let journal;
  try {
    journal = startJournal(opts.out, header, mine, opts.resume ?? false);
  } catch (e) {
    model.dispose();
    throw e;
  }
  for (const n of journal.notes) log(n);
  const writer = journal.writer;

  // By place in the plan: what transforms.json lists, in that order.
  const done = new Map<number, DoneLine>(journal.carried);
  const failedAt = new Map<number, FailedLine>();
  const work: Work[] = [];
  for (const { i, item } of mine) {
    if (item.reason !== undefined) {
      const f: FailedLine = { type: 'failed', i, key: item.key, reason: item.reason };
      failedAt.set(i, f);
      writer.failed(f);
      log(`error: ${item.key}: ${item.reason}`);
    } else if (!done.has(i)) {
      work.push({ i, key: item.key, path: item.path, outRel: item.outRel });
    }
  }
  if (plan.skipped) log(`note: skipped ${plan.skipped} file(s) without an image extension (.png, .jpg, .jpeg, .dcm or none)`);

  const paths = transformsPaths(opts.out, shardSuffix(shard));
  const bar = new ProgressBar(work.length + failedAt.size, 'img', opts.sink ?? stderrSink());
  if (failedAt.size) bar.tick(0, failedAt.size);
  const threads = Math.max(0, Math.min(opts.workers ?? defaultWorkers(), 16));
  // Network lanes: lane 0 is the main thread's model, lane i > 0 a worker's copy (only as many as there are batches).
  // One GPU device: copies of the network in worker threads would only queue on it (and each would start its own).
  if (backend === 'webgpu' && (opts.networks ?? 1) > 1) log(`notice: --networks ${opts.networks} is ignored on webgpu: one network on the one GPU device`);
  const netThreads = backend === 'webgpu' ? 0 : Math.max(0, Math.min(opts.networks ?? defaultNetworks(threads, wasmThreads() ?? 1), 16, Math.ceil(work.length / batchSize)) - 1);
  log(`aligning ${work.length} file(s) with ${description} (locSize ${model.config.locSize}) into `
    + `${frame === 'original' ? 'each input\'s own size' : formatSize(frame)}${refine ? `, refining ${refine} iterations` : ''}`
    + `${threads ? `, ${threads} worker thread(s)` : ''}${netThreads ? `, ${netThreads + 1} network copies` : ''} → ${opts.out}`);
  const fail = (f: Work, reason: string) => {
    const line: FailedLine = { type: 'failed', i: f.i, key: f.key, reason };
    failedAt.set(f.i, line);
    writer.failed(line);
    bar.message(`error: ${f.key}: ${reason}`);
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
      else { fail(work[r.id], r.reason); bar.tick(0, 1); }
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

  let alignedNow = 0;
  let stopped = false;
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
          fail(f, reason ?? 'the model predicted a non-finite transform');
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
            // Journaled only now that the PNG is in place under its final name.
            const line: DoneLine = { type: 'done', i: f.i, key: f.key, out: f.outRel, sha256: fr.sha256, matrix, params: p, size: [size.width, size.height] };
            done.set(f.i, line);
            writer.done(line);
            alignedNow++;
            bar.tick(1);
          } else {
            fail(f, fr.reason);
            bar.tick(0, 1);
          }
        }));
      });
    }
    const fs = performance.now();
    await Promise.all(finishing);
    stageMs.wait += performance.now() - fs;
    stopped = true;
  } finally {
    // Lanes finish the batch in hand (an interrupted run) before their workers stop.
    stopLanes = true;
    wakeLanes();
    await Promise.allSettled(lanes);
    await Promise.all([runner.close(), netPool?.close()]);
    model.dispose();
    // No end line after an error: the journal then reads like a killed run's, which is what --resume expects.
    if (stopped) writer.end({ aligned: done.size, failed: failedAt.size, interrupted });
    writer.close();
  }
  bar.finish();

  writeTransforms(paths, settings, done.values(), failedAt.values());
  const failed = [...failedAt.values()].sort((a, b) => a.i - b.i).map((f) => ({ key: f.key, reason: f.reason }));
  const seconds = (performance.now() - t0) / 1000;
  const resumed = journal.carried.size;
  log(`${interrupted ? 'interrupted: ' : ''}aligned ${alignedNow} of ${mine.length} file(s) in ${formatDuration(seconds)} `
    + `(${(alignedNow / Math.max(seconds, 1e-9)).toFixed(1)} img/s)${resumed ? `, ${resumed} more done by an earlier run` : ''}; ${failed.length} failed`
    + `${failed.length ? `:\n${failed.map((f) => `  ${f.key}: ${f.reason}`).join('\n')}` : ''}`);
  log(`wrote ${paths.json} and ${paths.csv}${shard.count > 1 ? `; join the shards with: cxr-align merge ${opts.out}` : ''}`);
  const steady = { images: Math.max(0, alignedNow - firstBatch), seconds: steadyFrom ? (performance.now() - steadyFrom) / 1000 : 0 };
  return {
    total: mine.length, aligned: alignedNow, resumed, shard, journal: journal.path, failed, interrupted, seconds,
    transformsJson: paths.json, transformsCsv: paths.csv, stageMs, steady,
  };
}

/**
 * Host threads: they read, decode, warp and encode while the network runs.
 * Two already keep up with the network at the default resolution.
 */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(2, availableParallelism() - 1));
}

/**
 * Network copies. On the threaded WASM backend (the default: cli/wasm-threads.ts)
 * one copy already runs its convolutions on every core, so the default is one.
 * With --threads 1 (tfjs's single-threaded build) further copies of the network
 * in worker threads predict batches side by side instead; the host threads need
 * their cores too: on 2 cores a second copy gains ~10% on 512-px films and loses
 * ~10% on 1024-px ones (their decoding is heavier), so that default gives the
 * network only the cores the host threads leave (at most 4).
 */
export function defaultNetworks(workers = defaultWorkers(), wasmThreadCount = 1): number {
  if (wasmThreadCount > 1) return 1;
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
  backend: { type: 'string', meta: 'NAME', default: 'auto', choices: BACKEND_CHOICES, help: 'TensorFlow.js backend: auto (WASM, else CPU), wasm, cpu, or webgpu (the GPU through the optional `webgpu` package, SwiftShader without one; one network copy)' },
  workers: { type: 'int', meta: 'N', help: 'threads that read, decode, warp and encode beside the network (default: cores − 1, at least 1, at most 2; 0 = none)' },
  networks: { type: 'int', meta: 'N', help: 'copies of the network predicting batches side by side, one on the main thread and N − 1 in worker threads (default: 1 on the threaded WASM backend; with --threads 1, the cores the --workers leave, at least 1, at most 4)' },
  ...THREADS_OPTION,
  list: { type: 'string', meta: 'FILE', help: 'also align the films a file list names: one path a line, or a CSV with --column (ChestX-ray14: Data_Entry_2017.csv --column "Image Index")' },
  column: { type: 'string', meta: 'NAME', help: 'the --list CSV\'s column of paths (its header row names it)' },
  root: { type: 'string', meta: 'DIR', help: 'folder the --list paths are relative to (default: the list\'s own folder)' },
  shard: { type: 'string', meta: 'K/N', help: 'align shard K (from 0) of N: the films whose sha256(name) mod N is K (default: from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, JOB_COMPLETION_INDEX/CXR_ALIGN_SHARDS or CXR_ALIGN_SHARD/CXR_ALIGN_SHARDS, else all)' },
  resume: { type: 'boolean', help: 'continue the journal of an earlier run of this shard in --out: redo only the films it did not finish (starts afresh when there is none)' },
  quiet: { type: 'boolean', alias: 'q', help: 'no progress bar' },
};

export const ALIGN_USAGE = `Usage: cxr-align align <files or folders…> --out DIR [options]

Aligns each chest X-ray (PNG, JPEG, DICOM) to the canonical chest and writes
the aligned PNG plus every transform (2x3 matrices in PyTorch affine_grid
normalized coordinates, align_corners=False) to transforms.json and .csv.

${formatOptions(ALIGN_OPTIONS)}

Every run journals its films in --out (journal.jsonl, or journal-K-of-N.jsonl
for a shard); --resume continues a killed run, and "cxr-align merge DIR" joins
the shards' journals into one transforms.json.

Examples:
  cxr-align align ~/cxr14/images --out aligned/
  cxr-align align a.png b.dcm --out aligned/ --size original
  cxr-align align films/ --out aligned/ --model runs/my-model/model --refine 15
  cxr-align align --list Data_Entry_2017.csv --column "Image Index" --root images/ --out aligned/ --shard 3/10 --resume`;

export async function runAlign(argv: string[], signal?: AbortSignal): Promise<number> {
  const a = parseArgs(argv, ALIGN_OPTIONS);
  const v = a.values;
  let size: Size | 'original' | undefined;
  if (typeof v.size === 'string') {
    if (v.size === 'original') size = 'original';
    else size = parseSize(v.size, '--size');
  }
  const depth = v['bit-depth'] === 'auto' ? 'auto' : (Number(v['bit-depth']) as 8 | 16);
  if (v.list === undefined && (v.column !== undefined || v.root !== undefined)) throw new UsageError('--column and --root go with --list');
  const list = v.list === undefined ? undefined : { list: v.list as string, column: v.column as string | undefined, root: v.root as string | undefined };
  const summary = await alignCommand({
    inputs: a.positionals, list, shard: resolveShard(v.shard as string | undefined, process.env), resume: v.resume === true,
    out: v.out as string, model: v.model as string | undefined, size,
    refine: v.refine as number, template: v.template as string | undefined, batch: v.batch as number,
    bitDepth: depth, backend: v.backend as AlignOptions['backend'], workers: v.workers as number | undefined,
    networks: v.networks as number | undefined, threads: v.threads as number | undefined, signal,
    sink: v.quiet ? silentSink : undefined,
  });
  if (summary.interrupted) return 130;
  return summary.failed.length > 0 ? 1 : 0;
}
