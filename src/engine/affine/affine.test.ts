import { describe, expect, it } from 'vitest';
import {
  applyToPoint, compose, determinant, frameToInputPixel, inputToFramePixel, invert,
  matrixToParams, normalizedToPixel, paramsToMatrix, pixelToNormalized, type AffineParams,
} from './affine';

const close = (a: number, b: number, tol = 1e-9) => expect(Math.abs(a - b)).toBeLessThan(tol);

describe('affine convention', () => {
  it('builds the seed matrix from (tx, ty, sx, sy, θ)', () => {
    const m = paramsToMatrix([0.1, -0.2, 0.8, 1.1, 0.3]);
    close(m[0][0], 0.8 * Math.cos(0.3));
    close(m[0][1], -1.1 * Math.sin(0.3));
    close(m[0][2], 0.1);
    close(m[1][0], 0.8 * Math.sin(0.3));
    close(m[1][1], 1.1 * Math.cos(0.3));
    close(m[1][2], -0.2);
  });

  it('round-trips params → matrix → params', () => {
    const cases: AffineParams[] = [[0, 0, 1, 1, 0], [0.3, -0.1, 0.7, 1.4, -0.5], [-0.5, 0.5, 1.5, 0.5, 0.52]];
    for (const p of cases) {
      const q = matrixToParams(paramsToMatrix(p));
      p.forEach((v, i) => close(q[i], v));
    }
  });

  it('inverts and composes', () => {
    const m = paramsToMatrix([0.2, 0.1, 0.9, 1.2, 0.2]);
    const id = compose(m, invert(m));
    close(id[0][0], 1); close(id[0][1], 0); close(id[0][2], 0);
    close(id[1][0], 0); close(id[1][1], 1); close(id[1][2], 0);
    const a = paramsToMatrix([0.1, 0, 1, 1, 0]);
    const b = paramsToMatrix([0, 0, 2, 2, 0]);
    // outer(inner(p)): scale first, then shift.
    const p = applyToPoint(compose(a, b), { x: 0.5, y: 0.5 });
    close(p.x, 1.1); close(p.y, 1);
    close(determinant(compose(a, b)), 4);
    expect(() => invert([[0, 0, 0], [0, 0, 0]])).toThrow(/singular/);
  });

  it('maps pixel centres like align_corners=False', () => {
    const size = { width: 4, height: 2 };
    const n = pixelToNormalized({ x: 0, y: 0 }, size);
    close(n.x, -0.75); close(n.y, -0.5);
    const back = normalizedToPixel(n, size);
    close(back.x, 0); close(back.y, 0);
    // The identity maps a frame pixel to the same relative spot of any input.
    const q = frameToInputPixel([[1, 0, 0], [0, 1, 0]], { x: 127.5, y: 0 }, { width: 256, height: 320 }, { width: 1024, height: 2048 });
    close(q.x, 511.5, 1e-9); close(q.y, 2.7, 1e-9);
  });

  it('carries points from input to frame and back', () => {
    const m = paramsToMatrix([0.1, -0.05, 0.8, 0.9, 0.1]);
    const frame = { width: 256, height: 320 };
    const input = { width: 1000, height: 1200 };
    const p = { x: 333.3, y: 777.7 };
    const f = inputToFramePixel(m, p, frame, input);
    const r = frameToInputPixel(m, f, frame, input);
    close(r.x, p.x, 1e-6); close(r.y, p.y, 1e-6);
  });
});
