import { applyToPoint, compose, determinant, invert, type AffineMatrix, type Size } from '../affine/affine';

/**
 * Alignment-quality measures over lung masks warped into the output frame.
 * Masks are warped onto a CANVAS twice the frame's extent (frame in the
 * middle), so lungs pushed outside the frame still count: a tight frame can
 * no longer inflate Dice by clipping every mask to the same border.
 */

/** Output canvas → frame coordinates: the canvas spans [−2, 2] of the frame's normalized units. */
export const CANVAS_SCALE = 2;

/** The matrix that warps an input onto the canvas, given its frame matrix. */
export function canvasMatrix(frameMatrix: AffineMatrix): AffineMatrix {
  return compose(frameMatrix, [[CANVAS_SCALE, 0, 0], [0, CANVAS_SCALE, 0]]);
}

/** A binary mask packed as bits. */
export interface BitMask { bits: Uint32Array; count: number; width: number; height: number }

export function toBitMask(values: Float32Array, width: number, height: number, threshold = 0.5): BitMask {
  const bits = new Uint32Array(Math.ceil((width * height) / 32));
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] >= threshold) { bits[i >>> 5] |= 1 << (i & 31); count++; }
  }
  return { bits, count, width, height };
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export function dice(a: BitMask, b: BitMask): number {
  let inter = 0;
  for (let i = 0; i < a.bits.length; i++) inter += popcount(a.bits[i] & b.bits[i]);
  const denom = a.count + b.count;
  return denom === 0 ? 1 : (2 * inter) / denom;
}

/** The central frame region of a canvas mask, as its own mask. */
export function frameRegion(canvas: BitMask): BitMask {
  const fw = canvas.width / CANVAS_SCALE;
  const fh = canvas.height / CANVAS_SCALE;
  const x0 = (canvas.width - fw) / 2;
  const y0 = (canvas.height - fh) / 2;
  const bits = new Uint32Array(Math.ceil((fw * fh) / 32));
  let count = 0;
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const src = (y0 + i) * canvas.width + (x0 + j);
      if (canvas.bits[src >>> 5] & (1 << (src & 31))) { const d = i * fw + j; bits[d >>> 5] |= 1 << (d & 31); count++; }
    }
  }
  return { bits, count, width: fw, height: fh };
}

/** Mean Dice over all pairs, and each mask's mean Dice against the others. */
export function pairwiseDice(masks: BitMask[]): { mean: number; perImage: number[] } {
  const n = masks.length;
  const sums = new Float64Array(n);
  let total = 0;
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const d = dice(masks[i], masks[j]);
      sums[i] += d; sums[j] += d; total += d; pairs++;
    }
  }
  return { mean: pairs ? total / pairs : NaN, perImage: Array.from(sums, (s) => (n > 1 ? s / (n - 1) : NaN)) };
}

/**
 * Mean Dice over the pairs of masks in the same group (films of one patient),
 * pooled over every pair; each mask's mean over its own pairs (NaN without
 * any). Masks without a group take part in no pair.
 */
export function groupDice(masks: BitMask[], groups: (string | undefined)[]): { mean: number; pairs: number; groups: number; perImage: number[] } {
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => {
    if (g === undefined || g === '') return;
    const list = byGroup.get(g);
    if (list) list.push(i); else byGroup.set(g, [i]);
  });
  const sums = new Float64Array(masks.length);
  const counts = new Uint32Array(masks.length);
  let total = 0;
  let pairs = 0;
  let multi = 0;
  for (const members of byGroup.values()) {
    if (members.length > 1) multi++;
    for (let a = 0; a < members.length; a++) {
      for (let b = a + 1; b < members.length; b++) {
        const i = members[a];
        const j = members[b];
        const d = dice(masks[i], masks[j]);
        sums[i] += d; sums[j] += d; counts[i]++; counts[j]++; total += d; pairs++;
      }
    }
  }
  return { mean: pairs ? total / pairs : NaN, pairs, groups: multi, perImage: Array.from(sums, (s, i) => (counts[i] ? s / counts[i] : NaN)) };
}

/**
 * Share of a lung mask that the frame cuts off. The whole mask's area in frame
 * pixels follows from the input mask's pixel count and the matrix's
 * determinant, so parts that fall even outside the canvas still count.
 */
export function cutFraction(frameMask: BitMask, inputMaskPixels: number, input: Size, frame: Size, matrix: AffineMatrix): number {
  const expected = (inputMaskPixels * frame.width * frame.height) / (input.width * input.height) / Math.abs(determinant(matrix));
  if (!(expected > 0)) return 0;
  return Math.max(0, Math.min(1, 1 - frameMask.count / expected));
}

/**
 * How far apart two alignments of the same film put the frame, in output
 * pixels: `a` maps the frame into the film, `b` maps the frame into a
 * perturbed copy whose pixel p shows the film at `perturbation`·p. A perfect
 * aligner gives perturbation·b == a. Averaged over a grid of frame points.
 */
export function frameDisagreementPx(a: AffineMatrix, b: AffineMatrix, perturbation: AffineMatrix, frame: Size, grid = 8): number {
  const back = compose(invert(a), compose(perturbation, b));
  let total = 0;
  for (let i = 0; i < grid; i++) {
    for (let j = 0; j < grid; j++) {
      const p = { x: -1 + (2 * j + 1) / grid, y: -1 + (2 * i + 1) / grid };
      const q = applyToPoint(back, p);
      total += Math.hypot(((q.x - p.x) * frame.width) / 2, ((q.y - p.y) * frame.height) / 2);
    }
  }
  return total / (grid * grid);
}
