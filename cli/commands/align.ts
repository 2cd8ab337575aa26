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
import { availableParallelism } from 'node:os';
import type { Size } from '../../src/engine/index';
import { FilmJobs } from '../align-films';
import { addWorkerLanes, mainLane, NetworkLanes } from '../align-lanes';
import { InlineRunner, WorkerPool, type JobRunner } from '../align-pool';
import { setUpAlign, type AlignSetup } from '../align-setup';
import { formatOptions, formatSize, parseArgs, parseSize, UsageError, type OptionSpecs } from '../args';
import { BACKEND_CHOICES, THREADS_OPTION, wasmThreads, type BackendChoice } from '../backend';
import type { FileListOptions } from '../file-list';
import { resolveShard, shardSuffix, type Shard } from '../shard';
import { transformsPaths, writeTransforms } from '../transforms-out';
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

export async function alignCommand(opts: AlignOptions): Promise<AlignSummary> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const t0 = performance.now();
  // Host stages are summed over worker threads (they overlap the network); `wait` is main-thread idle time.
  const stageMs: Record<string, number> = { read: 0, decode: 0, resize: 0, predict: 0, refine: 0, warp: 0, encode: 0, write: 0, wait: 0 };
  if (opts.inputs.length === 0 && !opts.list) throw new UsageError('align needs at least one input file or folder, or --list');
  const batchSize = Math.max(1, opts.batch ?? 8);
  const s = await setUpAlign(opts, log);
  const { model, work, template, refine, frame } = s;

  const bar = new ProgressBar(work.length + s.failedAt.size, 'img', opts.sink ?? stderrSink());
  if (s.failedAt.size) bar.tick(0, s.failedAt.size);
  const threads = Math.max(0, Math.min(opts.workers ?? defaultWorkers(), 16));
  const netThreads = networkWorkers(opts, s.backend, threads, Math.ceil(work.length / batchSize), log);
  log(`aligning ${work.length} file(s) with ${s.description} (locSize ${model.config.locSize}) into `
    + `${frame === 'original' ? 'each input\'s own size' : formatSize(frame)}${refine ? `, refining ${refine} iterations` : ''}`
    + `${threads ? `, ${threads} worker thread(s)` : ''}${netThreads ? `, ${netThreads + 1} network copies` : ''} → ${opts.out}`);

  const runner: JobRunner = threads > 0 ? new WorkerPool(threads) : new InlineRunner();
  const films = new FilmJobs({
    runner, work, batchSize, locSize: model.config.locSize, inputCrop: model.config.inputCrop, sendFull: refine > 0, out: opts.out, frame, bitDepth: opts.bitDepth ?? 'auto',
    done: s.done, failedAt: s.failedAt, journal: s.journal.writer, bar, stageMs,
  });
  // Prepare up to this many batches ahead of the one being written (bounded memory: depth x batch films).
  const depth = Math.max(1 + netThreads, threads > 0 ? 2 + Math.ceil(threads / 2) : 1);
  const nBatches = Math.ceil(work.length / batchSize);
  const lanes = new NetworkLanes({
    batches: nBatches, depth, withFilms: !!template, prepared: (k) => films.prepared(k),
    spent: (ms) => { stageMs[template ? 'refine' : 'predict'] += ms; },
  });
  const refineSettings = template ? { template, iterations: refine } : undefined;
  const main = mainLane(model, batchSize, refineSettings);
  lanes.add(main);
  const netPool = await addWorkerLanes(lanes, netThreads, {
    model, backend: opts.backend ?? 'auto', refine: refineSettings, batchSize, main, notice: (m) => bar.message(m),
  });

  let stopped = false;
  let interrupted = false;
  try {
    interrupted = await writeBatches(films, lanes, nBatches, depth, opts.signal);
    stopped = true;
  } finally {
    // Lanes finish the batch in hand (an interrupted run) before their workers stop.
    await lanes.stop();
    await Promise.all([runner.close(), netPool?.close()]);
    model.dispose();
    // No end line after an error: the journal then reads like a killed run's, which is what --resume expects.
    if (stopped) s.journal.writer.end({ aligned: s.done.size, failed: s.failedAt.size, interrupted });
    s.journal.writer.close();
  }
  bar.finish();
  return summarize(opts, s, films, { t0, interrupted, stageMs }, log);
}

/**
 * Worker copies of the network beside the main thread's: only as many as
 * there are batches. One GPU device: copies in worker threads would only
 * queue on it (and each would start its own).
 */
function networkWorkers(opts: AlignOptions, backend: string, threads: number, batches: number, log: (m: string) => void): number {
  if (backend === 'webgpu' && (opts.networks ?? 1) > 1) log(`notice: --networks ${opts.networks} is ignored on webgpu: one network on the one GPU device`);
  if (backend === 'webgpu') return 0;
  return Math.max(0, Math.min(opts.networks ?? defaultNetworks(threads, wasmThreads() ?? 1), 16, batches) - 1);
}

/** Batch after batch in plan order: its matrices, then its writes. True when interrupted (the batches in hand are still written). */
async function writeBatches(films: FilmJobs, lanes: NetworkLanes, batches: number, depth: number, signal?: AbortSignal): Promise<boolean> {
  let interrupted = false;
  for (let k = 0; k < batches; k++) {
    if (signal?.aborted) { interrupted = true; break; }
    for (let j = k; j < k + depth; j++) films.dispatch(j);
    // Not counted as `wait`: the main thread's own network usually runs meanwhile.
    const predicted = await lanes.batch(k);
    films.forget(k);
    lanes.writtenUpTo(k);
    await films.write(k, predicted);
  }
  await films.drain();
  return interrupted;
}

/** transforms.json/.csv, the closing lines, and the summary. */
function summarize(
  opts: AlignOptions, s: AlignSetup, films: FilmJobs, run: { t0: number; interrupted: boolean; stageMs: Record<string, number> }, log: (m: string) => void,
): AlignSummary {
  const { shard, journal } = s;
  const paths = transformsPaths(opts.out, shardSuffix(shard));
  writeTransforms(paths, s.settings, s.done.values(), s.failedAt.values());
  const failed = [...s.failedAt.values()].sort((a, b) => a.i - b.i).map((f) => ({ key: f.key, reason: f.reason }));
  const seconds = (performance.now() - run.t0) / 1000;
  const resumed = journal.carried.size;
  const alignedNow = films.aligned;
  log(`${run.interrupted ? 'interrupted: ' : ''}aligned ${alignedNow} of ${s.mine.length} file(s) in ${formatDuration(seconds)} `
    + `(${(alignedNow / Math.max(seconds, 1e-9)).toFixed(1)} img/s)${resumed ? `, ${resumed} more done by an earlier run` : ''}; ${failed.length} failed`
    + `${failed.length ? `:\n${failed.map((f) => `  ${f.key}: ${f.reason}`).join('\n')}` : ''}`);
  log(`wrote ${paths.json} and ${paths.csv}${shard.count > 1 ? `; join the shards with: cxr-align merge ${opts.out}` : ''}`);
  const steady = { images: Math.max(0, alignedNow - films.firstBatch), seconds: films.steadyFrom ? (performance.now() - films.steadyFrom) / 1000 : 0 };
  return {
    total: s.mine.length, aligned: alignedNow, resumed, shard, journal: journal.path, failed, interrupted: run.interrupted, seconds,
    transformsJson: paths.json, transformsCsv: paths.csv, stageMs: run.stageMs, steady,
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
