import { describe, expect, it } from 'vitest';
import { compose, invert, paramsToMatrix } from '../affine/affine';
import { cutFraction, dice, frameDisagreementPx, frameRegion, groupDice, pairwiseDice, toBitMask } from './metrics';

const square = (w: number, h: number, x0: number, y0: number, x1: number, y1: number) => {
  const v = new Float32Array(w * h);
  for (let i = y0; i < y1; i++) for (let j = x0; j < x1; j++) v[i * w + j] = 1;
  return toBitMask(v, w, h);
};

describe('evaluation metrics', () => {
  it('Dice of identical, disjoint and half-overlapping masks', () => {
    const a = square(40, 40, 0, 0, 10, 10);
    const b = square(40, 40, 20, 20, 30, 30);
    const c = square(40, 40, 5, 0, 15, 10);
    expect(dice(a, a)).toBe(1);
    expect(dice(a, b)).toBe(0);
    expect(dice(a, c)).toBeCloseTo(0.5, 10);
    const p = pairwiseDice([a, a, b]);
    expect(p.mean).toBeCloseTo(1 / 3, 10);
    expect(p.perImage).toEqual([0.5, 0.5, 0]);
  });

  it('frameRegion keeps the middle half of a 2x canvas', () => {
    const canvas = square(40, 40, 10, 10, 30, 30); // exactly the frame region
    const f = frameRegion(canvas);
    expect(f.width).toBe(20);
    expect(f.count).toBe(400);
    const outside = frameRegion(square(40, 40, 0, 0, 10, 10));
    expect(outside.count).toBe(0);
  });

  it('cut fraction from the expected warped area', () => {
    const frame = { width: 20, height: 20 };
    const input = { width: 100, height: 100 };
    // Identity: 400 input mask pixels become 16 frame pixels; only 12 visible → 25% cut.
    const visible = toBitMask(new Float32Array(400).fill(0).map((_, i) => (i < 12 ? 1 : 0)), 20, 20);
    expect(cutFraction(visible, 400, input, frame, [[1, 0, 0], [0, 1, 0]])).toBeCloseTo(0.25, 6);
    // Zooming in by 2 (det 1/4) quadruples the expected area.
    expect(cutFraction(visible, 400, input, frame, [[0.5, 0, 0], [0, 0.5, 0]])).toBeCloseTo(1 - 12 / 64, 6);
  });

  it('equivariance disagreement is zero for a perfect aligner and in pixels otherwise', () => {
    const frame = { width: 100, height: 200 };
    const a = paramsToMatrix([0.1, 0, 0.9, 0.9, 0.05]);
    const pert = paramsToMatrix([0.05, -0.1, 1.05, 1.05, 0.1]);
    // A perfect aligner answers the perturbed copy with pert⁻¹ · a.
    const perfect = compose(invert(pert), a);
    expect(frameDisagreementPx(a, perfect, pert, frame)).toBeLessThan(1e-9);
    // Two answers one input pixel apart (2/W normalized) under an identity frame: 1 output pixel.
    const d = frameDisagreementPx([[1, 0, 0], [0, 1, 0]], [[1, 0, 2 / frame.width], [0, 1, 0]], [[1, 0, 0], [0, 1, 0]], frame);
    expect(d).toBeCloseTo(1, 9);
  });
});

describe('same-patient Dice', () => {
  it('pools the pairs within each patient and leaves films without one out', () => {
    const a = square(40, 40, 0, 0, 10, 10);
    const b = square(40, 40, 5, 0, 15, 10);
    const c = square(40, 40, 20, 20, 30, 30);
    // Patient p: a, a, b (pairs 1, 0.5, 0.5); patient q: c alone; one film with no patient.
    const g = groupDice([a, a, b, c, a], ['p', 'p', 'p', 'q', undefined]);
    expect(g.pairs).toBe(3);
    expect(g.groups).toBe(1);
    expect(g.mean).toBeCloseTo(2 / 3, 10);
    expect(g.perImage.slice(0, 3)).toEqual([0.75, 0.75, 0.5]);
    expect(Number.isNaN(g.perImage[3])).toBe(true);
    expect(Number.isNaN(g.perImage[4])).toBe(true);
    expect(Number.isNaN(groupDice([a, b], [undefined, undefined]).mean)).toBe(true);
  });
});
