import * as tf from '../../tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../testing/tf-backend';
import { defaultStnConfig } from './config';
import { AlignmentModel } from './stn';
import { setScaleRange } from './scale-range';

beforeAll(async () => { await useBackend(); });

describe('setScaleRange', () => {
  it('a trained head under [0.4, 1.5] predicts nearly the frames it did under [0.5, 1.5], and can reach s < 0.5', async () => {
    const model = new AlignmentModel(defaultStnConfig({ locSize: 32, frame: { width: 32, height: 40 } }));
    model.params.assign('head.fc2.weight', tf.randomNormal([256, 5], 0, 0.05, 'float32', 3));
    model.params.assign('head.fc2.bias', tf.tensor1d([0.05, -0.1, -0.6, -0.4, 0.02]));
    const x = tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
    const before = await model.predictParams(x).array();
    const numTensors = tf.memory().numTensors;
    setScaleRange(model, [0.4, 1.5]);
    expect(tf.memory().numTensors).toBe(numTensors);
    expect(model.config.bounds.scale).toEqual([0.4, 1.5]);
    const after = await model.predictParams(x).array();
    for (let b = 0; b < 2; b++) {
      expect(before[b][2]).toBeLessThan(0.9); // a real zoom, not the identity
      for (const k of [0, 1, 4]) expect(after[b][k]).toBeCloseTo(before[b][k], 6);
      for (const k of [2, 3]) expect(Math.abs(after[b][k] - before[b][k])).toBeLessThan(0.015);
    }
    const far = tf.tensor2d([[0, 0, -8, -8, 0]]);
    expect((await model.outputToParams(far).array())[0][2]).toBeLessThan(0.45);
    expect(() => setScaleRange(model, [0.4, 0.9])).toThrow(/scale/);
    tf.dispose([x, far]);
    model.dispose();
  });
});
