/** `cxr-align bench` runs each case in a child process of its own (`bench --case …`): clean peak memory, no backend interference. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { formatSize, parseSize, UsageError } from '../args';
import { REPO_ROOT } from '../model';
import { BENCH_BACKENDS, type BenchBackend, type BenchCase, type CaseResult } from './case';

export function caseArg(c: BenchCase): string {
  return `${c.backend}:${c.loc}:${formatSize(c.out)}:${formatSize(c.train)}`;
}

export function parseCase(text: string): BenchCase {
  const [backend, loc, out, train] = text.split(':');
  if (!BENCH_BACKENDS.includes(backend as BenchBackend) || !Number(loc) || !out || !train) {
    throw new UsageError(`--case "${text}" must be BACKEND:LOC:OUTWxH:TRAINWxH, e.g. wasm:128:256x320:128x160`);
  }
  return { backend: backend as BenchBackend, loc: Number(loc), out: parseSize(out), train: parseSize(train) };
}

/** Run one case in a child process (clean peak memory, no backend interference). */
export function runCaseChild(c: BenchCase, o: { batch: number; runs: number; warmup: number; skipTrain: boolean; profile: boolean; peak: boolean; trainRuns?: number; trainWarmup?: number }): CaseResult {
  const args = [join(REPO_ROOT, 'bin/cxr-align.mjs'), 'bench', '--case', caseArg(c), '--batch', String(o.batch), '--runs', String(o.runs), '--warmup', String(o.warmup)];
  if (c.threads !== undefined) args.push('--threads', String(c.threads));
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
