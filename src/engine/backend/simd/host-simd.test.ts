import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import * as tf from '../../tf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../testing/tf-backend';
import { initBackend } from '../backends';
import { hostSimd, hostSimdFailure } from './host-simd';

beforeAll(async () => { await useBackend('wasm'); });
afterAll(async () => { await tf.setBackend('wasm'); });

describe('host-kernels.wat on the wasm heap', () => {
  it('the committed module is what host-kernels.wat assembles to (wabt)', () => {
    const script = resolve(import.meta.dirname, '../../../../scripts/build-simd-kernels.mjs');
    expect(execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' })).toContain('up to date');
  });

  it('instantiates on the wasm backend in Node, on its memory; Σx² of a heap tensor is right', async () => {
    const simd = hostSimd(tf.backend());
    expect(simd, hostSimdFailure() ?? '').not.toBeNull();
    const x = tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(simd!.loops.sumOfSquares(simd!.ptr(x), 8)).toBe(204);
    x.dispose();
  });

  it('is not offered on the cpu backend (its tensors are JavaScript arrays)', async () => {
    await initBackend(['cpu']);
    expect(hostSimd(tf.backend())).toBeNull();
  });
});
