import type { GrayImage } from '../io/gray-image';

export interface SyntheticChestOptions {
  width?: number;
  height?: number;
  /**
   * 0 = the smooth chest (the template stand-in). Any other seed adds seeded
   * film-grain texture and shifts the body a little sideways, so films of
   * different seeds differ as real films do.
   */
  seed?: number;
}

/**
 * The one synthetic chest of the project (tests, benchmarks, the workbench's
 * stand-in template when models/canonical-chest.png is missing): dark air
 * around a bright body, two dark lung fields either side of a brighter
 * mediastinum. Geometry, as fractions of the image: body x 0.1–0.9; lungs
 * centred at x 0.32 and 0.68, spanning x ≈ 0.18–0.82 and y ≈ 0.15–0.75.
 */
export function syntheticChest(opts: SyntheticChestOptions = {}): GrayImage {
  const { width = 256, height = 320, seed = 0 } = opts;
  const data = new Float32Array(width * height);
  const dx = seed ? (((seed % 7) + 7) % 7 - 3) * 0.01 : 0;
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      const x = (j + 0.5) / width - dx;
      const y = (i + 0.5) / height;
      const body = Math.max(0, 1 - ((x - 0.5) / 0.4) ** 2 - ((y - 0.5) / 0.62) ** 2);
      let v = 0.08 + 0.62 * Math.sqrt(body);
      for (const cx of [0.32, 0.68]) {
        const d = ((x - cx) / 0.14) ** 2 + ((y - 0.45) / 0.3) ** 2;
        if (d < 1) v -= 0.42 * Math.sqrt(1 - d) + 0.05;
      }
      v += 0.06 * Math.exp(-(((x - 0.5) / 0.06) ** 2)) * (y > 0.1 ? 1 : 0);
      if (seed) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        v += 0.05 * (s / 2 ** 32 - 0.5);
      }
      data[i * width + j] = Math.min(1, Math.max(0, v));
    }
  }
  return { width, height, data, source: seed ? `synthetic chest ${seed}` : 'synthetic chest' };
}
