import * as tf from '../../tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../../testing/tf-backend';
import { alignBatch, AlignmentModel, paramsToTheta } from './stn';
import { defaultStnConfig } from './config';
import { resnet18Forward } from '../resnet18/resnet18';

beforeAll(async () => { await useBackend(); });

describe('alignment model (ResNet18 + head)', () => {
  it('has torchvision ResNet18 parameter count plus the head', () => {
    const m = new AlignmentModel(defaultStnConfig({ locSize: 64 }));
    // torchvision resnet18 without fc: 11,176,512 params (incl. BN affine), plus running stats.
    const trainableEncoder = m.params.names()
      .filter((n) => n.startsWith('encoder.') && m.params.isTrainable(n))
      .reduce((s, n) => s + m.params.get(n).size, 0);
    expect(trainableEncoder).toBe(11_176_512);
    expect(m.params.get('head.fc1.weight').shape).toEqual([512, 256]);
    expect(m.params.get('head.fc2.weight').shape).toEqual([256, 5]);
    m.dispose();
  });

  for (const head of ['raw', 'bounded'] as const) {
    it(`untrained ${head} model is the identity: output equals the resized input`, () => {
      const m = new AlignmentModel(defaultStnConfig({ locSize: 64, head }));
      const src = tf.randomUniform([2, 96, 80, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
      const loc = tf.image.resizeBilinear(src, [64, 64], false, true) as tf.Tensor4D;
      const frame = { width: 40, height: 48 };
      const { warped, params } = alignBatch(m, loc, src, frame);
      const p = params.dataSync();
      expect(Array.from(p).map((v) => +v.toFixed(6))).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 1, 0]);
      const resized = tf.image.resizeBilinear(src, [48, 40], false, true);
      expect(warped.sub(resized).abs().max().dataSync()[0]).toBeLessThan(1e-5);
      tf.dispose([src, loc, warped, params, resized]);
      m.dispose();
    });
  }

  it('bounded head keeps parameters in range and never reflects', () => {
    const m = new AlignmentModel(defaultStnConfig({ locSize: 64 }));
    const extreme = tf.tensor2d([[50, -50, 50, -50, 50], [-50, 50, -50, 50, -50]]);
    const p = m.outputToParams(extreme).arraySync();
    for (const [tx, ty, sx, sy, th] of p) {
      expect(Math.abs(tx)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(ty)).toBeLessThanOrEqual(0.5);
      for (const s of [sx, sy]) { expect(s).toBeGreaterThanOrEqual(0.5); expect(s).toBeLessThanOrEqual(1.5); }
      expect(Math.abs(th)).toBeLessThanOrEqual(Math.PI / 6 + 1e-6);
    }
    tf.dispose(extreme);
    m.dispose();
  });

  it('folded-BN inference equals the plain forward pass in eval mode', () => {
    const m = new AlignmentModel(defaultStnConfig({ locSize: 64 }));
    // Non-trivial running statistics so the fold has something to fold.
    for (const n of m.params.names()) {
      if (n.endsWith('running_mean')) m.params.assign(n, tf.randomNormal(m.params.get(n).shape, 0, 0.1, 'float32', 5));
      if (n.endsWith('running_var')) m.params.assign(n, tf.randomUniform(m.params.get(n).shape, 0.5, 2, 'float32', 6));
    }
    const x = AlignmentModel.normalizeInput(tf.randomUniform([2, 64, 64, 1], 0, 1, 'float32', 9) as tf.Tensor4D);
    const plain = resnet18Forward(m.params, 'encoder.', x, { training: false });
    const gray = tf.randomUniform([2, 64, 64, 1], 0, 1, 'float32', 9) as tf.Tensor4D;
    m.headOutput(gray, false).dispose(); // builds the folded-weights cache
    const before = tf.memory().numTensors;
    m.headOutput(gray, false).dispose();
    expect(tf.memory().numTensors).toBe(before);
    gray.dispose();
    const foldedFeatures = (m as unknown as { folded: { forward(x: tf.Tensor4D): tf.Tensor2D } }).folded.forward(x);
    const rel = foldedFeatures.sub(plain).abs().max().dataSync()[0] / plain.abs().max().dataSync()[0];
    expect(rel).toBeLessThan(1e-4);
    tf.dispose([x, plain, foldedFeatures]);
    m.dispose();
  });

  it('paramsToTheta is the documented matrix', () => {
    const th = paramsToTheta(tf.tensor2d([[0.1, -0.2, 0.8, 1.1, 0.3]])).dataSync();
    const c = Math.cos(0.3); const s = Math.sin(0.3);
    const want = [0.8 * c, -1.1 * s, 0.1, 0.8 * s, 1.1 * c, -0.2];
    want.forEach((v, i) => expect(th[i]).toBeCloseTo(v, 6));
  });
});
