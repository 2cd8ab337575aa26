import { beforeAll, describe, expect, it } from 'vitest';
import { applyToPoint, compose, invert, type AffineMatrix } from '../affine/affine';
import { useBackend } from '../../testing/tf-backend';
import type { GrayImage } from '../io/gray-image';
import { Rng } from '../train/rng';
import { BORDER_SCALES, CONTENT_CANVAS, contentSeed, drawContentMove, embedding, filmInside } from './content';
import { evaluate, identityAligner, type Aligner, type EvalCase } from './evaluate';
import { frameDisagreementPx } from './metrics';

beforeAll(async () => { await useBackend(); });

/** An elongated, tilted Gaussian blob on black, well inside the film. */
function blob(w: number, h: number): GrayImage {
  const data = new Float32Array(w * h);
  const c = Math.cos(0.3);
  const s = Math.sin(0.3);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const x = (2 * j + 1) / w - 1 - 0.05;
    const y = (2 * i + 1) / h - 1 + 0.04;
    const u = c * x + s * y;
    const v = -s * x + c * y;
    data[i * w + j] = Math.exp(-0.5 * ((u / 0.22) ** 2 + (v / 0.12) ** 2));
  }
  return { width: w, height: h, data };
}

/**
 * Frame from the intensity moments (centroid, principal axes): black adds
 * nothing to them, so it follows any move of the content exactly.
 */
const momentAligner: Aligner = {
  name: 'moments',
  async align(img) {
    let s = 0; let mx = 0; let my = 0;
    const xs = (j: number) => (2 * j + 1) / img.width - 1;
    const ys = (i: number) => (2 * i + 1) / img.height - 1;
    for (let i = 0; i < img.height; i++) for (let j = 0; j < img.width; j++) {
      const v = img.data[i * img.width + j];
      s += v; mx += v * xs(j); my += v * ys(i);
    }
    mx /= s; my /= s;
    let cxx = 0; let cxy = 0; let cyy = 0;
    for (let i = 0; i < img.height; i++) for (let j = 0; j < img.width; j++) {
      const v = img.data[i * img.width + j];
      const dx = xs(j) - mx; const dy = ys(i) - my;
      cxx += v * dx * dx; cxy += v * dx * dy; cyy += v * dy * dy;
    }
    cxx /= s; cxy /= s; cyy /= s;
    const phi = 0.5 * Math.atan2(2 * cxy, cxx - cyy);
    const tr = cxx + cyy;
    const disc = Math.sqrt(((cxx - cyy) / 2) ** 2 + cxy * cxy);
    const l1 = Math.sqrt(tr / 2 + disc);
    const l2 = Math.sqrt(tr / 2 - disc);
    // Frame = the blob's principal axes, 3 σ across.
    return [[3 * l1 * Math.cos(phi), -3 * l2 * Math.sin(phi), mx], [3 * l1 * Math.sin(phi), 3 * l2 * Math.cos(phi), my]];
  },
};

const frame = { width: 64, height: 80 };

describe('content-preserving moves and the border effect', () => {
  it('embed the film unchanged and never move it past the canvas edge', () => {
    const film = { width: 100, height: 80 };
    const emb = embedding(film, 1.5);
    expect(emb.size).toEqual({ width: 150, height: 120 });
    // The canvas's centre half (in pixels: 25..125) shows the whole film.
    expect(applyToPoint(emb.matrix, { x: -100 / 150, y: 80 / 120 })).toEqual({ x: -1, y: 1 });
    expect(filmInside(emb.matrix)).toBe(true);
    expect(filmInside([[1, 0, 0], [0, 1, 0]])).toBe(true);
    expect(filmInside([[1, 0, 0.1], [0, 1, 0]])).toBe(false);
    const rng = new Rng(3);
    for (let k = 0; k < 200; k++) expect(filmInside(drawContentMove(rng, emb))).toBe(true);
    // A canvas too small for any move: the draw falls back to the plain embedding.
    const tight = embedding(film, 1.01);
    expect(drawContentMove(new Rng(1), tight, 20)).toEqual(tight.matrix);
  });

  it('score ~0 for an aligner that follows the content exactly', async () => {
    const cases: EvalCase[] = [{ name: 'blob', image: blob(96, 80), mask: blob(96, 80) }];
    const r = await evaluate(momentAligner, cases, { frame, perturbations: 0, seed: 1, cutThreshold: 0.02, contentMoves: 3, borderScales: BORDER_SCALES });
    expect(r.contentMoves).toBe(3);
    expect(r.contentPx).toBeLessThan(0.15);
    expect(r.border.map((b) => b.scale)).toEqual(BORDER_SCALES);
    for (const b of r.border) expect(b.px).toBeLessThan(0.15);
  });

  it('identity scores the analytic frame displacement', async () => {
    const film = blob(96, 80);
    const cases: EvalCase[] = [{ name: 'blob', image: film, mask: film }];
    const r = await evaluate(identityAligner, cases, { frame, perturbations: 0, seed: 5, cutThreshold: 0.02, contentMoves: 4, borderScales: [1.5, 2] });
    // Bare vs embedded at scale f: frame point p lands at f·p on the film, (f − 1)·|p| output pixels away.
    const grid = (f: number) => {
      let t = 0;
      for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) {
        const x = -1 + (2 * j + 1) / 8; const y = -1 + (2 * i + 1) / 8;
        t += Math.hypot(((f - 1) * x * frame.width) / 2, ((f - 1) * y * frame.height) / 2);
      }
      return t / 64;
    };
    expect(r.border[0].px).toBeCloseTo(grid(1.5), 9);
    expect(r.border[1].px).toBeCloseTo(grid(2), 9);
    // Each move against the unmoved embedding: the same draws, the frame never moving.
    const rng = new Rng(contentSeed(5));
    const emb = embedding(film, CONTENT_CANVAS);
    const I: AffineMatrix = [[1, 0, 0], [0, 1, 0]];
    let expected = 0;
    for (let k = 0; k < 4; k++) expected += frameDisagreementPx(emb.matrix, I, drawContentMove(rng, emb), frame);
    expect(r.contentPx).toBeCloseTo(expected / 4, 9);
    expect(r.contentPx).toBeGreaterThan(2);
    // A move taken back through itself is the embedding: what a content-following aligner answers.
    const move = drawContentMove(new Rng(contentSeed(5)), emb);
    expect(frameDisagreementPx(emb.matrix, compose(invert(move), emb.matrix), move, frame)).toBeLessThan(1e-9);
  });
});
