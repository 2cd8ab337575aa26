import { paramsToMatrix, type AffineMatrix, type AffineParams, type Size } from '../affine/affine';
import { warpImage } from '../align/align';
import type { Aligner, EvalCase } from './evaluate';
import { frameDisagreementPx } from './metrics';
import { fixedWidthTable } from './table';

/**
 * The random perturbations of the equivariance error mix shift, zoom and
 * rotation, so one number cannot say which of them an aligner fails to follow.
 * Each probe is one pure perturbation at the edge of that range.
 */
export interface Probe { label: string; params: AffineParams }

const DEG10 = (10 * Math.PI) / 180;

export const EQUIVARIANCE_PROBES: Probe[] = [
  { label: 'shift x +10%', params: [0.2, 0, 1, 1, 0] },
  { label: 'shift x −10%', params: [-0.2, 0, 1, 1, 0] },
  { label: 'shift y +10%', params: [0, 0.2, 1, 1, 0] },
  { label: 'shift y −10%', params: [0, -0.2, 1, 1, 0] },
  // Output pixel p shows the film at s·p: s < 1 crops the film's edges, s > 1 pads them with black.
  { label: 'zoom in 10%', params: [0, 0, 0.9, 0.9, 0] },
  { label: 'zoom out 10%', params: [0, 0, 1.1, 1.1, 0] },
  { label: 'rotate +10°', params: [0, 0, 1, 1, DEG10] },
  { label: 'rotate −10°', params: [0, 0, 1, 1, -DEG10] },
];

export interface ProbeSummary {
  aligner: string;
  /** Mean frame disagreement over the films, in output pixels, one per probe. */
  px: { label: string; px: number }[];
}

/** Mean frame disagreement per pure perturbation, over all films. */
export async function probeEquivariance(aligner: Aligner, cases: EvalCase[], frame: Size, probes: Probe[] = EQUIVARIANCE_PROBES, onProgress?: (done: number, total: number) => void): Promise<ProbeSummary> {
  const sums = new Array<number>(probes.length).fill(0);
  const perts: AffineMatrix[] = probes.map((p) => paramsToMatrix(p.params));
  for (let k = 0; k < cases.length; k++) {
    const img = cases[k].image;
    const a = await aligner.align(img);
    for (let j = 0; j < probes.length; j++) {
      const perturbed = await warpImage(img, perts[j], { width: img.width, height: img.height });
      sums[j] += frameDisagreementPx(a, await aligner.align(perturbed), perts[j], frame);
    }
    onProgress?.(k + 1, cases.length);
  }
  return { aligner: aligner.name, px: probes.map((p, j) => ({ label: p.label, px: sums[j] / Math.max(1, cases.length) })) };
}

/** A fixed-width table: one row per aligner, one column per probe. */
export function probeTable(rows: ProbeSummary[]): string {
  if (rows.length === 0) return '';
  const head = ['aligner (px per pure perturbation)', ...rows[0].px.map((p) => p.label)];
  const body = rows.map((r) => [r.aligner, ...r.px.map((p) => p.px.toFixed(2))]);
  return fixedWidthTable(head, body);
}
