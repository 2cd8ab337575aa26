import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../testing/tf-backend';
import type { GrayImage } from '../io/gray-image';
import { evaluate, identityAligner, type Aligner, type EvalCase } from './evaluate';
import { EQUIVARIANCE_PROBES, probeTable } from './probes';

beforeAll(async () => { await useBackend(); });

/** One Gaussian blob off centre, well inside the film so no probe pushes it out. */
function blob(w: number, h: number): GrayImage {
  const data = new Float32Array(w * h);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    data[i * w + j] = Math.exp(-(((j / w - 0.55) ** 2) + ((i / h - 0.45) ** 2)) / (2 * 0.06 * 0.06));
  }
  return { width: w, height: h, data };
}

/** Puts the frame's centre on the intensity centroid: follows shifts exactly, ignores zoom and rotation. */
const centroidAligner: Aligner = {
  name: 'centroid',
  async align(img) {
    let s = 0; let sx = 0; let sy = 0;
    for (let i = 0; i < img.height; i++) for (let j = 0; j < img.width; j++) {
      const v = img.data[i * img.width + j];
      s += v; sx += v * ((2 * j + 1) / img.width - 1); sy += v * ((2 * i + 1) / img.height - 1);
    }
    return [[1, 0, sx / s], [0, 1, sy / s]];
  },
};

describe('equivariance probes', () => {
  it('tell an aligner that follows shifts from one that follows nothing', async () => {
    const cases: EvalCase[] = [{ name: 'blob', image: blob(96, 80), mask: blob(96, 80) }];
    const opts = { frame: { width: 64, height: 80 }, perturbations: 0, seed: 1, cutThreshold: 0.02, probes: EQUIVARIANCE_PROBES };
    const c = await evaluate(centroidAligner, cases, opts);
    const id = await evaluate(identityAligner, cases, opts);
    const px = (r: typeof c, label: string) => r.probes!.find((p) => p.label === label)!.px;
    expect(c.probes!.map((p) => p.label)).toEqual(EQUIVARIANCE_PROBES.map((p) => p.label));
    for (const label of ['shift x +10%', 'shift x −10%', 'shift y +10%', 'shift y −10%']) {
      expect(px(c, label)).toBeLessThan(0.2);
      // A 10% shift of the film is 10% of the frame under an identity frame: 6.4 px across, 8 px down.
      expect(px(id, label)).toBeCloseTo(label.startsWith('shift x') ? 6.4 : 8, 5);
    }
    for (const label of ['zoom in 10%', 'zoom out 10%', 'rotate +10°', 'rotate −10°']) {
      expect(px(c, label)).toBeGreaterThan(1.5);
      expect(px(id, label)).toBeGreaterThan(1.5);
    }
    const table = probeTable([id, c]).split('\n');
    expect(table.length).toBe(4);
    expect(table[0]).toContain('zoom out 10%');
    expect(table[3]).toMatch(/^\| centroid /);
    // An oracle's row (NaN: it cannot align moved copies) reads "—".
    const oracle = { ...c, aligner: 'oracle', probes: c.probes!.map((p) => ({ ...p, px: NaN })) };
    expect(probeTable([c, oracle]).split('\n')[3]).toMatch(/^\| oracle +\| — +\|/);
  });
});
