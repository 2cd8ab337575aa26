import type { AffineParams } from '../../engine/affine/affine';
import { Rng } from '../../engine/train/rng';

/**
 * Random misalignments for the "try it" inputs: shifts, zooms and tilts of
 * the size seen between real films, well inside the bounded head's range so a
 * trained model can undo them.
 */
export function demoParams(count: number, seed: number): AffineParams[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    const s = rng.uniform(0.8, 1.2);
    return [
      rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15),
      s * rng.uniform(0.95, 1.05), s * rng.uniform(0.95, 1.05),
      (rng.uniform(-12, 12) * Math.PI) / 180,
    ] as AffineParams;
  });
}
