import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../tf';
import { useBackend } from '../../testing/tf-backend';
import { decodeImage } from '../io/decode-image';
import { resizeArea } from '../image/resize';
import { AlignmentLoss, disposeLoss } from './alignment-loss';
import { lungFieldMask, lungFieldWeights } from './lung-fields';

beforeAll(async () => { await useBackend(); });

// The shipped canonical chest at the training loss frame.
const sum = (v: ArrayLike<number>) => Array.from(v).reduce((a, b) => a + b, 0);
const W = 128;
const H = 160;
const shipped = () => {
  const img = resizeArea(decodeImage(readFileSync(new URL('../../../models/canonical-chest.png', import.meta.url)), 'canonical-chest.png'), W, H);
  return tf.tensor4d(img.data, [1, H, W, 1]);
};

describe('lung fields of the template', () => {
  it('are the two lungs: not the dark band above the apices, not the mediastinum', () => {
    const t = shipped();
    const core = lungFieldMask(t, { band: 0 });
    const m = core.dataSync();
    const at = (x: number, y: number) => m[y * W + x];
    // Mid-lung on each side, between the apices and the domes.
    expect(at(Math.round(W * 0.3), Math.round(H * 0.45))).toBe(1);
    expect(at(Math.round(W * 0.7), Math.round(H * 0.45))).toBe(1);
    // The spine and heart between them, and the top rows.
    expect(at(W / 2, Math.round(H * 0.45))).toBe(0);
    for (let x = 0; x < W; x++) expect(at(x, 1)).toBe(0);
    const share = sum(m) / m.length;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.45);
    tf.dispose([t, core]);
  });

  it('weights have the valid windows\' shape and mean 1; off = 1 is uniform', () => {
    const t = shipped();
    const before = tf.memory().numTensors;
    const w = lungFieldWeights(t, 9, 0.25);
    expect(w.shape).toEqual([1, H - 8, W - 8, 1]);
    const v = w.dataSync();
    expect(sum(v) / v.length).toBeCloseTo(1, 4);
    expect(Math.max(...v) / Math.min(...v)).toBeCloseTo(4, 3);
    const ones = lungFieldWeights(t, 9, 1);
    const uniform = ones.dataSync();
    ones.dispose();
    expect(Math.min(...uniform)).toBeCloseTo(1, 5);
    expect(Math.max(...uniform)).toBeCloseTo(1, 5);
    expect(() => lungFieldWeights(t, 9, 1.5)).toThrow(/\[0, 1\]/);
    w.dispose();
    expect(tf.memory().numTensors).toBe(before);
    t.dispose();
  });

  it('the lncc loss counts a mismatch on the lungs more than one off them', () => {
    const t = shipped();
    const mask = lungFieldMask(t);
    // The same amount of noise, once inside the lung fields, once outside.
    const noise = tf.randomUniform([1, H, W, 1], -0.3, 0.3, 'float32', 7);
    const onLungs = t.add(noise.mul(mask)).clipByValue(0, 1) as tf.Tensor4D;
    const offLungs = t.add(noise.mul(tf.scalar(1).sub(mask))).clipByValue(0, 1) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const uniform = new AlignmentLoss({ kind: 'lncc', window: 9 }, { template: t });
    const focused = new AlignmentLoss({ kind: 'lncc', window: 9, offLungs: 0.25 }, { template: t });
    const value = (loss: AlignmentLoss, x: tf.Tensor4D) => { const v = loss.compute(x); const n = v.total.dataSync()[0]; disposeLoss(v); return n; };
    const ratioUniform = value(uniform, onLungs) / value(uniform, offLungs);
    const ratioFocused = value(focused, onLungs) / value(focused, offLungs);
    expect(ratioFocused).toBeGreaterThan(1.5 * ratioUniform);
    uniform.dispose();
    focused.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([t, mask, noise, onLungs, offLungs]);
  });
});
