import type { AffineParams } from '../affine/affine';
import type { EvalSummary } from './evaluate';
import { fixedWidthTable } from './table';

/**
 * The random perturbations of the equivariance error mix shift, zoom and
 * rotation, so one number cannot say which of them an aligner fails to follow.
 * Each probe is one pure perturbation at the edge of that range; `evaluate`
 * scores the ones in its `probes` option.
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

/** A fixed-width table: one row per aligner scored with probes, one column per probe. */
export function probeTable(rows: EvalSummary[]): string {
  const scored = rows.filter((r) => r.probes?.length);
  if (scored.length === 0) return '';
  const head = ['aligner (px per pure perturbation)', ...scored[0].probes!.map((p) => p.label)];
  // An oracle row (the ceiling) cannot align moved copies: "—", as in the summary table.
  const body = scored.map((r) => [r.aligner, ...r.probes!.map((p) => (Number.isFinite(p.px) ? p.px.toFixed(2) : '—'))]);
  return fixedWidthTable(head, body);
}
