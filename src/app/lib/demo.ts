import type { AffineParams } from '../../engine/affine/affine';
import type { GrayImage } from '../../engine/io/gray-image';
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

/**
 * A stand-in chest (two dark lung fields, brighter mediastinum and
 * diaphragm) for when models/canonical-chest.png is missing, so the app still
 * opens and says what it is using.
 */
export function syntheticChest(width = 256, height = 320): GrayImage {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = (x + 0.5) / width * 2 - 1;
      const v = (y + 0.5) / height * 2 - 1;
      let val = 0.72 - 0.1 * v;
      for (const cx of [-0.45, 0.45]) {
        const d = ((u - cx) / 0.33) ** 2 + ((v + 0.05) / 0.72) ** 2;
        val -= 0.4 * Math.exp(-2.2 * d * d);
      }
      val += 0.08 * Math.exp(-((u / 0.18) ** 2));
      data[y * width + x] = Math.min(1, Math.max(0, val));
    }
  }
  return { width, height, data, source: 'generated template' };
}
