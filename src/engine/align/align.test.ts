import * as tf from '../tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../testing/tf-backend';
import { paramsToMatrix } from '../affine/affine';
import type { GrayImage } from '../io/gray-image';
import { resizeArea } from '../image/resize';
import { AlignmentModel } from '../models/stn/stn';
import { defaultStnConfig } from '../models/stn/config';
import { regionMatrix } from '../models/stn/output-matrix';
import { alignImages, predictMatrices, warpImage } from './align';
import { refineBatch, refineParams } from './refine';

beforeAll(async () => { await useBackend(); });

/** Smooth structured test image: a few Gaussian blobs. */
function blobs(w: number, h: number): GrayImage {
  const data = new Float32Array(w * h);
  const spots = [[0.3, 0.35, 0.12], [0.7, 0.4, 0.1], [0.5, 0.75, 0.15], [0.2, 0.8, 0.06]];
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    let v = 0.1;
    for (const [cx, cy, r] of spots) v += 0.8 * Math.exp(-(((j / w - cx) ** 2) + ((i / h - cy) ** 2)) / (2 * r * r));
    data[i * w + j] = Math.min(1, v);
  }
  return { width: w, height: h, data };
}

describe('align pipeline', () => {
  it('a large film never reaches the encoder at full size, and exports at any resolution', async () => {
    const model = new AlignmentModel(defaultStnConfig({ locSize: 64 }));
    const film = blobs(1500, 1250);
    await alignImages(model, [blobs(32, 32)]); // builds the folded-BN cache
    const before = tf.memory().numTensors;
    const [r] = await alignImages(model, [film]);
    expect([r.aligned.width, r.aligned.height]).toEqual([256, 320]);
    expect(r.matrix).toEqual([[1, 0, 0], [0, 1, 0]]);
    // Identity into the 320x256 frame is the area-reduced film resampled: compare with a plain resize.
    const ref = resizeArea(film, 256, 320);
    let err = 0;
    for (let i = 0; i < ref.data.length; i++) err = Math.max(err, Math.abs(ref.data[i] - r.aligned.data[i]));
    expect(err).toBeLessThan(0.02);
    // Export at original resolution: the identity reproduces the film.
    const full = await warpImage(film, r.matrix, { width: film.width, height: film.height });
    let fullErr = 0;
    for (let i = 0; i < film.data.length; i += 997) fullErr = Math.max(fullErr, Math.abs(full.data[i] - film.data[i]));
    expect(fullErr).toBeLessThan(1e-5);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('test-time refinement moves toward the true transform', async () => {
    const film = blobs(200, 240);
    const truth = paramsToMatrix([0.12, -0.08, 0.9, 0.9, 0.05]);
    const template = await warpImage(film, truth, { width: 80, height: 96 });
    const refined = await refineParams(film, template, [0, 0, 1, 1, 0], { iterations: 60, size: 96, lr: 0.02 });
    const errBefore = Math.abs(0.12) + Math.abs(-0.08) + 0.1 + 0.1 + 0.05;
    const errAfter = Math.abs(refined[0] - 0.12) + Math.abs(refined[1] + 0.08) + Math.abs(refined[2] - 0.9) + Math.abs(refined[3] - 0.9) + Math.abs(refined[4] - 0.05);
    expect(errAfter).toBeLessThan(errBefore * 0.5);
  });

  it('refining films as one batch gives each film its own refinement, and leaks nothing', async () => {
    const truths = [[0.12, -0.08, 0.9, 0.9, 0.05], [-0.1, 0.05, 1.1, 1.0, -0.08], [0.02, 0.1, 0.95, 1.05, 0.1]] as const;
    const films = [blobs(200, 240), blobs(150, 150), blobs(260, 200)];
    const templ = blobs(200, 240);
    // Each film is the template seen through a different transform: the true answers differ per film.
    const warped = await Promise.all(films.map((_, i) => warpImage(templ, paramsToMatrix([-truths[i][0], -truths[i][1], 1, 1, 0]), { width: [200, 150, 260][i], height: [240, 150, 200][i] })));
    const template = await warpImage(templ, [[1, 0, 0], [0, 1, 0]], { width: 80, height: 96 });
    const starts = truths.map(() => [0, 0, 1, 1, 0] as [number, number, number, number, number]);
    const opts = { iterations: 40, size: 96, lr: 0.02 };
    const before = tf.memory().numTensors;
    const batch = await refineBatch(warped, template, starts, opts);
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < films.length; i++) {
      const one = await refineParams(warped[i], template, starts[i], opts);
      // Equal up to Adam's ε, which sees the batch-scaled loss.
      batch[i].forEach((v, k) => expect(Math.abs(v - one[k])).toBeLessThan(2e-3));
    }
    // And they differ between films (each one moved toward its own answer).
    expect(Math.abs(batch[0][0] - batch[1][0])).toBeGreaterThan(0.1);
  });

  it('a frame margin widens the exported view around the matched region', async () => {
    const model = new AlignmentModel(defaultStnConfig({ locSize: 64, margin: { left: 0.1, right: 0.1, top: 0.1, bottom: 0.05 } }));
    const [m] = await predictMatrices(model, [blobs(64, 64)]);
    expect(m[0][0]).toBeCloseTo(1.2, 6);
    expect(m[1][1]).toBeCloseTo(1.15, 6);
    expect(m[0][2]).toBeCloseTo(0, 6);
    expect(m[1][2]).toBeCloseTo(-0.05, 6);
    // regionMatrix undoes the margin: back to the matched region's (identity) matrix.
    regionMatrix(model.config.margin, m).flat().forEach((v, k) => expect(v).toBeCloseTo([1, 0, 0, 0, 1, 0][k], 9));
    model.dispose();
  });
});
