import type { AffineMatrix } from '../affine/affine';
import { compose, paramsToMatrix } from '../affine/affine';
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
  /**
   * Max width of a black band over each edge of the encoder's input, as a share
   * of its side (0 = off); each edge gets one with probability ½. Films come
   * padded, collimated and cropped by differing amounts, and the network should
   * place the frame from the anatomy, not from where the film's border lies.
   */
  border: number;
  /**
   * Largest black canvas, as a multiple of the film's size, the encoder's copy
   * is embedded in (with probability ½) and moved inside without being cut:
   * the frame should follow the anatomy, not the film's edges (≤ 1 or absent = off).
   */
  canvas?: number;
  /**
   * Max relative stretch of the film's height against its width (0.1 = ±10%;
   * absent or 0 = off). How far down the diaphragm sits varies with inspiration
   * and posture far more than the chest's width does; isotropic scaling alone
   * never shows the network a taller or shorter chest of the same width.
   */
  aspect?: number;
  /**
   * Probability that the encoder's copy gets 1–3 soft white patches over the
   * chest (absent or 0 = off). Consolidation, effusion and oedema whiten parts
   * of the lungs on many real films (every COVID-era ICU film); the network
   * should place the frame from the chest's outline, not from where the lungs
   * happen to be dark. The loss still compares the film itself.
   */
  opacity?: number;
}

/** A soft white patch on the encoder input: centre and radius as shares of its side, strength in (0, 1]. */
export interface Opacity { x: number; y: number; radius: number; strength: number }

export const DEFAULT_AUGMENT: AugmentSettings = {
  enabled: true, shift: 0.1, scale: 0.05, rotateDeg: 10, brightness: 0.1, contrast: 0.2, rotate90: 0, border: 0,
};

/** Band widths over the encoder input's edges, as shares of its side. */
export interface BorderBands { left: number; right: number; top: number; bottom: number }

const NO_BANDS: BorderBands = { left: 0, right: 0, top: 0, bottom: 0 };

export interface AugmentDraw {
  /** Applied to the film before the network sees it (output → input convention). */
  matrix: AffineMatrix;
  brightness: number;
  contrast: number;
  bands: BorderBands;
  opacities: Opacity[];
}

export function drawAugment(rng: Rng, s: AugmentSettings): AugmentDraw {
  if (!s.enabled) return { matrix: [[1, 0, 0], [0, 1, 0]], brightness: 0, contrast: 1, bands: NO_BANDS, opacities: [] };
  const scale = rng.uniform(1 - s.scale, 1 + s.scale);
  let theta = (rng.uniform(-s.rotateDeg, s.rotateDeg) * Math.PI) / 180;
  if (s.rotate90 > 0 && rng.next() < s.rotate90) theta += (rng.next() < 0.5 ? 1 : -1) * (Math.PI / 2);
  const tx = rng.uniform(-s.shift, s.shift);
  const ty = rng.uniform(-s.shift, s.shift);
  // Drawn only when on, as the canvas and bands below.
  const stretch = (s.aspect ?? 0) > 0 ? rng.uniform(1 - s.aspect!, 1 + s.aspect!) : 1;
  let matrix = paramsToMatrix([tx, ty, scale, scale * stretch, theta]);
  // Drawn only when on (as the bands below), so runs without a canvas draw what they drew before.
  if ((s.canvas ?? 0) > 1 && rng.next() < 0.5) matrix = compose(matrix, drawCanvas(rng, s.canvas!));
  return {
    matrix,
    brightness: rng.uniform(-s.brightness, s.brightness),
    contrast: rng.uniform(1 - s.contrast, 1 + s.contrast),
    // Drawn only when on, so runs without bands draw exactly what they drew before bands existed.
    bands: s.border > 0 ? drawBands(rng, s.border) : NO_BANDS,
    opacities: (s.opacity ?? 0) > 0 ? drawOpacities(rng, s.opacity!) : [],
  };
}

/**
 * The view of a canvas k times the film's size with the film somewhere inside
 * it, whole: output points map to k·p + t, and |t| ≤ k − 1 keeps [−1, 1] (the
 * film) within the view.
 */
function drawCanvas(rng: Rng, max: number): AffineMatrix {
  const k = rng.uniform(1, max);
  return [[k, 0, rng.uniform(-(k - 1), k - 1)], [0, k, rng.uniform(-(k - 1), k - 1)]];
}

function drawBands(rng: Rng, max: number): BorderBands {
  const band = () => (rng.next() < 0.5 ? rng.uniform(0, max) : 0);
  return { left: band(), right: band(), top: band(), bottom: band() };
}

function drawOpacities(rng: Rng, p: number): Opacity[] {
  if (rng.next() >= p) return [];
  const n = 1 + Math.floor(rng.next() * 3);
  // Over the lung fields of a film that fills the view, lower zones as often as upper.
  return Array.from({ length: n }, () => ({
    x: rng.uniform(0.2, 0.8), y: rng.uniform(0.25, 0.85), radius: rng.uniform(0.06, 0.2), strength: rng.uniform(0.3, 0.8),
  }));
}

/**
 * How much each pixel of an [L, L] input is whitened (0 = not at all, up to 1):
 * Gaussian patches, the strongest wins where they overlap.
 */
export function opacityMap(opacities: readonly Opacity[], size: number): Float32Array {
  const m = new Float32Array(size * size);
  for (const o of opacities) {
    const cx = o.x * size - 0.5;
    const cy = o.y * size - 0.5;
    const s2 = 2 * (o.radius * size) ** 2;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = o.strength * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / s2);
        if (v > m[y * size + x]) m[y * size + x] = v;
      }
    }
  }
  return m;
}

/** 1 inside the input, 0 under the bands: a [L, L] mask, row-major. */
export function bandMask(b: BorderBands, size: number): Float32Array {
  const m = new Float32Array(size * size);
  const x0 = Math.round(b.left * size);
  const x1 = size - Math.round(b.right * size);
  const y0 = Math.round(b.top * size);
  const y1 = size - Math.round(b.bottom * size);
  for (let y = y0; y < y1; y++) m.fill(1, y * size + x0, y * size + Math.max(x0, x1));
  return m;
}
