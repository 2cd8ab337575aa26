/**
 * `cxr-align bench`: how fast the engine runs on this machine.
 *
 * For each backend (WASM, CPU) and resolution (the default model's, and the
 * seed paper's 320x320 → 256x320) it times, as the median of several runs
 * after warm-up:
 *   - inference: the network on a batch of 8 encoder inputs + the warp of
 *     each film (given at twice the frame) into the output frame, per image;
 *   - one training step (batch 8): augmentation, forward, warp, loss,
 *     backward, AdamW;
 * each case in its own process so its peak memory (max RSS) is its own.
 * Then: the export warp at full resolution (1024x1024), `align` end to end
 * (read, decode, predict, warp, encode, write) on synthetic 1024x1024 films,
 * and — when installed — the same network in Debian's PyTorch
 * (bench/torch_reference.py) and a classic elastix affine registration, as
 * yardsticks, with the ratios and the issue's speed targets.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AlignmentModel, DEFAULT_AUGMENT, Trainer, AlignmentLoss, defaultStnConfig, defaultTrainerSettings, encodePng,
  paramsRows, paramsToMatrix, tf, warpImage, type GrayImage, type Size, type TrainingImage,
} from '../../src/engine/index';
import { warpImageHost } from '../../src/engine/align/warp-host';
import { formatOptions, formatSize, parseArgs, parseSize, UsageError, type OptionSpecs } from '../args';
import { setupBackend } from '../backend';
import { DEFAULT_MODEL_DIR, DEFAULT_TEMPLATE, REPO_ROOT, loadModelDir } from '../model';
import { silentSink } from '../progress';
import { alignCommand, defaultWorkers } from './align';

export interface BenchCase {
  backend: 'wasm' | 'cpu';
  /** Encoder input side. */
  loc: number;
  /** Output frame of inference. */
  out: Size;
  /** Loss frame of training (sources at twice this). */
  train: Size;
}

export interface CaseResult extends BenchCase {
  label?: string;
  batch: number;
  runs: number;
  warmup: number;
  /** Network + warp, per image. */
  inferMsPerImage: number;
  netMsPerImage: number;
  warpMsPerImage: number;
  trainMsPerStep?: number;
  trainMsPerImage?: number;
  trainRuns?: number;
  trainWarmup?: number;
  peakRssMb: number;
  peakTensorMb: number;
  /** The case could not run at all. */
  error?: string;
  /** Inference ran, the training step failed (e.g. out of WASM memory). */
  trainError?: string;
  profile?: { infer: [string, number, number][]; train?: [string, number, number][] };
}

export interface TorchResult {
  loc: number;
  out: [number, number];
  train_frame: [number, number];
  infer_ms_per_image: number;
  train_ms_per_step?: number;
  train_ms_per_image?: number;
  peak_rss_mb: number;
  threads: number;
  torch: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timeRuns(f: () => Promise<void> | void, runs: number, warmup: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await f();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

/** Deterministic pseudo-random values in [0, 1). */
function noise(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32;
  }
  return out;
}

/** A chest-like synthetic film: bright body, two dark lung fields, some texture. */
export function syntheticFilm(w: number, h: number, seed: number): GrayImage {
  const data = new Float32Array(w * h);
  const n = noise(w * h, seed);
  const dx = ((seed % 7) - 3) * 0.01;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = x / w - 0.5 - dx;
      const v = y / h - 0.45;
      const lung = (cx: number) => Math.max(0, 1 - ((u - cx) / 0.15) ** 2 - (v / 0.3) ** 2);
      const body = Math.max(0, 1 - (u / 0.45) ** 2 - (v / 0.6) ** 2);
      data[y * w + x] = Math.min(1, Math.max(0, 0.15 + 0.6 * Math.sqrt(body) - 0.45 * Math.sqrt(lung(-0.18) + lung(0.18)) + 0.05 * n[y * w + x]));
    }
  }
  return { width: w, height: h, data, source: `synthetic-${seed}` };
}

function topKernels(prof: Awaited<ReturnType<typeof tf.profile>>, k = 14): [string, number, number][] {
  const agg = new Map<string, { ms: number; n: number }>();
  for (const kr of prof.kernels) {
    // Op scopes ("fusedConv2d__op", a customGrad's "unnamed scope") wrap kernels that are listed too.
    if (kr.name.endsWith('__op') || kr.name === 'unnamed scope') continue;
    const a = agg.get(kr.name) ?? { ms: 0, n: 0 };
    a.ms += Number(kr.kernelTimeMs) || 0;
    a.n++;
    agg.set(kr.name, a);
  }
  return [...agg.entries()].sort((p, q) => q[1].ms - p[1].ms).slice(0, k).map(([name, a]) => [name, Math.round(a.ms * 10) / 10, a.n]);
}

/** One case, in this process (the parent runs each in a child process). */
export async function runCase(
  c: BenchCase,
  o: { batch: number; runs: number; warmup: number; skipTrain?: boolean; profile?: boolean; peak?: boolean; trainRuns?: number; trainWarmup?: number },
  onInference?: (partial: CaseResult) => void,
): Promise<CaseResult> {
  const started = await setupBackend(c.backend);
  if (started !== c.backend) throw new Error(`${c.backend} did not start`);
  const B = o.batch;
  const L = c.loc;
  let peakTensorBytes = 0;
  const model = new AlignmentModel(defaultStnConfig({ locSize: L, frame: c.out }));
  // A head with non-zero weights, so the warp is not the identity fast path of anything.
  model.params.assign('head.fc2.weight', tf.randomNormal([256, 5], 0, 0.01, 'float32', 1));
  const loc = tf.tensor4d(noise(B * L * L, 1), [B, L, L, 1]);
  const films = Array.from({ length: B }, (_, i) => syntheticFilm(2 * c.out.width, 2 * c.out.height, i + 1));

  const netMs: number[] = [];
  const warpMs: number[] = [];
  const infer = async () => {
    const t0 = performance.now();
    const p = model.predictParams(loc);
    await p.data();
    const rows = paramsRows(p);
    p.dispose();
    const t1 = performance.now();
    for (let i = 0; i < B; i++) warpImageHost(films[i], paramsToMatrix(rows[i]), c.out);
    netMs.push(t1 - t0);
    warpMs.push(performance.now() - t1);
  };
  const inferMs = await timeRuns(infer, o.runs, o.warmup);
  const timed = (xs: number[]) => median(xs.slice(o.warmup));
  const result: CaseResult = {
    ...c, batch: B, runs: o.runs, warmup: o.warmup,
    inferMsPerImage: inferMs / B, netMsPerImage: timed(netMs) / B, warpMsPerImage: timed(warpMs) / B,
    peakRssMb: 0, peakTensorMb: 0,
  };
  // One more (profiled) run for the tensor peak and the kernel table; skipped on the slow CPU backend.
  const measurePeak = o.peak ?? true;
  if (measurePeak || o.profile) {
    const pi = await tf.profile(infer);
    peakTensorBytes = Math.max(peakTensorBytes, pi.peakBytes);
    if (o.profile) result.profile = { infer: topKernels(pi) };
  }

  onInference?.({ ...result, peakTensorMb: measurePeak || o.profile ? peakTensorBytes / 2 ** 20 : NaN, peakRssMb: process.resourceUsage().maxRSS / 1024 });
  if (!o.skipTrain) {
    const srcSize = { width: 2 * c.train.width, height: 2 * c.train.height };
    const images: TrainingImage[] = Array.from({ length: B }, (_, i) => ({
      id: `film${i}`, loc: noise(L * L, 10 + i), src: syntheticFilm(srcSize.width, srcSize.height, 20 + i).data,
    }));
    const template = tf.tensor4d(syntheticFilm(c.train.width, c.train.height, 99).data, [1, c.train.height, c.train.width, 1]);
    const loss = new AlignmentLoss({ kind: 'lncc', window: 9 }, { template });
    const trainer = new Trainer(model, loss, defaultTrainerSettings(model, {
      steps: 1000, batchSize: B, frame: c.train, srcSize, augment: DEFAULT_AUGMENT,
    }));
    result.trainRuns = o.trainRuns ?? o.runs;
    result.trainWarmup = o.trainWarmup ?? o.warmup;
    const stepMs = await timeRuns(async () => { await trainer.trainStep(images); }, result.trainRuns, result.trainWarmup);
    result.trainMsPerStep = stepMs;
    result.trainMsPerImage = stepMs / B;
    if (measurePeak || o.profile) {
      const pt = await tf.profile(async () => { await trainer.trainStep(images); });
      peakTensorBytes = Math.max(peakTensorBytes, pt.peakBytes);
      if (o.profile && result.profile) result.profile.train = topKernels(pt, 20);
    }
    trainer.dispose();
    loss.dispose();
    template.dispose();
  }
  loc.dispose();
  model.dispose();
  result.peakTensorMb = measurePeak || o.profile ? peakTensorBytes / 2 ** 20 : NaN;
  result.peakRssMb = process.resourceUsage().maxRSS / 1024;
  return result;
}

function caseArg(c: BenchCase): string {
  return `${c.backend}:${c.loc}:${formatSize(c.out)}:${formatSize(c.train)}`;
}

function parseCase(text: string): BenchCase {
  const [backend, loc, out, train] = text.split(':');
  if ((backend !== 'wasm' && backend !== 'cpu') || !Number(loc) || !out || !train) {
    throw new UsageError(`--case "${text}" must be BACKEND:LOC:OUTWxH:TRAINWxH, e.g. wasm:128:256x320:128x160`);
  }
  return { backend, loc: Number(loc), out: parseSize(out), train: parseSize(train) };
}

/** Run one case in a child process (clean peak memory, no backend interference). */
function runCaseChild(c: BenchCase, o: { batch: number; runs: number; warmup: number; skipTrain: boolean; profile: boolean; peak: boolean; trainRuns?: number; trainWarmup?: number }): CaseResult {
  const args = [join(REPO_ROOT, 'bin/cxr-align.mjs'), 'bench', '--case', caseArg(c), '--batch', String(o.batch), '--runs', String(o.runs), '--warmup', String(o.warmup)];
  if (o.skipTrain) args.push('--skip-train');
  if (o.profile) args.push('--profile');
  if (!o.peak) args.push('--no-peak');
  if (o.trainRuns !== undefined) args.push('--train-runs', String(o.trainRuns));
  if (o.trainWarmup !== undefined) args.push('--train-warmup', String(o.trainWarmup));
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const line = r.stdout.split('\n').reverse().find((l) => l.startsWith('{'));
  const why = () => {
    // The child's last stderr line is the CLI's own "cxr-align bench: <message>".
    const last = (r.stderr ?? '').trim().split('\n').filter((l) => l.trim()).pop() ?? '';
    const msg = last.replace(/^cxr-align bench:\s*/, '') || `exit ${r.status ?? r.signal}`;
    const hint = /out of bounds|Aborted|memory/i.test(msg) ? ' (WASM heap exhausted: the 4 GB wasm32 limit)' : '';
    return `${msg.length > 160 ? `${msg.slice(0, 157)}…` : msg}${hint}`;
  };
  if (!line) {
    return { ...c, batch: o.batch, runs: 0, warmup: 0, inferMsPerImage: NaN, netMsPerImage: NaN, warpMsPerImage: NaN, peakRssMb: NaN, peakTensorMb: NaN, error: why() };
  }
  const res = JSON.parse(line) as CaseResult & { partial?: boolean };
  if (res.partial) {
    delete res.partial;
    res.trainError = r.status === 0 ? 'no result' : why();
  }
  return res;
}

export function torchAvailable(python = '/usr/bin/python3'): boolean {
  if (!existsSync(python)) return false;
  return spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
}

function runTorch(c: BenchCase, o: { batch: number; runs: number; warmup: number; threads: number; skipTrain: boolean }, python = '/usr/bin/python3'): TorchResult | { error: string } {
  const args = [join(REPO_ROOT, 'bench/torch_reference.py'), '--case', `${c.loc}:${formatSize(c.out)}:${formatSize(c.train)}`,
    '--batch', String(o.batch), '--runs', String(o.runs), '--warmup', String(o.warmup), '--threads', String(o.threads)];
  if (o.skipTrain) args.push('--skip-train');
  const r = spawnSync(python, args, { encoding: 'utf8' });
  const line = r.stdout.split('\n').reverse().find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) return { error: (r.stderr || `exit ${r.status}`).trim().split('\n').slice(-2).join(' | ') };
  return JSON.parse(line) as TorchResult;
}

/** elastix affine (multi-resolution MI) per film, in seconds; null when elastix is not installed. */
function runElastix(films: string[], template: string): { secondsPerImage: number; each: number[] } | { error: string } | null {
  const which = spawnSync('sh', ['-c', 'command -v elastix'], { encoding: 'utf8' });
  if (which.status !== 0) return null;
  const each: number[] = [];
  for (const f of films) {
    const out = mkdtempSync(join(tmpdir(), 'cxr-elastix-'));
    const t0 = performance.now();
    const r = spawnSync('elastix', ['-f', template, '-m', f, '-p', join(REPO_ROOT, 'bench/elastix-affine.txt'), '-out', out, '-threads', '2'], { encoding: 'utf8' });
    const s = (performance.now() - t0) / 1000;
    rmSync(out, { recursive: true, force: true });
    if (r.status !== 0) return { error: (r.stdout || r.stderr || '').trim().split('\n').slice(-2).join(' | ') };
    each.push(s);
  }
  return { secondsPerImage: median(each), each };
}

const fmt = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));

export interface BenchReport {
  cases: (CaseResult & { torch?: TorchResult | { error: string } })[];
  warp: { hostMs: number; tensorMs: number; size: Size };
  align?: { msPerImage: number; totalMsPerImage: number; films: number; model: string; workers: number };
  elastix?: { secondsPerImage: number; each: number[] } | { error: string } | null;
  machine: string;
}

export function formatReport(r: BenchReport): string {
  const lines: string[] = [];
  lines.push(`cxr-align bench — ${r.machine}`);
  lines.push('ms per image = median of the runs after warm-up; inference = network (batch 8) + warp into the output frame;');
  lines.push('train = one step at batch 8 (augment, forward, warp, 1−LNCC, backward, AdamW) divided by 8.');
  lines.push('');
  const head = ['backend', 'resolution (enc → out; train frame)', 'infer ms/img', 'torch', 'ratio', 'train ms/img', 'torch', 'ratio', 'peak RSS MB', 'peak tensors MB'];
  const rows: string[][] = [head];
  for (const c of r.cases) {
    const t = c.torch && !('error' in c.torch) ? c.torch : undefined;
    const res = `${c.label ? `${c.label}: ` : ''}${c.loc}² → ${formatSize(c.out)}; ${formatSize(c.train)}`;
    if (c.error) {
      rows.push([c.backend, res, `error: ${c.error}`]);
      continue;
    }
    rows.push([
      c.backend, res,
      `${fmt(c.inferMsPerImage)} (net ${fmt(c.netMsPerImage)} + warp ${fmt(c.warpMsPerImage, 2)})`, fmt(t?.infer_ms_per_image), t ? fmt(c.inferMsPerImage / t.infer_ms_per_image, 2) : '-',
      c.trainError ? 'failed (see below)' : `${fmt(c.trainMsPerImage)}${c.trainRuns !== undefined && c.trainRuns !== c.runs ? ` (${c.trainRuns} run${c.trainRuns === 1 ? '' : 's'}, ${c.trainWarmup} warm-up)` : ''}`, fmt(t?.train_ms_per_image), t && c.trainMsPerImage ? fmt(c.trainMsPerImage / t.train_ms_per_image!, 2) : '-',
      fmt(c.peakRssMb, 0), fmt(c.peakTensorMb, 0),
    ]);
  }
  const widths = head.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  for (const row of rows) lines.push(row.map((v, i) => (v ?? '').padEnd(widths[i])).join('  ').trimEnd());
  for (const c of r.cases.filter((x) => x.trainError)) lines.push(`${c.backend} ${c.label}: the training step failed: ${c.trainError}`);
  if (r.cases.some((c) => c.backend === 'cpu' && !c.error && !c.trainError && c.trainMsPerImage === undefined)) {
    lines.push('cpu training: not timed by default (pure-JS conv gradients: ~20 s per image per step at 64x64, ~10 min per batch-8 step at 128x128); --cpu-train times it');
  }
  const torchRows = r.cases.filter((c) => c.torch && !('error' in c.torch));
  const torchErr = r.cases.find((c) => c.torch && 'error' in c.torch)?.torch as { error: string } | undefined;
  if (torchRows.length) {
    const t = torchRows[0].torch as TorchResult;
    lines.push(`torch = Debian python3-torch ${t.torch}, ${t.threads} threads, same topology and step (bench/torch_reference.py); its peak RSS: ${torchRows.map((c) => fmt((c.torch as TorchResult).peak_rss_mb, 0)).join(', ')} MB`);
  } else {
    lines.push(torchErr ? `torch: failed: ${torchErr.error}` : 'torch: /usr/bin/python3 with torch not found — no PyTorch ratios');
  }
  lines.push('');
  lines.push(`export warp ${formatSize(r.warp.size)} → ${formatSize(r.warp.size)}: host ${fmt(r.warp.hostMs)} ms, tensor sampler ${fmt(r.warp.tensorMs)} ms`);
  if (r.align) {
    lines.push(`align end to end (${r.align.films} synthetic 1024x1024 PNGs → 256x320, ${r.align.model}, ${r.align.workers} worker thread(s)): `
      + `${fmt(r.align.msPerImage)} ms/image after the first batch (${fmt(r.align.totalMsPerImage)} ms/image including model load and start-up)`);
  }
  const e = r.elastix;
  if (e && 'secondsPerImage' in e) lines.push(`elastix affine (4 levels, Mattes MI, 2 threads): ${fmt(e.secondsPerImage, 2)} s/image (${e.each.map((s) => s.toFixed(2)).join(', ')})`);
  else if (e && 'error' in e) lines.push(`elastix: failed: ${e.error}`);
  else if (e === null) lines.push('elastix: not installed — comparing with the issue\'s 1.9 s/image');

  lines.push('');
  lines.push('targets:');
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'MET' : 'NOT MET');
  for (const c of r.cases.filter((x) => x.backend === 'wasm' && !x.error)) {
    const t = c.torch && !('error' in c.torch) ? c.torch : undefined;
    const ri = t ? c.inferMsPerImage / t.infer_ms_per_image : undefined;
    const rt = t && c.trainMsPerImage && t.train_ms_per_image ? c.trainMsPerImage / t.train_ms_per_image : undefined;
    lines.push(`  inference ≤ 1.5x PyTorch (${c.label ?? c.loc}): ${ri === undefined ? '-' : `${ri.toFixed(2)}x`} ${verdict(ri === undefined ? undefined : ri <= 1.5)}`);
    lines.push(`  training step ≤ 2x PyTorch (${c.label ?? c.loc}): ${c.trainError ? 'the step failed — NOT MET' : `${rt === undefined ? '-' : `${rt.toFixed(2)}x`} ${verdict(rt === undefined ? undefined : rt <= 2)}`}`);
  }
  lines.push(`  full-resolution warp (1024x1024) ≤ 30 ms: ${fmt(r.warp.hostMs)} ms ${verdict(r.warp.hostMs <= 30)}`);
  if (r.align) {
    const ref = e && 'secondsPerImage' in e ? e.secondsPerImage : 1.9;
    const speedup = (ref * 1000) / r.align.msPerImage;
    lines.push(`  align ≥ 20x faster than elastix per image: ${speedup.toFixed(0)}x (${fmt(r.align.msPerImage)} ms vs ${ref.toFixed(2)} s) ${verdict(speedup >= 20)}`);
  }
  for (const c of r.cases.filter((x) => x.profile)) {
    lines.push('');
    lines.push(`profile (${c.backend}, ${c.label ?? c.loc}): kernel ms for one batch of ${c.batch} [name ms calls]`);
    lines.push(`  inference: ${c.profile!.infer.map(([n, ms, k]) => `${n} ${ms} (${k})`).join(', ')}`);
    if (c.profile!.train) lines.push(`  train step: ${c.profile!.train.map(([n, ms, k]) => `${n} ${ms} (${k})`).join(', ')}`);
  }
  return lines.join('\n');
}

export const BENCH_OPTIONS: OptionSpecs = {
  backends: { type: 'string', meta: 'LIST', default: 'wasm,cpu', help: 'backends to time, comma-separated' },
  resolutions: { type: 'string', meta: 'LIST', default: 'default,original', help: 'default (the default model\'s encoder size → 256x320, train frame 128x160), original (320 → 256x320, train frame 256x320), or LOC:OUTWxH:TRAINWxH' },
  batch: { type: 'int', meta: 'N', default: 8, help: 'batch size of inference and training' },
  runs: { type: 'int', meta: 'N', default: 5, help: 'timed runs per measurement on WASM (median reported)' },
  warmup: { type: 'int', meta: 'N', default: 2, help: 'untimed runs first on WASM' },
  'cpu-runs': { type: 'int', meta: 'N', default: 2, help: 'timed runs on the (much slower) CPU backend' },
  'cpu-warmup': { type: 'int', meta: 'N', default: 1, help: 'untimed runs first on the CPU backend' },
  'skip-train': { type: 'boolean', help: 'time inference only' },
  torch: { type: 'boolean', default: true, help: 'run the PyTorch yardstick when /usr/bin/python3 has torch (--no-torch to skip)' },
  'torch-threads': { type: 'int', meta: 'N', default: 2, help: 'torch.set_num_threads for the yardstick' },
  elastix: { type: 'boolean', default: true, help: 'time elastix affine registration when installed (--no-elastix to skip)' },
  'cpu-train-runs': { type: 'int', meta: 'N', default: 1, help: 'timed training steps on the CPU backend (each takes minutes)' },
  'cpu-train-warmup': { type: 'int', meta: 'N', default: 0, help: 'untimed training steps first on the CPU backend' },
  'cpu-train': { type: 'boolean', help: 'also time training on the CPU backend (about 10 minutes per step at 128x128, an hour at 320x320)' },
  profile: { type: 'boolean', help: 'also print where the kernel time goes (WASM cases)' },
  peak: { type: 'boolean', default: true, help: 'internal: one extra profiled run per case for the tensor peak' },
  'train-runs': { type: 'int', meta: 'N', help: 'internal: timed training steps of a --case (default --runs)' },
  'train-warmup': { type: 'int', meta: 'N', help: 'internal: untimed training steps of a --case (default --warmup)' },
  json: { type: 'string', meta: 'FILE', help: 'also write all numbers as JSON' },
  case: { type: 'string', meta: 'SPEC', help: 'internal: run one case in this process and print JSON' },
};

export const BENCH_USAGE = `Usage: cxr-align bench [options]

Times inference and a training step per backend and resolution (each case in
its own process), the full-resolution export warp and align end to end, and
compares with PyTorch (Debian's python3-torch, when installed) and elastix.
Numbers are wall-clock on this machine: close other heavy programs first.

${formatOptions(BENCH_OPTIONS)}

Examples:
  cxr-align bench
  cxr-align bench --backends wasm --profile
  cxr-align bench --resolutions 160:256x320:128x160 --no-elastix`;

export async function runBench(argv: string[]): Promise<number> {
  const a = parseArgs(argv, BENCH_OPTIONS);
  const v = a.values;
  const batch = v.batch as number;
  if (v.case) {
    const c = parseCase(v.case as string);
    // The inference numbers go out first, so a training step that crashes the process leaves them behind.
    const r = await runCase(c, {
      batch, runs: v.runs as number, warmup: v.warmup as number, skipTrain: !!v['skip-train'], profile: !!v.profile, peak: v.peak as boolean,
      trainRuns: v['train-runs'] as number | undefined, trainWarmup: v['train-warmup'] as number | undefined,
    }, (partial) => console.log(JSON.stringify({ ...partial, partial: true })));
    console.log(JSON.stringify(r));
    return 0;
  }
  const log = (m: string) => console.error(m);
  const backends = (v.backends as string).split(',').map((s) => s.trim()).filter(Boolean);
  for (const b of backends) if (b !== 'wasm' && b !== 'cpu') throw new UsageError(`--backends: unknown backend "${b}" (wasm, cpu)`);
  // This process only reads the default model's config and times the host warp and align end to end.
  await setupBackend(backends.includes('wasm') ? 'wasm' : 'cpu');
  // The default model's encoder size (models/default when present, else the engine default).
  let defaultLoc = defaultStnConfig().locSize;
  let defaultOut = defaultStnConfig().frame;
  let defaultName = 'untrained default config';
  if (existsSync(join(DEFAULT_MODEL_DIR, 'model.json'))) {
    const { model } = await loadModelDir(DEFAULT_MODEL_DIR);
    defaultLoc = model.config.locSize;
    defaultOut = model.config.frame;
    defaultName = 'models/default';
    model.dispose();
  }
  const resolutions = (v.resolutions as string).split(',').map((s) => s.trim()).filter(Boolean).map((name) => {
    if (name === 'default') return { label: 'default', loc: defaultLoc, out: defaultOut, train: { width: 128, height: 160 } };
    if (name === 'original') return { label: 'original', loc: 320, out: { width: 256, height: 320 }, train: { width: 256, height: 320 } };
    const c = parseCase(`wasm:${name}`);
    return { label: name, loc: c.loc, out: c.out, train: c.train };
  });
  const skipTrain = !!v['skip-train'];
  const haveTorch = v.torch ? torchAvailable() : false;

  const report: BenchReport = { cases: [], warp: { hostMs: NaN, tensorMs: NaN, size: { width: 1024, height: 1024 } }, machine: machineLine() };
  const torchByRes = new Map<string, TorchResult | { error: string }>();
  for (const res of resolutions) {
    for (const backend of backends as ('wasm' | 'cpu')[]) {
      // The CPU backend (pure JavaScript kernels) is ~40x slower at inference and far slower at
      // training (measured: 20 s per image for forward+backward at 64x64, so a batch-8 step at
      // 128x128 takes ~10 minutes): fewer runs, no extra profiled run, training only when asked.
      const o = backend === 'cpu'
        ? {
          batch, runs: v['cpu-runs'] as number, warmup: v['cpu-warmup'] as number, profile: false, peak: false,
          skipTrain: skipTrain || !v['cpu-train'],
          trainRuns: v['cpu-train-runs'] as number, trainWarmup: v['cpu-train-warmup'] as number,
        }
        : { batch, runs: v.runs as number, warmup: v.warmup as number, skipTrain, profile: !!v.profile, peak: true };
      log(`bench: ${backend}, ${res.label} (${res.loc}² → ${formatSize(res.out)}, train ${formatSize(res.train)}), ${o.warmup} warm-up + ${o.runs} runs…`);
      const r = runCaseChild({ backend, loc: res.loc, out: res.out, train: res.train }, o);
      r.label = res.label;
      if (r.error) log(`bench: ${backend} ${res.label} failed: ${r.error}`);
      else if (r.trainError) log(`bench: ${backend} ${res.label}: inference ${fmt(r.inferMsPerImage)} ms/img; training failed: ${r.trainError}`);
      else log(`bench: ${backend} ${res.label}: inference ${fmt(r.inferMsPerImage)} ms/img, training ${fmt(r.trainMsPerImage)} ms/img, peak RSS ${fmt(r.peakRssMb, 0)} MB`);
      report.cases.push(r);
    }
    if (haveTorch) {
      log(`bench: PyTorch, ${res.label}…`);
      const t = runTorch({ backend: 'wasm', ...res }, { batch, runs: v.runs as number, warmup: v.warmup as number, threads: v['torch-threads'] as number, skipTrain });
      torchByRes.set(res.label, t);
      log('error' in t ? `bench: PyTorch ${res.label} failed: ${t.error}` : `bench: PyTorch ${res.label}: inference ${fmt(t.infer_ms_per_image)} ms/img, training ${fmt(t.train_ms_per_image)} ms/img`);
    }
  }
  for (const c of report.cases) if (torchByRes.has(c.label!)) (c as BenchReport['cases'][number]).torch = torchByRes.get(c.label!);

  // Export warp at full resolution, host vs tensor sampler; align end to end; elastix.
  const big = syntheticFilm(1024, 1024, 5);
  const m = paramsToMatrix([0.03, -0.02, 0.9, 0.92, 0.05]);
  report.warp.hostMs = await timeRuns(() => { warpImageHost(big, m, report.warp.size); }, 7, 2);
  report.warp.tensorMs = await timeRuns(async () => { await warpImage(big, m, report.warp.size); }, 3, 1);

  const dir = mkdtempSync(join(tmpdir(), 'cxr-bench-'));
  try {
    const films: string[] = [];
    mkdirSync(join(dir, 'in'));
    for (let i = 0; i < 40; i++) {
      const p = join(dir, 'in', `film${String(i).padStart(2, '0')}.png`);
      writeFileSync(p, encodePng(syntheticFilm(1024, 1024, 100 + i)));
      films.push(p);
    }
    log('bench: align end to end on 40 synthetic 1024x1024 films…');
    // One warm-up pass (model build, WASM start), then the timed one.
    await alignCommand({ inputs: films.slice(0, 8), out: join(dir, 'warm'), sink: silentSink, log: () => {} });
    const s = await alignCommand({ inputs: [join(dir, 'in')], out: join(dir, 'out'), sink: silentSink, log: () => {} });
    report.align = {
      msPerImage: (s.steady.seconds * 1000) / Math.max(1, s.steady.images), totalMsPerImage: (s.seconds * 1000) / s.aligned,
      films: s.aligned, model: existsSync(join(DEFAULT_MODEL_DIR, 'model.json')) ? 'models/default' : defaultName, workers: defaultWorkers(),
    };
    if (v.elastix) {
      log('bench: elastix on 3 films…');
      report.elastix = runElastix(films.slice(0, 3), DEFAULT_TEMPLATE);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const text = formatReport(report);
  console.log(text);
  if (v.json) writeFileSync(v.json as string, JSON.stringify(report, null, 1));
  return 0;
}

function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'} x${cpus.length}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, Node ${process.version}`;
}
