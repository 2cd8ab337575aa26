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
  /**
   * Largest gamma curve on the encoder's copy: x^γ with log γ uniform in
   * ±log(1 + G) (absent or 0 = off). Films come windowed and exposed every
   * which way (portable AP films most of all), which a linear contrast and
   * brightness jitter does not cover: the mediastinum and bases brighten or
   * darken against the lungs, not with them.
   */
  gamma?: number;
  /**
   * Probability that the encoder's copy gets 1–4 bright marks (absent or 0 =
   * off): text and side markers, tubes and wires, ECG electrodes — what an
   * ICU film carries and a screening film does not. The frame should not move
   * for them; the loss still compares the film itself.
   */
  marks?: number;
  /**
   * Probability that the encoder's copy gets a basal effusion on one side or
   * both (absent or 0 = off): white from a meniscus, higher at the chest wall,
   * down to the bottom of the view, hiding that side's diaphragm dome and
   * costophrenic angle. The frame's height is what the bases place least well
   * (the model card's residual against the ceiling); this teaches the encoder
   * to place it from the rest of the chest where a base is not visible.
   */
  effusion?: number;
  /**
   * Largest trim of each side of the film, as a share of its side, for a view
   * that is a random crop of the film stretched to fill the encoder input: with
   * probability ½ it replaces the shift, scale and canvas, keeping the
   * rotation (absent or 0 = off). At inference the encoder sees each film's
   * content crop, never black around it, and films are framed tighter or
   * looser (more abdomen, less neck); the shift and scale leave black where
   * the film moved away.
   */
  crop?: number;
}

/** A soft white patch on the encoder input: centre and radius as shares of its side, strength in (0, 1]. */
export interface Opacity { x: number; y: number; radius: number; strength: number }

/**
 * A bright mark on the encoder input, coordinates and sizes as shares of its
 * side: a block of text, a tube or wire (a segment), an ECG electrode (a disc).
 */
export type Mark =
  | { kind: 'text'; x: number; y: number; w: number; h: number; strength: number }
  | { kind: 'wire'; x0: number; y0: number; x1: number; y1: number; width: number; strength: number }
  | { kind: 'electrode'; x: number; y: number; radius: number; strength: number };

/**
 * A basal effusion on the encoder input, as shares of its side: the side's
 * extent from `x0` to `x1`, white below `level` at the medial end, the meniscus
 * rising by `rise` toward the lateral end (`lateral`: the end at x0 or x1).
 */
export interface Effusion { x0: number; x1: number; lateral: 'x0' | 'x1'; level: number; rise: number; strength: number }

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
  /** Exponent of the gamma curve (1 = none). */
  gamma: number;
  marks: Mark[];
  effusions: Effusion[];
}

export function drawAugment(rng: Rng, s: AugmentSettings): AugmentDraw {
  if (!s.enabled) return { matrix: [[1, 0, 0], [0, 1, 0]], brightness: 0, contrast: 1, bands: NO_BANDS, opacities: [], gamma: 1, marks: [], effusions: [] };
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
  if ((s.crop ?? 0) > 0 && rng.next() < 0.5) matrix = compose(drawCrop(rng, s.crop!), paramsToMatrix([0, 0, 1, 1, theta]));
  return {
    matrix,
    brightness: rng.uniform(-s.brightness, s.brightness),
    contrast: rng.uniform(1 - s.contrast, 1 + s.contrast),
    // Drawn only when on, so runs without bands draw exactly what they drew before bands existed.
    bands: s.border > 0 ? drawBands(rng, s.border) : NO_BANDS,
    opacities: (s.opacity ?? 0) > 0 ? drawOpacities(rng, s.opacity!) : [],
    gamma: (s.gamma ?? 0) > 0 ? Math.exp(rng.uniform(-1, 1) * Math.log(1 + s.gamma!)) : 1,
    marks: (s.marks ?? 0) > 0 ? drawMarks(rng, s.marks!) : [],
    effusions: (s.effusion ?? 0) > 0 ? drawEffusions(rng, s.effusion!) : [],
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

/** A view of the film trimmed by up to `max` of its side on each side, independently: output [−1, 1] maps into the film. */
function drawCrop(rng: Rng, max: number): AffineMatrix {
  const x0 = -1 + 2 * rng.uniform(0, max);
  const x1 = 1 - 2 * rng.uniform(0, max);
  const y0 = -1 + 2 * rng.uniform(0, max);
  const y1 = 1 - 2 * rng.uniform(0, max);
  return [[(x1 - x0) / 2, 0, (x1 + x0) / 2], [0, (y1 - y0) / 2, (y1 + y0) / 2]];
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

function drawMarks(rng: Rng, p: number): Mark[] {
  if (rng.next() >= p) return [];
  const n = 1 + Math.floor(rng.next() * 4);
  return Array.from({ length: n }, (): Mark => {
    const kind = rng.next();
    // Text and side markers sit anywhere; wires cross the chest from above.
    if (kind < 0.4) {
      return { kind: 'text', x: rng.uniform(0, 0.9), y: rng.uniform(0, 0.95), w: rng.uniform(0.03, 0.25), h: rng.uniform(0.02, 0.06), strength: rng.uniform(0.7, 1) };
    }
    if (kind < 0.75) {
      const x0 = rng.uniform(0.1, 0.9);
      return { kind: 'wire', x0, y0: rng.uniform(0, 0.3), x1: x0 + rng.uniform(-0.4, 0.4), y1: rng.uniform(0.4, 1), width: rng.uniform(0.005, 0.03), strength: rng.uniform(0.4, 0.9) };
    }
    return { kind: 'electrode', x: rng.uniform(0.1, 0.9), y: rng.uniform(0.1, 0.9), radius: rng.uniform(0.01, 0.035), strength: rng.uniform(0.6, 1) };
  });
}

function drawEffusions(rng: Rng, p: number): Effusion[] {
  if (rng.next() >= p) return [];
  const r = rng.next();
  // One side twice as often as both; the patient's right lies on the film's left.
  const sides: Array<'left' | 'right'> = r < 1 / 3 ? ['left'] : r < 2 / 3 ? ['right'] : ['left', 'right'];
  return sides.map((side): Effusion => {
    const level = rng.uniform(0.55, 0.85);
    const strength = rng.uniform(0.4, 0.9);
    const rise = rng.uniform(0.03, 0.15);
    return side === 'left'
      ? { x0: rng.uniform(0.05, 0.2), x1: rng.uniform(0.45, 0.55), lateral: 'x0', level, rise, strength }
      : { x0: rng.uniform(0.45, 0.55), x1: rng.uniform(0.8, 0.95), lateral: 'x1', level, rise, strength };
  });
}

/**
 * How much each pixel of an [L, L] input is whitened by basal effusions, in
 * [0, 1]: the meniscus is a soft edge (2% of the side), the sides of the
 * region fade over 3%.
 */
export function effusionMap(effusions: readonly Effusion[], size: number): Float32Array {
  return paintBrightest(effusions, size, effusionAt);
}

/** A logistic edge: ½ at d = 0, rising over about w. */
function smoothStep(d: number, w: number): number {
  return 1 / (1 + Math.exp(-d / w));
}

function effusionAt(e: Effusion, x: number, y: number, size: number): number {
  const px = (x + 0.5) / size;
  const py = (y + 0.5) / size;
  // 0 at the medial end, 1 at the lateral one; the meniscus climbs as its square.
  const t = Math.min(1, Math.max(0, e.lateral === 'x0' ? (e.x1 - px) / (e.x1 - e.x0) : (px - e.x0) / (e.x1 - e.x0)));
  const surface = e.level - e.rise * t * t;
  return e.strength * smoothStep(py - surface, 0.02) * smoothStep(px - e.x0, 0.03) * smoothStep(e.x1 - px, 0.03);
}

/**
 * How much each pixel of the encoder's [L, L] copy is whitened by a draw's
 * opacities, marks and effusions together (the strongest wins), or null when
 * the draw has none.
 */
export function whitenMap(d: Pick<AugmentDraw, 'opacities' | 'marks' | 'effusions'>, size: number): Float32Array | null {
  if (!d.opacities.length && !d.marks.length && !d.effusions.length) return null;
  const m = paintBrightest(d.opacities, size, opacityAt);
  paintBrightest(d.marks, size, markAt, m);
  return paintBrightest(d.effusions, size, effusionAt, m);
}

/**
 * Paints each shape's value at every pixel of an [L, L] map, row-major, the
 * strongest winning where shapes overlap (into `m`, a fresh map by default).
 */
function paintBrightest<T>(shapes: readonly T[], size: number, at: (shape: T, x: number, y: number, size: number) => number, m: Float32Array = new Float32Array(size * size)): Float32Array {
  for (const shape of shapes) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = at(shape, x, y, size);
        if (v > m[y * size + x]) m[y * size + x] = v;
      }
    }
  }
  return m;
}

/** How much of a mark covers pixel (x, y) of an input `size` wide, in [0, 1]: a one-pixel soft edge. */
function markCover(m: Mark, x: number, y: number, size: number): number {
  const px = (x + 0.5) / size;
  const py = (y + 0.5) / size;
  // Distance outside the shape, in pixels.
  let d: number;
  if (m.kind === 'text') {
    d = Math.max(m.x - px, px - (m.x + m.w), m.y - py, py - (m.y + m.h)) * size;
  } else if (m.kind === 'electrode') {
    d = (Math.hypot(px - m.x, py - m.y) - m.radius) * size;
  } else {
    const vx = m.x1 - m.x0;
    const vy = m.y1 - m.y0;
    const t = Math.min(1, Math.max(0, ((px - m.x0) * vx + (py - m.y0) * vy) / (vx * vx + vy * vy)));
    d = (Math.hypot(px - m.x0 - t * vx, py - m.y0 - t * vy) - m.width / 2) * size;
  }
  return Math.min(1, Math.max(0, 0.5 - d));
}

/** How much each pixel of an [L, L] input is whitened by bright marks (0 = not at all, up to 1); the strongest wins. */
export function marksMap(marks: readonly Mark[], size: number): Float32Array {
  return paintBrightest(marks, size, markAt);
}

function markAt(mark: Mark, x: number, y: number, size: number): number {
  return mark.strength * markCover(mark, x, y, size);
}

/**
 * How much each pixel of an [L, L] input is whitened (0 = not at all, up to 1):
 * Gaussian patches, the strongest wins where they overlap.
 */
export function opacityMap(opacities: readonly Opacity[], size: number): Float32Array {
  return paintBrightest(opacities, size, opacityAt);
}

function opacityAt(o: Opacity, x: number, y: number, size: number): number {
  const cx = o.x * size - 0.5;
  const cy = o.y * size - 0.5;
  return o.strength * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * (o.radius * size) ** 2));
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
