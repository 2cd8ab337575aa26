import * as tf from '../tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../testing/tf-backend';

beforeAll(async () => { await useBackend('wasm'); });

describe('wasm Identity (zero-copy)', () => {
  it('a clone shares its data, outlives the original, and frees it with the last reference', async () => {
    const be = tf.backend() as unknown as { getMemoryOffset(id: unknown): number; refCount(id: unknown): number };
    const before = tf.memory();
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    expect(be.getMemoryOffset(y.dataId)).toBe(be.getMemoryOffset(x.dataId));
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3]);
    const id = y.dataId;
    y.dispose();
    expect(be.refCount(id)).toBe(0);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });

  it('a variable assigned a new value keeps the snapshot taken before (the trainer restores from it)', async () => {
    const v = tf.variable(tf.tensor1d([1, 2]));
    const snap = tf.clone(v);
    v.assign(tf.tensor1d([5, 6]));
    expect(Array.from(await snap.data())).toEqual([1, 2]);
    expect(Array.from(await v.data())).toEqual([5, 6]);
    tf.dispose([v, snap]);
  });
});
