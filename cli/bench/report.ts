/** The report of `cxr-align bench`: the table, the yardsticks' ratios, the speed targets. */
import * as os from 'node:os';
import type { Size } from '../../src/engine/index';
import { formatSize } from '../args';
import type { NodeGpu } from '../webgpu-node';
import type { CaseResult } from './case';
import type { TorchResult } from './torch';

export const fmt = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));

export interface BenchReport {
  cases: (CaseResult & { torch?: TorchResult | { error: string } })[];
  warp: { hostMs: number; tensorMs: number; size: Size };
  align?: { msPerImage: number; totalMsPerImage: number; films: number; model: string; workers: number; threads?: number; networks?: number };
  elastix?: { secondsPerImage: number; each: number[] } | { error: string } | null;
  machine: string;
  /** --batch (cases may differ: the webgpu ones on a software adapter). */
  batch?: number;
  /** The WebGPU adapter, when webgpu was benched. */
  adapter?: NodeGpu;
}

export function formatReport(r: BenchReport): string {
  const lines: string[] = [];
  const B = r.batch ?? 8;
  lines.push(`cxr-align bench — ${r.machine}`);
  lines.push(`ms per image = median of the runs after warm-up; inference = network (batch ${B}) + warp into the output frame;`);
  lines.push(`train = one step at batch ${B} (augment, forward, warp, 1−LNCC, backward, AdamW) divided by ${B}.`);
  if (r.adapter) {
    lines.push(`webgpu adapter: ${r.adapter.adapter}${r.adapter.software
      ? ' — a software rasteriser (no GPU): its figures mean correctness (the same results as WASM, below), not speed'
      : ''}`);
  }
  lines.push('');
  const head = ['backend', 'threads', 'resolution (enc → out; train frame)', 'infer ms/img', 'torch', 'ratio', 'train ms/img', 'torch', 'ratio', 'peak RSS MB', 'peak tensors MB'];
  const rows: string[][] = [head];
  for (const c of r.cases) {
    const threads = c.backend === 'wasm' ? String(c.threads ?? '-') : c.backend === 'cpu' ? '1 (JS)' : 'GPU';
    const res = `${c.label ? `${c.label}: ` : ''}${c.loc}² → ${formatSize(c.out)}; ${formatSize(c.train)}${c.batch !== B ? `; batch ${c.batch}` : ''}`;
    // A software adapter's timings are no match for anything: no ratios.
    const t = c.backend === 'webgpu' && c.adapter?.software ? undefined : c.torch && !('error' in c.torch) ? c.torch : undefined;
    if (c.error) {
      rows.push([c.backend, threads, res, `error: ${c.error}`]);
      continue;
    }
    rows.push([
      c.backend, threads, res,
      `${fmt(c.inferMsPerImage)} (net ${fmt(c.netMsPerImage)} + warp ${fmt(c.warpMsPerImage, 2)})`, fmt(t?.infer_ms_per_image), t ? fmt(c.inferMsPerImage / t.infer_ms_per_image, 2) : '-',
      c.trainError ? 'failed (see below)' : `${fmt(c.trainMsPerImage)}${c.trainRuns !== undefined && c.trainRuns !== c.runs ? ` (${c.trainRuns} run${c.trainRuns === 1 ? '' : 's'}, ${c.trainWarmup} warm-up)` : ''}`, fmt(t?.train_ms_per_image), t && c.trainMsPerImage ? fmt(c.trainMsPerImage / t.train_ms_per_image!, 2) : '-',
      fmt(c.peakRssMb, 0), fmt(c.peakTensorMb, 0),
    ]);
  }
  const widths = head.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  for (const row of rows) lines.push(row.map((v, i) => (v ?? '').padEnd(widths[i])).join('  ').trimEnd());
  for (const c of r.cases.filter((x) => x.trainError)) lines.push(`${c.backend} ${c.label}: the training step failed: ${c.trainError}`);
  for (const c of r.cases.filter((x) => x.check)) lines.push(checkLine(c));
  if (r.cases.some((c) => c.backend === 'cpu' && !c.error && !c.trainError && c.trainMsPerImage === undefined)) {
    lines.push('cpu training: not timed by default (pure-JS conv gradients: ~20 s per image per step at 64x64, ~10 min per batch-8 step at 128x128); --cpu-train times it');
  }
  const torchRows = r.cases.filter((c) => c.torch && !('error' in c.torch));
  const torchErr = r.cases.find((c) => c.torch && 'error' in c.torch)?.torch as { error: string } | undefined;
  if (torchRows.length) {
    const t = torchRows[0].torch as TorchResult;
    lines.push(`torch = Debian python3-torch ${t.torch}, same topology and step (bench/torch_reference.py), at the row's thread count (torch.set_num_threads; `
      + `the CPU backend's rows: torch on 1 thread, WebGPU's: the most threads timed); its peak RSS: ${torchRows.map((c) => `${fmt((c.torch as TorchResult).peak_rss_mb, 0)}`).join(', ')} MB`);
  } else {
    lines.push(torchErr ? `torch: failed: ${torchErr.error}` : 'torch: /usr/bin/python3 with torch not found — no PyTorch ratios');
  }
  lines.push(...scalingLines(r));
  lines.push('');
  lines.push(`export warp ${formatSize(r.warp.size)} → ${formatSize(r.warp.size)}: host ${fmt(r.warp.hostMs)} ms, tensor sampler ${fmt(r.warp.tensorMs)} ms`);
  if (r.align) {
    lines.push(`align end to end (${r.align.films} synthetic 1024x1024 PNGs → 256x320, ${r.align.model}, ${r.align.workers} worker thread(s)`
      + `${r.align.threads ? `, ${r.align.threads} WASM thread(s)` : ''}${r.align.networks ? `, ${r.align.networks} network cop${r.align.networks === 1 ? 'y' : 'ies'}` : ''}): `
      + `${fmt(r.align.msPerImage)} ms/image after the first batch (${fmt(r.align.totalMsPerImage)} ms/image including model load and start-up)`);
  }
  const e = r.elastix;
  if (e && 'secondsPerImage' in e) lines.push(`elastix affine (4 levels, Mattes MI, 2 threads): ${fmt(e.secondsPerImage, 2)} s/image (${e.each.map((s) => s.toFixed(2)).join(', ')})`);
  else if (e && 'error' in e) lines.push(`elastix: failed: ${e.error}`);
  else if (e === null) lines.push('elastix: not installed — comparing with the issue\'s 1.9 s/image');

  lines.push('');
  lines.push('targets:');
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'MET' : 'NOT MET');
  // The targets are about WASM at the benched resolutions (not the small rows beside a software adapter's), on the most
  // threads timed, against PyTorch on as many: issue #14's (2.5x, 3x) and the standing goal (1.5x, 2x).
  const wasmRows = r.cases.filter((x) => x.backend === 'wasm' && !x.error && x.batch === B);
  for (const c of wasmRows.filter((x) => (x.threads ?? 1) === Math.max(...wasmRows.filter((y) => y.label === x.label).map((y) => y.threads ?? 1)))) {
    const t = c.torch && !('error' in c.torch) ? c.torch : undefined;
    const ri = t ? c.inferMsPerImage / t.infer_ms_per_image : undefined;
    const rt = t && c.trainMsPerImage && t.train_ms_per_image ? c.trainMsPerImage / t.train_ms_per_image : undefined;
    const at = `${c.label ?? c.loc}, ${c.threads ?? 1} thread(s)`;
    const both = (x: number | undefined, issue: number, goal: number) => (x === undefined ? '- not measured'
      : `${x.toFixed(2)}x — ≤ ${issue}x ${verdict(x <= issue)}, ≤ ${goal}x ${verdict(x <= goal)}`);
    lines.push(`  inference vs PyTorch (${at}; #14 ≤ 2.5x, goal ≤ 1.5x): ${both(ri, 2.5, 1.5)}`);
    lines.push(`  training step vs PyTorch (${at}; #14 ≤ 3x, goal ≤ 2x): ${c.trainError ? 'the step failed — NOT MET' : both(rt, 3, 2)}`);
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

/** Per resolution, how WASM (and PyTorch beside it) speed up from the fewest to the most threads timed. */
function scalingLines(r: BenchReport): string[] {
  const lines: string[] = [];
  const ok = (c: CaseResult) => c.backend === 'wasm' && !c.error;
  for (const label of [...new Set(r.cases.filter(ok).map((c) => c.label))]) {
    const rows = r.cases.filter((c) => ok(c) && c.label === label).sort((a, b) => (a.threads ?? 1) - (b.threads ?? 1));
    if (rows.length < 2) continue;
    const lo = rows[0];
    const hi = rows[rows.length - 1];
    const gain = (a?: number, b?: number) => (a && b ? `${fmt(a)} → ${fmt(b)} ms/img (${(a / b).toFixed(2)}x)` : '-');
    const tl = lo.torch && !('error' in lo.torch) ? lo.torch : undefined;
    const th = hi.torch && !('error' in hi.torch) ? hi.torch : undefined;
    lines.push(`scaling (${label}), ${lo.threads ?? 1} → ${hi.threads ?? 1} threads: WASM inference ${gain(lo.inferMsPerImage, hi.inferMsPerImage)}, `
      + `train ${gain(lo.trainMsPerImage, hi.trainMsPerImage)}${tl && th
        ? `; PyTorch inference ${gain(tl.infer_ms_per_image, th.infer_ms_per_image)}, train ${gain(tl.train_ms_per_image, th.train_ms_per_image)}` : ''}`);
  }
  return lines;
}

export function checkLine(c: CaseResult): string {
  const k = c.check!;
  const loss = k.wasmLoss === undefined ? ''
    : `, first training step's loss ${k.loss === undefined ? '-' : k.loss.toFixed(6)} vs ${k.wasmLoss.toFixed(6)}`
      + `${k.loss === undefined ? '' : ` (relative ${(Math.abs(k.loss - k.wasmLoss) / Math.max(1e-12, Math.abs(k.wasmLoss))).toExponential(1)})`}`;
  return `${c.backend} ${c.label} vs WASM, same weights and inputs: predicted params max |Δ| ${k.paramsMaxAbs.toExponential(1)}${loss} — ${k.ok ? 'match' : 'MISMATCH'}`;
}

export function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'} x${cpus.length}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, Node ${process.version}`;
}
