import { describe, expect, it } from 'vitest';
import { compose, paramsToMatrix, type AffineMatrix } from '../affine/affine';
import type { EvalSummary, PerImage } from './evaluate';
import { ceilingResidual, residualParams, residualTable } from './residual';

const row = (aligner: string, matrices: AffineMatrix[]): EvalSummary => ({
  aligner, images: matrices.length, diceUncut: NaN, diceFrame: NaN, cutRate: 0, mirroredRate: 0, equivariancePx: NaN, secondsPerImage: 0,
  samePatientDice: NaN, samePatientPairs: 0, samePatientPatients: 0, contentPx: NaN, contentMoves: 0, border: [],
  perImage: matrices.map((matrix, i): PerImage => ({
    name: `f${i}`, matrix, diceUncut: NaN, diceFrame: NaN, cut: 0, mirrored: false, equivariancePx: NaN, samePatientDice: NaN, contentPx: NaN, borderPx: [],
  })),
});

describe('residual against the ceiling', () => {
  it('recovers a known move of the frame within the ceiling\'s, in shares of the frame and degrees', () => {
    const c = paramsToMatrix([0.1, -0.05, 0.8, 0.85, 0.07]);
    const m = compose(c, paramsToMatrix([0.04, -0.02, 1.1, 0.9, 0.05]));
    const r = residualParams(m, c);
    [0.02, -0.01, 0.1, -0.1, (0.05 * 180) / Math.PI].forEach((v, k) => expect(r[k]).toBeCloseTo(v, 9));
  });

  it('gives the spread per parameter over the films, zero where frames differ from the ceiling alike', () => {
    const ceil = [0, 1, 2, 3].map((i) => paramsToMatrix([0.01 * i, 0, 0.8, 0.8 + 0.02 * i, 0]));
    // Every frame 5% too low and its own vertical scale off by ±4% (bases moving, apices still: shift with scale).
    const offs = [0.04, -0.04, 0.04, -0.04];
    const model = ceil.map((c, i) => compose(c, paramsToMatrix([0, 0.1 + offs[i], 1, 1 + offs[i], 0])));
    const r = ceilingResidual(row('model', model), row('ceiling', ceil));
    expect(r.films).toBe(4);
    expect(r.shiftX).toBeCloseTo(0, 9);
    expect(r.scaleX).toBeCloseTo(0, 9);
    expect(r.rotationDeg).toBeCloseTo(0, 9);
    // sd of ±4% (n − 1): 4.62%; of the shift ±2% of the frame: 2.31%.
    expect(r.scaleY).toBeCloseTo(100 * Math.sqrt((4 * 0.04 ** 2) / 3), 6);
    expect(r.shiftY).toBeCloseTo(50 * Math.sqrt((4 * 0.04 ** 2) / 3), 6);
    expect(r.scaleShiftY).toBeCloseTo(1, 9);
    const table = residualTable([{ aligner: 'model', ceilingResidual: r }, { aligner: 'ceiling' }]);
    expect(table.split('\n')).toHaveLength(3);
    expect(table).toMatch(/\| model +\| 4 +\| 0\.00 +\| 2\.31 +\| 0\.00 +\| 4\.62 +\| 0\.00 +\| 1\.00 +\|/);
    expect(residualTable([{ aligner: 'ceiling' }])).toBe('');
  });
});
