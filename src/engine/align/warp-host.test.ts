import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../testing/tf-backend';
import { paramsToMatrix, type AffineMatrix } from '../affine/affine';
import type { GrayImage } from '../io/gray-image';
import { warpImage } from './align';
import { warpGrayHost, warpImageHost } from './warp-host';

beforeAll(async () => { await useBackend(); });

function randomImage(w: number, h: number, seed: number): GrayImage {
  let s = seed;
  const data = new Float32Array(w * h).map(() => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; });
  return { width: w, height: h, data };
}

const MATRICES: AffineMatrix[] = [
  [[1, 0, 0], [0, 1, 0]],
  paramsToMatrix([0.2, -0.1, 0.8, 1.1, 0.3]),
  paramsToMatrix([-0.6, 0.7, 1.4, 0.6, -0.5]), // largely outside the image: zero padding
  [[0.9, 0.2, 0.05], [-0.15, 1.2, -0.3]], // with shear
];

describe('host export warp', () => {
  it('equals the engine sampler (grid_sample, zeros, align_corners=False) for any matrix', async () => {
    for (const [size, frame] of [[[37, 29], { width: 23, height: 31 }], [[64, 64], { width: 64, height: 64 }], [[50, 40], { width: 90, height: 70 }]] as const) {
      const img = randomImage(size[0], size[1], size[0]);
      for (const m of MATRICES) {
        const want = await warpImage(img, m, frame);
        const got = warpImageHost(img, m, frame);
        expect([got.width, got.height]).toEqual([frame.width, frame.height]);
        let max = 0;
        want.data.forEach((v, i) => { max = Math.max(max, Math.abs(v - got.data[i])); });
        expect(max).toBeLessThan(2e-5);
      }
    }
  });

  it('reduces a large film like warpImage does, and maps NaN matrices to black', async () => {
    const img = randomImage(300, 260, 7);
    const frame = { width: 40, height: 50 };
    const m = MATRICES[1];
    const want = await warpImage(img, m, frame);
    const got = warpImageHost(img, m, frame);
    want.data.forEach((v, i) => expect(Math.abs(v - got.data[i])).toBeLessThan(2e-5));
    const nan = warpGrayHost(img, [[NaN, 0, 0], [0, 1, 0]], frame);
    expect(nan.data.every((v) => v === 0)).toBe(true);
  });
});
