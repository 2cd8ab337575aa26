/** The PyTorch yardstick of `cxr-align bench`: the same network in Debian's python3-torch (bench/torch_reference.py). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatSize } from '../args';
import { REPO_ROOT } from '../model';
import type { BenchCase } from './case';

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

export function torchAvailable(python = '/usr/bin/python3'): boolean {
  if (!existsSync(python)) return false;
  return spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
}

export function runTorch(c: BenchCase, o: { batch: number; runs: number; warmup: number; threads: number; skipTrain: boolean }, python = '/usr/bin/python3'): TorchResult | { error: string } {
  const args = [join(REPO_ROOT, 'bench/torch_reference.py'), '--case', `${c.loc}:${formatSize(c.out)}:${formatSize(c.train)}`,
    '--batch', String(o.batch), '--runs', String(o.runs), '--warmup', String(o.warmup), '--threads', String(o.threads)];
  if (o.skipTrain) args.push('--skip-train');
  const r = spawnSync(python, args, { encoding: 'utf8' });
  const line = r.stdout.split('\n').reverse().find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) return { error: (r.stderr || `exit ${r.status}`).trim().split('\n').slice(-2).join(' | ') };
  return JSON.parse(line) as TorchResult;
}
