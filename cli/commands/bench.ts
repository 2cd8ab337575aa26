/**
 * `cxr-align bench`: how fast the engine runs on this machine.
 *
 * For each backend (WASM, CPU, and WebGPU when asked for) and resolution (the default model's, and the
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
 * yardsticks, with the ratios and the speed targets.
 *
 * WebGPU cases also check their results against WASM (the same weights and
 * inputs: predicted parameters, first training step's loss). On a software
 * adapter (SwiftShader, ~1 GFLOP/s) that check is what they are for: their
 * timings mean correctness, not speed.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultStnConfig, encodePng, paramsToMatrix, syntheticChest, warpImage, type Size } from '../../src/engine/index';
import { warpImageHost } from '../../src/engine/align/warp-host';
import { formatOptions, formatSize, parseArgs, UsageError, type OptionSpecs, type ParsedArgs } from '../args';
import { setupBackend, wasmThreads } from '../backend';
import { BENCH_BACKENDS, runCase, type BenchBackend } from '../bench/case';
import { parseCase, runCaseChild } from '../bench/child';
import { runElastix } from '../bench/elastix';
import { checkLine, fmt, formatReport, machineLine, type BenchReport } from '../bench/report';
import { median, timeRuns } from '../bench/timing';
import { runTorch, torchAvailable, type TorchResult } from '../bench/torch';
import { defaultWasmThreads, parseThreads } from '../wasm-threads';
import { installNodeWebGpu } from '../webgpu-node';
import { DEFAULT_MODEL_DIR, DEFAULT_TEMPLATE, loadModelDir } from '../model';
import { silentSink } from '../progress';
import { alignCommand, defaultNetworks, defaultWorkers } from './align';

export { median, runCase, formatReport, torchAvailable };
export type { BenchBackend, BenchReport, TorchResult };
export type { BenchCase, CaseResult, WasmCheck } from '../bench/case';

export const BENCH_OPTIONS: OptionSpecs = {
  backends: { type: 'string', meta: 'LIST', default: 'wasm,cpu', help: 'backends to time, comma-separated: wasm, cpu, webgpu (the optional `webgpu` package; SwiftShader without a GPU)' },
  resolutions: { type: 'string', meta: 'LIST', default: 'default,original', help: 'default (the default model\'s encoder size → 256x320, train frame 128x160), original (320 → 256x320, train frame 256x320), or LOC:OUTWxH:TRAINWxH' },
  batch: { type: 'int', meta: 'N', default: 8, help: 'batch size of inference and training' },
  runs: { type: 'int', meta: 'N', default: 5, help: 'timed runs per measurement on WASM (median reported)' },
  warmup: { type: 'int', meta: 'N', default: 2, help: 'untimed runs first on WASM' },
  'cpu-runs': { type: 'int', meta: 'N', default: 2, help: 'timed runs on the (much slower) CPU backend' },
  'cpu-warmup': { type: 'int', meta: 'N', default: 1, help: 'untimed runs first on the CPU backend' },
  'webgpu-resolutions': { type: 'string', meta: 'LIST', default: 'auto', help: 'resolutions of the webgpu cases; auto = --resolutions on a GPU, "small" (64 → 64x80, train frame 32x40, with a WASM row beside it) on a software adapter like SwiftShader' },
  'webgpu-batch': { type: 'int', meta: 'N', help: 'batch of the webgpu cases (default: --batch on a GPU, 2 on a software adapter)' },
  'webgpu-runs': { type: 'int', meta: 'N', default: 1, help: 'timed runs on a software WebGPU adapter (a GPU gets --runs)' },
  'webgpu-warmup': { type: 'int', meta: 'N', default: 1, help: 'untimed runs first on a software WebGPU adapter (a GPU gets --warmup)' },
  'skip-train': { type: 'boolean', help: 'time inference only' },
  torch: { type: 'boolean', default: true, help: 'run the PyTorch yardstick when /usr/bin/python3 has torch (--no-torch to skip)' },
  threads: { type: 'string', meta: 'LIST', default: 'auto', help: 'WASM thread counts to time, comma-separated (auto = 1 and every core, at most 8); PyTorch runs at each too' },
  'torch-threads': { type: 'string', meta: 'LIST', help: 'torch.set_num_threads for the yardstick (default: the --threads list)' },
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
  cxr-align bench --backends wasm,webgpu
  cxr-align bench --resolutions 160:256x320:128x160 --no-elastix`;

type Values = ParsedArgs['values'];

export async function runBench(argv: string[]): Promise<number> {
  const v = parseArgs(argv, BENCH_OPTIONS).values;
  const batch = v.batch as number;
  if (v.case) return runCaseHere(v, batch);
  const log = (m: string) => console.error(m);
  const backends = (v.backends as string).split(',').map((s) => s.trim()).filter(Boolean);
  for (const b of backends) if (!BENCH_BACKENDS.includes(b as BenchBackend)) throw new UsageError(`--backends: unknown backend "${b}" (${BENCH_BACKENDS.join(', ')})`);
  // Which adapter the webgpu cases will get (and a clean error now, before minutes of other cases, when there is none).
  const adapter = backends.includes('webgpu') ? await installNodeWebGpu() : undefined;
  // This process only reads the default model's config and times the host warp and align end to end.
  await setupBackend(backends.includes('wasm') ? 'wasm' : backends.includes('cpu') ? 'cpu' : 'auto');
  const defaults = await defaultResolution();
  const planned = planCases(v, backends as BenchBackend[], adapter?.software ?? false, defaults);

  const report: BenchReport = {
    cases: [], warp: { hostMs: NaN, tensorMs: NaN, size: { width: 1024, height: 1024 } }, machine: machineLine(), batch, adapter,
  };
  runPlannedCases(v, planned, adapter?.software ?? false, report, log);
  await timeEndToEnd(v, report, defaults.name, log);
  const text = formatReport(report);
  console.log(text);
  if (v.json) writeFileSync(v.json as string, JSON.stringify(report, null, 1));
  // A backend that computes something else than WASM is a failure, whatever its speed.
  return report.cases.some((c) => c.check && !c.check.ok) ? 1 : 0;
}

/** `bench --case …` (a child process of the parent run): one case here, printed as JSON. */
async function runCaseHere(v: Values, batch: number): Promise<number> {
  const c = parseCase(v.case as string);
  if (v.threads !== undefined && v.threads !== 'auto') c.threads = parseThreads(v.threads as string);
  // The inference numbers go out first, so a training step that crashes the process leaves them behind.
  const r = await runCase(c, {
    batch, runs: v.runs as number, warmup: v.warmup as number, skipTrain: !!v['skip-train'], profile: !!v.profile, peak: v.peak as boolean,
    trainRuns: v['train-runs'] as number | undefined, trainWarmup: v['train-warmup'] as number | undefined,
  }, (partial) => console.log(JSON.stringify({ ...partial, partial: true })));
  console.log(JSON.stringify(r));
  return 0;
}

/** The default model's encoder size (models/default when present, else the engine default). */
async function defaultResolution(): Promise<{ loc: number; out: Size; name: string }> {
  if (!existsSync(join(DEFAULT_MODEL_DIR, 'model.json'))) return { loc: defaultStnConfig().locSize, out: defaultStnConfig().frame, name: 'untrained default config' };
  const { model } = await loadModelDir(DEFAULT_MODEL_DIR);
  const r = { loc: model.config.locSize, out: model.config.frame, name: 'models/default' };
  model.dispose();
  return r;
}

type Resolution = { label: string; loc: number; out: Size; train: Size };
type Planned = { res: Resolution; backend: BenchBackend; batch: number; threads?: number };

/** Which cases run: every backend at every resolution, WASM at each thread count; WebGPU on a software adapter at small ones. */
function planCases(v: Values, backends: BenchBackend[], software: boolean, defaults: { loc: number; out: Size }) {
  const batch = v.batch as number;
  const resolutionList = (text: string): Resolution[] => text.split(',').map((s) => s.trim()).filter(Boolean).map((name) => {
    if (name === 'default') return { label: 'default', loc: defaults.loc, out: defaults.out, train: { width: 128, height: 160 } };
    if (name === 'original') return { label: 'original', loc: 320, out: { width: 256, height: 320 }, train: { width: 256, height: 320 } };
    if (name === 'small') return { label: 'small', loc: 64, out: { width: 64, height: 80 }, train: { width: 32, height: 40 } };
    const c = parseCase(`wasm:${name}`);
    return { label: name, loc: c.loc, out: c.out, train: c.train };
  });
  const resolutions = resolutionList(v.resolutions as string);
  // A software adapter (SwiftShader, ~1 GFLOP/s on a few cores) would take an hour over the default cases:
  // it gets small ones, beside WASM at the same size, and they show that WebGPU computes what WASM does.
  const gpuText = v['webgpu-resolutions'] as string;
  const gpuResolutions = gpuText === 'auto' ? (software ? resolutionList('small') : resolutions) : resolutionList(gpuText);
  const gpuBatch = (v['webgpu-batch'] as number | undefined) ?? (software ? 2 : batch);
  const threadList = (text: string) => [...new Set(text.split(',').map((t) => t.trim()).filter(Boolean).map((t) => parseThreads(t)))].sort((a, b) => a - b);
  const wasmThreadList = v.threads === 'auto' ? [...new Set([1, defaultWasmThreads()])] : threadList(v.threads as string);
  const torchThreadList = v['torch-threads'] === undefined ? wasmThreadList : threadList(v['torch-threads'] as string);
  const plan: Planned[] = [];
  const add = (p: Planned) => {
    if (p.backend === 'wasm') for (const threads of wasmThreadList) plan.push({ ...p, threads });
    else plan.push(p);
  };
  for (const res of resolutions) {
    for (const backend of backends) {
      if (backend !== 'webgpu' || gpuResolutions.some((g) => g.label === res.label)) add({ res, backend, batch: backend === 'webgpu' ? gpuBatch : batch });
    }
  }
  for (const res of gpuResolutions.filter((g) => !resolutions.some((r) => r.label === g.label))) {
    // WASM beside it at the same size and batch, for the comparison.
    if (backends.includes('wasm')) add({ res, backend: 'wasm', batch: gpuBatch });
    plan.push({ res, backend: 'webgpu', batch: gpuBatch });
  }
  return { plan, resolutions, torchThreadList };
}

/** Each planned case in a child process, PyTorch beside each benched resolution; the rows go into `report`. */
function runPlannedCases(v: Values, { plan, resolutions, torchThreadList }: ReturnType<typeof planCases>, software: boolean, report: BenchReport, log: (m: string) => void): void {
  const skipTrain = !!v['skip-train'];
  const haveTorch = v.torch ? torchAvailable() : false;
  const torchByRes = new Map<string, TorchResult | { error: string }>();
  for (const res of [...new Set(plan.map((p) => p.res))]) {
    for (const { backend, batch, threads } of plan.filter((p) => p.res === res)) {
      const o = caseRuns(v, backend, batch, software, skipTrain);
      const on = threads === undefined ? '' : ` on ${threads} thread(s)`;
      log(`bench: ${backend}${on}, ${res.label} (${res.loc}² → ${formatSize(res.out)}, train ${formatSize(res.train)}), ${o.warmup} warm-up + ${o.runs} runs…`);
      const r = runCaseChild({ backend, loc: res.loc, out: res.out, train: res.train, threads }, o);
      r.label = res.label;
      r.threads ??= threads;
      if (r.error) log(`bench: ${backend}${on} ${res.label} failed: ${r.error}`);
      else if (r.trainError) log(`bench: ${backend}${on} ${res.label}: inference ${fmt(r.inferMsPerImage)} ms/img; training failed: ${r.trainError}`);
      else log(`bench: ${backend}${on} ${res.label}: inference ${fmt(r.inferMsPerImage)} ms/img, training ${fmt(r.trainMsPerImage)} ms/img, peak RSS ${fmt(r.peakRssMb, 0)} MB`);
      if (r.check) log(`bench: ${checkLine(r)}`);
      report.cases.push(r);
    }
    if (haveTorch && resolutions.includes(res)) {
      for (const threads of torchThreadList) {
        log(`bench: PyTorch on ${threads} thread(s), ${res.label}…`);
        const t = runTorch({ backend: 'wasm', ...res }, { batch: v.batch as number, runs: v.runs as number, warmup: v.warmup as number, threads, skipTrain });
        torchByRes.set(`${res.label}:${threads}`, t);
        log('error' in t ? `bench: PyTorch ${res.label} failed: ${t.error}` : `bench: PyTorch ${threads} thread(s) ${res.label}: inference ${fmt(t.infer_ms_per_image)} ms/img, training ${fmt(t.train_ms_per_image)} ms/img`);
      }
    }
  }
  // Each row beside PyTorch at its own thread count: the CPU backend's kernels run on one thread, WebGPU's beside the most.
  for (const c of report.cases) {
    const threads = c.backend === 'wasm' ? c.threads ?? 1 : c.backend === 'cpu' ? 1 : Math.max(...torchThreadList);
    const t = torchByRes.get(`${c.label}:${threads}`);
    if (t) (c as BenchReport['cases'][number]).torch = t;
  }
}

/**
 * Runs of one case. The CPU backend (pure JavaScript kernels) is ~40x slower at inference and far slower at
 * training (measured: 20 s per image for forward+backward at 64x64, so a batch-8 step at 128x128 takes
 * ~10 minutes): fewer runs, no extra profiled run, training only when asked.
 */
function caseRuns(v: Values, backend: BenchBackend, batch: number, software: boolean, skipTrain: boolean) {
  if (backend === 'cpu') {
    return {
      batch, runs: v['cpu-runs'] as number, warmup: v['cpu-warmup'] as number, profile: false, peak: false,
      skipTrain: skipTrain || !v['cpu-train'], trainRuns: v['cpu-train-runs'] as number, trainWarmup: v['cpu-train-warmup'] as number,
    };
  }
  if (backend === 'webgpu' && software) return { batch, runs: v['webgpu-runs'] as number, warmup: v['webgpu-warmup'] as number, skipTrain, profile: false, peak: false };
  return { batch, runs: v.runs as number, warmup: v.warmup as number, skipTrain, profile: !!v.profile, peak: true };
}

/** The export warp at full resolution (host vs tensor sampler), align end to end, elastix. */
async function timeEndToEnd(v: Values, report: BenchReport, defaultName: string, log: (m: string) => void): Promise<void> {
  const big = syntheticChest({ width: 1024, height: 1024, seed: 5 });
  const m = paramsToMatrix([0.03, -0.02, 0.9, 0.92, 0.05]);
  report.warp.hostMs = await timeRuns(() => { warpImageHost(big, m, report.warp.size); }, 7, 2);
  report.warp.tensorMs = await timeRuns(async () => { await warpImage(big, m, report.warp.size); }, 3, 1);

  const dir = mkdtempSync(join(tmpdir(), 'cxr-bench-'));
  try {
    const films: string[] = [];
    mkdirSync(join(dir, 'in'));
    for (let i = 0; i < 40; i++) {
      const p = join(dir, 'in', `film${String(i).padStart(2, '0')}.png`);
      writeFileSync(p, encodePng(syntheticChest({ width: 1024, height: 1024, seed: 100 + i })));
      films.push(p);
    }
    log('bench: align end to end on 40 synthetic 1024x1024 films…');
    // One warm-up pass (model build, WASM start), then the timed one.
    await alignCommand({ inputs: films.slice(0, 8), out: join(dir, 'warm'), sink: silentSink, log: () => {} });
    const s = await alignCommand({ inputs: [join(dir, 'in')], out: join(dir, 'out'), sink: silentSink, log: () => {} });
    report.align = {
      msPerImage: (s.steady.seconds * 1000) / Math.max(1, s.steady.images), totalMsPerImage: (s.seconds * 1000) / s.aligned,
      films: s.aligned, model: existsSync(join(DEFAULT_MODEL_DIR, 'model.json')) ? 'models/default' : defaultName, workers: defaultWorkers(),
      threads: wasmThreads() ?? undefined, networks: defaultNetworks(defaultWorkers(), wasmThreads() ?? 1),
    };
    if (v.elastix) {
      log('bench: elastix on 3 films…');
      report.elastix = runElastix(films.slice(0, 3), DEFAULT_TEMPLATE);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
