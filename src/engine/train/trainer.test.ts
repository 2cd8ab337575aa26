import * as tf from '../tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { cxr14Files, HAS_SHARED, readBytes } from '../../testing/shared-data';
import { useBackend } from '../../testing/tf-backend';
import { compose, invert, paramsToMatrix, type AffineParams } from '../affine/affine';
import { warpImage } from '../align/align';
import { locInput } from '../align/prepare';
import { decodeImage } from '../io/decode-image';
import { resizeArea } from '../image/resize';
import { AlignmentLoss } from '../losses/alignment-loss';
import { AlignmentModel } from '../models/stn/stn';
import { defaultStnConfig } from '../models/stn/config';
import { readParamsRows } from '../models/stn/stn';
import { DEFAULT_AUGMENT } from './augment';
import { Trainer, defaultTrainerSettings, type TrainerSettings } from './trainer';
import type { TrainingImage } from './batch';

beforeAll(async () => { await useBackend(); });

// Known perturbations with mixed signs, so a constant prediction cannot undo them all.
const PERTURB: AffineParams[] = [
  [0.15, 0.1, 1, 1, 0], [-0.15, 0.05, 1, 1, 0], [0.1, -0.12, 1, 1, 0], [-0.1, -0.1, 1, 1, 0],
  [0.12, 0, 1.1, 1.1, 0], [-0.12, 0.08, 0.9, 0.9, 0], [0, 0.15, 1, 1, 0.1], [0.05, -0.15, 1, 1, -0.1],
];

/**
 * A small model trained against a flat template with pixel MSE: the similarity
 * carries no alignment signal, so what the network learns comes from the term under test.
 */
function flatTemplateTrainer(L: number, frame: { width: number; height: number }, seed: number, overrides: Partial<TrainerSettings>) {
  const model = new AlignmentModel(defaultStnConfig({ locSize: L, frame, seed }));
  const template = tf.tensor4d(new Float32Array(frame.width * frame.height).fill(0.5), [1, frame.height, frame.width, 1]);
  const loss = new AlignmentLoss({ kind: 'pixel' }, { template });
  const trainer = new Trainer(model, loss, defaultTrainerSettings(model, { batchSize: 8, lr: 3e-3, lrEnd: 3e-4, frame, ...overrides }));
  return { model, trainer, dispose: () => { trainer.dispose(); loss.dispose(); template.dispose(); model.dispose(); } };
}

describe.skipIf(!HAS_SHARED)('training on real perturbed films (../shared/data/cxr14)', () => {
  it('30 steps: the loss falls, the frames stay in range, no tensor leaks', async () => {
    const L = 64;
    const frame = { width: 64, height: 64 };
    const srcSize = { width: 96, height: 96 };
    const films = cxr14Files(8).map((f) => resizeArea(decodeImage(readBytes(f), f), 192, 192));
    // Template: the mean of the unperturbed films, so "undo the perturbation" is the optimum.
    const tmpl = new Float32Array(frame.width * frame.height);
    for (const f of films) resizeArea(f, frame.width, frame.height).data.forEach((v, i) => { tmpl[i] += v / films.length; });
    const perturbed = await Promise.all(films.map((f, i) => warpImage(f, paramsToMatrix(PERTURB[i]), { width: 192, height: 192 })));
    const images: TrainingImage[] = perturbed.map((p, i) => ({
      id: `film${i}`, loc: locInput(p, L), src: resizeArea(p, srcSize.width, srcSize.height).data,
    }));

    const baseline = tf.memory().numTensors;
    const model = new AlignmentModel(defaultStnConfig({ locSize: L, frame, seed: 3 }));
    const template = tf.tensor4d(tmpl, [1, frame.height, frame.width, 1]);
    const loss = new AlignmentLoss({ kind: 'ncc' }, { template });
    const trainer = new Trainer(model, loss, defaultTrainerSettings(model, {
      steps: 30, batchSize: 8, lr: 3e-3, lrEnd: 3e-4, srcSize, frame, augment: { ...DEFAULT_AUGMENT, enabled: false },
    }));

    const losses: number[] = [];
    const counts: number[] = [];
    for (let s = 0; s < 30; s++) {
      const r = await trainer.trainStep(images);
      expect(r.skipped).toBe(false);
      losses.push(r.loss);
      counts.push(tf.memory().numTensors);
    }
    // Tensor count is flat once the optimizer's moments exist (after step 1).
    expect(counts[29]).toBe(counts[1]);

    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last).toBeLessThan(first * 0.9);

    // Predicted matrices vs the exact inverses of the perturbations.
    const p = tf.tidy(() => model.predictParams(tf.tensor4d(images.flatMap((im) => Array.from(im.loc)), [8, L, L, 1])));
    const pred = await readParamsRows(p);
    p.dispose();
    const err = (m: number[][], k: number) => {
      const target = invert(paramsToMatrix(PERTURB[k]));
      return Math.abs(m[0][2] - target[0][2]) + Math.abs(m[1][2] - target[1][2]);
    };
    const before = PERTURB.reduce((s, _, k) => s + err([[1, 0, 0], [0, 1, 0]], k), 0);
    const after = pred.reduce((s, q, k) => s + err(paramsToMatrix(q), k), 0);
    console.log(`loss ${first.toFixed(4)} → ${last.toFixed(4)}; translation error ${before.toFixed(3)} → ${after.toFixed(3)}`);
    // Printed, not asserted: 30 steps from a random encoder lower the loss on every seed but
    // recover the translations only on some. Measured (translation error from 1.575): seed 3
    // 1.243 with mul + add convolutions and 1.386 with fused multiply-adds (the GEMM's
    // rounding alone changes the trajectory), seeds 1, 2, 4 2.157, 1.639, 1.516. What the
    // network learns is scored on held-out films by `cxr-align eval` (models/README.md).
    expect(after).toBeLessThan(before * 2);

    trainer.dispose();
    loss.dispose();
    template.dispose();
    model.dispose();
    // Everything the run created — optimizer moments included — is gone again.
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('learns teacher matrices (targets) through the augmentation: corner error falls, the part is reported', async () => {
    const L = 64;
    const frame = { width: 64, height: 64 };
    const srcSize = { width: 96, height: 96 };
    const films = cxr14Files(8).map((f) => resizeArea(decodeImage(readBytes(f), f), 192, 192));
    const perturbed = await Promise.all(films.map((f, i) => warpImage(f, paramsToMatrix(PERTURB[i]), { width: 192, height: 192 })));
    // The teacher knows the exact inverses; the similarity term is kept but weak.
    const images: TrainingImage[] = perturbed.map((p, i) => ({
      id: `film${i}`, loc: locInput(p, L), src: resizeArea(p, srcSize.width, srcSize.height).data, target: invert(paramsToMatrix(PERTURB[i])),
    }));
    const { model, trainer, dispose } = flatTemplateTrainer(L, frame, 4, {
      steps: 24, srcSize, targetWeight: 10, augment: { ...DEFAULT_AUGMENT, shift: 0.05, rotateDeg: 5, scale: 0.03 },
    });
    const cornerErr = async () => {
      const p = tf.tidy(() => model.predictParams(tf.tensor4d(images.flatMap((im) => Array.from(im.loc)), [8, L, L, 1])));
      const pred = await readParamsRows(p);
      p.dispose();
      return pred.reduce((s, q, k) => s + paramsToMatrix(q).flat().reduce((a, v, j) => a + (v - images[k].target!.flat()[j]) ** 2, 0), 0) / 8;
    };
    const before = await cornerErr();
    const counts: number[] = [];
    let first = 0;
    let last = 0;
    for (let s = 0; s < 24; s++) {
      const r = await trainer.trainStep(images);
      expect(Object.keys(r.parts).sort()).toEqual(['pixel', 'target']);
      if (s === 0) first = r.parts.target;
      last = r.parts.target;
      counts.push(tf.memory().numTensors);
    }
    const after = await cornerErr();
    console.log(`target term ${first.toFixed(4)} → ${last.toFixed(4)}; squared matrix error ${before.toFixed(4)} → ${after.toFixed(4)}`);
    expect(counts[23]).toBe(counts[1]);
    expect(last).toBeLessThan(first * 0.5);
    expect(after).toBeLessThan(before * 0.5);
    dispose();
  });
  it('consistency: each film twice per batch; the frames of two augmentations of a film come together', async () => {
    const L = 64;
    const frame = { width: 64, height: 64 };
    const srcSize = { width: 96, height: 96 };
    const films = cxr14Files(8).map((f) => resizeArea(decodeImage(readBytes(f), f), 192, 192));
    const images: TrainingImage[] = films.map((f, i) => ({ id: `film${i}`, loc: locInput(f, L), src: resizeArea(f, srcSize.width, srcSize.height).data }));
    const { model, trainer, dispose } = flatTemplateTrainer(L, frame, 6, {
      steps: 30, srcSize, consistencyWeight: 10, augment: { ...DEFAULT_AUGMENT, shift: 0.2, rotateDeg: 0, scale: 0 },
    });
    const pick = trainer.batchFor(images.length);
    expect(pick).toHaveLength(8);
    expect(pick.slice(4)).toEqual(pick.slice(0, 4));
    // Held-out check: every film under two fixed shifts; the frames on the film should agree.
    const shifts: AffineParams[] = [[0.15, 0.1, 1, 1, 0], [-0.15, -0.1, 1, 1, 0]];
    const views = await Promise.all(shifts.map((q) => Promise.all(films.map(async (f) => locInput(await warpImage(f, paramsToMatrix(q), { width: 192, height: 192 }), L)))));
    const disagreement = async () => {
      const rows = await Promise.all(views.map(async (v) => {
        const p = tf.tidy(() => model.predictParams(tf.tensor4d(v.flatMap((x) => Array.from(x)), [8, L, L, 1])));
        const r = await readParamsRows(p);
        p.dispose();
        return r;
      }));
      let total = 0;
      for (let k = 0; k < 8; k++) {
        const [a, b] = shifts.map((q, j) => compose(paramsToMatrix(q), paramsToMatrix(rows[j][k])).flat());
        total += a.reduce((s, v, j) => s + (v - b[j]) ** 2, 0);
      }
      return total / 8;
    };
    const before = await disagreement();
    const counts: number[] = [];
    for (let s = 0; s < 30; s++) {
      const r = await trainer.trainStep(images);
      expect(Object.keys(r.parts).sort()).toEqual(['consistency', 'pixel']);
      expect(new Set(r.ids).size).toBe(4);
      counts.push(tf.memory().numTensors);
    }
    const after = await disagreement();
    console.log(`frame disagreement of two shifted views ${before.toFixed(4)} → ${after.toFixed(4)}`);
    expect(counts[29]).toBe(counts[1]);
    expect(after).toBeLessThan(before * 0.5);
    dispose();
  });
});
