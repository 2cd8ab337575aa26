import { beforeAll, describe, expect, it } from 'vitest';
import { applyToPoint, invert, paramsToMatrix, type AffineMatrix, type AffineParams } from '../affine/affine';
import { useBackend } from '../../testing/tf-backend';
import type { GrayImage } from '../io/gray-image';
import { Rng } from '../train/rng';
import { ceilingFitFrame, fitAffineCeiling, fittedAligner } from './ceiling';
import { evaluate, identityAligner, type EvalCase } from './evaluate';
import { frameDisagreementPx } from './metrics';

beforeAll(async () => { await useBackend(); });

/** Two lung-like ellipses in frame coordinates. */
const inLungs = (x: number, y: number) =>
  ((x + 0.45) / 0.33) ** 2 + ((y + 0.05) / 0.7) ** 2 <= 1 || ((x - 0.42) / 0.3) ** 2 + ((y - 0.02) / 0.62) ** 2 <= 1;

/** The film whose frame is `m`: film point m·p shows the lungs' point p. */
function maskFor(m: AffineMatrix, w: number, h: number): GrayImage {
  const back = invert(m);
  const data = new Float32Array(w * h);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const p = applyToPoint(back, { x: (2 * j + 1) / w - 1, y: (2 * i + 1) / h - 1 });
    data[i * w + j] = inLungs(p.x, p.y) ? 1 : 0;
  }
  return { width: w, height: h, data };
}

describe('affine ceiling (groupwise fit to the lung masks)', () => {
  it('recovers known transforms up to the group placement, which stays on the starts', async () => {
    const rng = new Rng(4);
    const n = 6;
    const raw: AffineParams[] = Array.from({ length: n }, () => [rng.uniform(-0.12, 0.12), rng.uniform(-0.12, 0.12), rng.uniform(0.85, 1.05), rng.uniform(0.85, 1.05), rng.uniform(-0.12, 0.12)]);
    // Zero-mean deviations around a mild zoom, so the identity starts' mean is near the truth's.
    const mean = [0, 1, 2, 3, 4].map((k) => raw.reduce((a, p) => a + p[k], 0) / n);
    const truth = raw.map((p) => paramsToMatrix([p[0] - mean[0], p[1] - mean[1], p[2] / mean[2], p[3] / mean[3], p[4] - mean[4]]));
    const masks = truth.map((m) => maskFor(m, 80, 96));
    const fit = await fitAffineCeiling(masks, { frame: { width: 32, height: 40 }, rounds: 6, steps: 25, lr: 0.01 });
    expect(fit.rounds).toHaveLength(6);
    // Soft Dice of blurred masks with a binary majority: below 1 even when aligned.
    expect(fit.rounds[5]).toBeGreaterThan(0.9);
    const frame = { width: 64, height: 80 };
    // Each fitted frame against the truth, in output pixels at 64x80 (10% of the frame = 6.4 px).
    const err = truth.map((t, i) => frameDisagreementPx(t, fit.matrices[i], [[1, 0, 0], [0, 1, 0]], frame));
    expect(Math.max(...err)).toBeLessThan(0.6);
    // The identity starts are several pixels off.
    expect(Math.max(...truth.map((t) => frameDisagreementPx(t, [[1, 0, 0], [0, 1, 0]], [[1, 0, 0], [0, 1, 0]], frame)))).toBeGreaterThan(3);

    // Scored as a row: pairwise Dice near 1, far above the identity's; perturbation measures skipped.
    const cases: EvalCase[] = masks.map((m, i) => ({ name: `f${i}`, image: m, mask: m, patient: i < 2 ? 'a' : undefined }));
    const opts = { frame, perturbations: 1, seed: 1, cutThreshold: 0.02, contentMoves: 1, borderScales: [1.5] };
    const ceiling = await evaluate(fittedAligner('ceiling (oracle)', masks, fit.matrices, fit.seconds / n), cases, opts);
    const id = await evaluate(identityAligner, cases, opts);
    expect(ceiling.oracle).toBe(true);
    expect(ceiling.diceUncut).toBeGreaterThan(0.95);
    expect(id.diceUncut).toBeLessThan(ceiling.diceUncut - 0.05);
    expect(ceiling.samePatientPairs).toBe(1);
    expect(ceiling.samePatientDice).toBeGreaterThan(0.95);
    expect(Number.isNaN(ceiling.equivariancePx)).toBe(true);
    expect(Number.isNaN(ceiling.contentPx)).toBe(true);
    expect(Number.isNaN(ceiling.border[0].px)).toBe(true);
    expect(ceiling.secondsPerImage).toBeCloseTo(fit.seconds / n, 9);
    await expect(fittedAligner('x', masks, fit.matrices, 0).align(maskFor(truth[0], 8, 8))).rejects.toThrow(/no fitted frame/);
  });
});

describe('ceilingFitFrame', () => {
  it('keeps the output frame\'s aspect at 48 px wide, never under 8 px high', () => {
    expect(ceilingFitFrame({ width: 256, height: 320 })).toEqual({ width: 48, height: 60 });
    expect(ceilingFitFrame({ width: 320, height: 256 })).toEqual({ width: 48, height: 38 });
    expect(ceilingFitFrame({ width: 1000, height: 10 })).toEqual({ width: 48, height: 8 });
  });
});
