import type { AffineMatrix } from '../affine/affine';
import { paramsToMatrix } from '../affine/affine';
import type { Rng } from './rng';

export interface AugmentSettings {
  enabled: boolean;
  /** Max |shift| in normalized units (0.1 = 5% of the image size). */
  shift: number;
  /** Max relative scale change (0.05 = ±5%). */
  scale: number;
  /** Max |rotation| in degrees. */
  rotateDeg: number;
  /** Max |brightness| offset on [0, 1] pixels. */
  brightness: number;
  /** Max relative contrast change. */
  contrast: number;
  /** Probability of an extra quarter turn (films scanned sideways). */
  rotate90: number;
}

export const DEFAULT_AUGMENT: AugmentSettings = {
  enabled: true, shift: 0.1, scale: 0.05, rotateDeg: 10, brightness: 0.1, contrast: 0.2, rotate90: 0,
};

export interface AugmentDraw {
  /** Applied to the film before the network sees it (output → input convention). */
  matrix: AffineMatrix;
  brightness: number;
  contrast: number;
}

export function drawAugment(rng: Rng, s: AugmentSettings): AugmentDraw {
  if (!s.enabled) return { matrix: [[1, 0, 0], [0, 1, 0]], brightness: 0, contrast: 1 };
  const scale = rng.uniform(1 - s.scale, 1 + s.scale);
  let theta = (rng.uniform(-s.rotateDeg, s.rotateDeg) * Math.PI) / 180;
  if (s.rotate90 > 0 && rng.next() < s.rotate90) theta += (rng.next() < 0.5 ? 1 : -1) * (Math.PI / 2);
  const tx = rng.uniform(-s.shift, s.shift);
  const ty = rng.uniform(-s.shift, s.shift);
  return {
    matrix: paramsToMatrix([tx, ty, scale, scale, theta]),
    brightness: rng.uniform(-s.brightness, s.brightness),
    contrast: rng.uniform(1 - s.contrast, 1 + s.contrast),
  };
}
