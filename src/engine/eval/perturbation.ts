import { paramsToMatrix, type AffineMatrix } from '../affine/affine';
import type { Rng } from '../train/rng';

/** Perturbations as in the issue: ±10° rotation, ±10% shift, ±10% scale. */
export function drawPerturbation(rng: Rng): AffineMatrix {
  const s = rng.uniform(0.9, 1.1);
  return paramsToMatrix([rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), s, s, (rng.uniform(-10, 10) * Math.PI) / 180]);
}
