import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../src/engine/backend/backends';
import { REPO_ROOT } from './model';
import { defaultWasmThreads, parseThreads, prepareNodeWasm, WASM_MAX_THREADS } from './wasm-threads';

describe('threaded WASM in Node (cli/wasm-threads.ts)', () => {
  it('parses thread counts and refuses what the threaded build cannot run', () => {
    expect(parseThreads('3')).toBe(3);
    for (const bad of ['0', '-1', '1.5', 'x', String(WASM_MAX_THREADS + 1)]) expect(() => parseThreads(bad), bad).toThrow(/--threads/);
    expect(defaultWasmThreads({ CXR_WASM_THREADS: '1' })).toBe(1);
    expect(defaultWasmThreads({})).toBeGreaterThanOrEqual(1);
    expect(defaultWasmThreads({})).toBeLessThanOrEqual(WASM_MAX_THREADS);
  });

  it('runs XNNPACK on the threads asked for, computing what the single-threaded build does, and refuses to switch later', async () => {
    // Two threads even on a one-core machine: correctness, not speed.
    await prepareNodeWasm(2);
    await initBackend(['wasm']);
    expect(getThreadsCount()).toBe(2);
    const x = tf.randomNormal([2, 17, 19, 8], 0, 1, 'float32', 3) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 8, 16], 0, 1, 'float32', 4) as tf.Tensor4D;
    const y = await tf.conv2d(x, w, 2, 'same').data();
    await tf.setBackend('cpu');
    const ref = await tf.conv2d(tf.tensor(await x.data(), x.shape) as tf.Tensor4D, tf.tensor(await w.data(), w.shape) as tf.Tensor4D, 2, 'same').data();
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(y[i] - ref[i]));
    expect(worst).toBeLessThan(1e-4);
    await expect(prepareNodeWasm(3)).rejects.toThrow(/already runs 2 thread/);
    await expect(prepareNodeWasm(2)).resolves.toBeUndefined();
  });

  it('the CLI runs on the threads --threads names and exits by itself (the pool does not hold the process)', () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/cxr-align.mjs'), 'bench', '--case', 'wasm:32:32x40:16x20', '--threads', '2',
      '--batch', '2', '--runs', '1', '--warmup', '0', '--skip-train', '--no-peak'], { encoding: 'utf8', timeout: 90_000 });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const line = r.stdout.split('\n').reverse().find((l) => l.startsWith('{'));
    expect(JSON.parse(line!).threads).toBe(2);
  });
});
