import { applyToPoint, compose, invert, type AffineMatrix, type Size } from '../affine/affine';
import type { Rng } from '../train/rng';
import { drawPerturbation } from './perturbation';

/**
 * Perturbations that lose nothing of the film. The classic equivariance
 * error moves the film inside its own frame, so shifts and zooms crop anatomy
 * or pad black at the edges, and part of that error is information the
 * perturbed copy no longer has. Here the film is first embedded, unchanged,
 * in a black canvas larger than itself and then moved inside that canvas,
 * never past its edge: a perfect aligner follows every move exactly (0 px).
 * The same embedding, without a move, measures the border effect: how far the
 * frame shifts when black border is added around the film.
 */

/** Canvas sizes (× the film) the border effect is measured at. */
export const BORDER_SCALES = [1.25, 1.5, 2];
/** Canvas size (× the film) the content-preserving moves happen in. */
export const CONTENT_CANVAS = 1.5;

export interface Embedding {
  /** The canvas, in pixels (the film's size × the scale, rounded). */
  size: Size;
  /** Canvas → film, normalized coordinates: the film centred, unchanged. */
  matrix: AffineMatrix;
}

/** The film centred in a black canvas `scale` times its size. */
export function embedding(film: Size, scale: number): Embedding {
  const size = { width: Math.max(1, Math.round(film.width * scale)), height: Math.max(1, Math.round(film.height * scale)) };
  // Canvas normalized x spans size.width pixels, the film's spans film.width: the ratio maps one onto the other.
  return { size, matrix: [[size.width / film.width, 0, 0], [0, size.height / film.height, 0]] };
}

/** Whether the whole film lies inside the canvas of a version whose pixel q shows the film at `versionToFilm`·q. */
export function filmInside(versionToFilm: AffineMatrix): boolean {
  const toVersion = invert(versionToFilm);
  for (const c of [{ x: -1, y: -1 }, { x: 1, y: -1 }, { x: -1, y: 1 }, { x: 1, y: 1 }]) {
    const q = applyToPoint(toVersion, c);
    if (Math.abs(q.x) > 1 + 1e-9 || Math.abs(q.y) > 1 + 1e-9) return false;
  }
  return true;
}

/**
 * A random move of the embedded film (±10° rotation, ±10% shift of the film,
 * ±10% scale, as the classic perturbations), redrawn until no part of the film
 * leaves the canvas. Returns version → film: the version's pixel q shows the
 * film at this matrix · q.
 */
export function drawContentMove(rng: Rng, emb: Embedding, maxTries = 1000): AffineMatrix {
  for (let t = 0; t < maxTries; t++) {
    // drawPerturbation acts in the film's normalized coordinates: its shift of 0.2 is 10% of the film.
    const m = compose(drawPerturbation(rng), emb.matrix);
    if (filmInside(m)) return m;
  }
  return emb.matrix;
}

/** The content-preserving moves draw from their own stream, so adding them leaves the classic perturbations as they were. */
export function contentSeed(seed: number): number {
  return (Math.imul(seed, 0x9e3779b1) ^ 0x5bd1e995) >>> 0;
}
