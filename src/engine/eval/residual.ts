import { compose, invert, matrixToParams, type AffineMatrix } from '../affine/affine';
import type { EvalSummary } from './evaluate';
import { fixedWidthTable } from './table';

/**
 * How an aligner's frames differ from the affine ceiling's, parameter by
 * parameter: per film the residual R = C⁻¹·M (the aligner's frame in the
 * ceiling's frame coordinates), then the spread of its five parameters over
 * the films. Pairwise Dice does not see a move every frame shares (and the
 * ceiling is anchored to the model's mean placement), so the spread is what
 * is left to win, and it tells which parameter holds a Dice back — the
 * bases' height, say — where the Dice only says how much.
 */
export interface CeilingResidual {
  films: number;
  /** Standard deviations over the films: shifts in % of the frame's side, scales in %, rotation in degrees. */
  shiftX: number;
  shiftY: number;
  scaleX: number;
  scaleY: number;
  rotationDeg: number;
  /** Correlation of the vertical scale with the vertical shift: near 1 when the bases move and the apices stay. */
  scaleShiftY: number;
}

/** The residual of `m` against the ceiling `c`, as (shift x, shift y, scale x, scale y, rotation): shares and degrees. */
export function residualParams(m: AffineMatrix, c: AffineMatrix): [number, number, number, number, number] {
  const [tx, ty, sx, sy, theta] = matrixToParams(compose(invert(c), m));
  // Normalized coordinates span 2 across the frame: a shift of 0.02 is 1% of its side.
  return [tx / 2, ty / 2, sx - 1, sy - 1, (theta * 180) / Math.PI];
}

const sd = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
};

function correlation(a: number[], b: number[]): number {
  const ma = a.reduce((s, x) => s + x, 0) / a.length;
  const mb = b.reduce((s, x) => s + x, 0) / b.length;
  let num = 0; let da = 0; let db = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - ma) * (b[i] - mb); da += (a[i] - ma) ** 2; db += (b[i] - mb) ** 2; }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : NaN;
}

/** The spread of `row`'s frames about the ceiling's, over the films both scored (matched by name; mirrored frames left out). */
export function ceilingResidual(row: EvalSummary, ceiling: EvalSummary): CeilingResidual {
  const fit = new Map(ceiling.perImage.map((p) => [p.name, p.matrix]));
  const params = row.perImage.filter((p) => fit.has(p.name) && !p.mirrored).map((p) => residualParams(p.matrix, fit.get(p.name)!));
  const col = (k: number) => params.map((p) => p[k]);
  if (params.length < 2) return { films: params.length, shiftX: NaN, shiftY: NaN, scaleX: NaN, scaleY: NaN, rotationDeg: NaN, scaleShiftY: NaN };
  return {
    films: params.length,
    shiftX: 100 * sd(col(0)), shiftY: 100 * sd(col(1)), scaleX: 100 * sd(col(2)), scaleY: 100 * sd(col(3)), rotationDeg: sd(col(4)),
    scaleShiftY: correlation(col(3), col(1)),
  };
}

export function residualTable(rows: { aligner: string; ceilingResidual?: CeilingResidual }[]): string {
  const scored = rows.filter((r) => r.ceilingResidual);
  if (scored.length === 0) return '';
  const dash = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
  const head = ['aligner (sd of the residual against the ceiling)', 'films', 'shift x %', 'shift y %', 'scale x %', 'scale y %', 'rotation °', 'corr(scale y, shift y)'];
  const body = scored.map(({ aligner, ceilingResidual: r }) => [
    aligner, String(r!.films), dash(r!.shiftX, 2), dash(r!.shiftY, 2), dash(r!.scaleX, 2), dash(r!.scaleY, 2), dash(r!.rotationDeg, 2), dash(r!.scaleShiftY, 2),
  ]);
  return fixedWidthTable(head, body);
}
