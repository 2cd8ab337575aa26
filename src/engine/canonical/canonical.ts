import type { GrayImage } from '../io/gray-image';
import { crop, resizeArea } from '../image/resize';

/** A box in pixels of the image it refers to. */
export interface Box { x: number; y: number; width: number; height: number }

/** Running mean of films resized to one square-ish frame; films are added one at a time so memory stays flat. */
export class MeanImageBuilder {
  private readonly acc: Float64Array;
  count = 0;

  constructor(readonly width: number, readonly height: number) {
    this.acc = new Float64Array(width * height);
  }

  add(img: GrayImage): void {
    const r = resizeArea(img, this.width, this.height);
    for (let i = 0; i < this.acc.length; i++) this.acc[i] += r.data[i];
    this.count++;
  }

  result(): GrayImage {
    if (this.count === 0) throw new Error('no images were added to the mean');
    const data = new Float32Array(this.acc.length);
    for (let i = 0; i < data.length; i++) data[i] = this.acc[i] / this.count;
    return { width: this.width, height: this.height, data, source: `mean of ${this.count} images` };
  }
}

export interface LungBoxOptions {
  /** A pixel belongs to a lung when its valley depth exceeds this fraction of the deepest. */
  depthFraction?: number;
}

/**
 * Propose the lung box of a mean chest film. The lungs are the two dark fields
 * with brighter tissue on BOTH sides of them along a row: the chest wall
 * outside, the mediastinum inside. Dark air around the body or a dark film
 * corner has brightness on one side only, so "valley depth"
 *   depth(x) = min(max left of x, max right of x) − value(x)
 * singles the lungs out where a plain darkness threshold would not. The two
 * largest deep blobs give the box.
 */
export function proposeLungBox(mean: GrayImage, opts: LungBoxOptions = {}): Box {
  const { width: w, height: h, data } = mean;
  const reach = Math.max(2, Math.round(w * 0.3));
  const depth = new Float32Array(w * h);
  let deepest = 0;
  for (let i = 0; i < h; i++) {
    const row = data.subarray(i * w, (i + 1) * w);
    for (let j = 0; j < w; j++) {
      let left = -Infinity;
      for (let k = Math.max(0, j - reach); k < j; k++) left = Math.max(left, row[k]);
      let right = -Infinity;
      for (let k = j + 1; k <= Math.min(w - 1, j + reach); k++) right = Math.max(right, row[k]);
      const d = Math.max(0, Math.min(left, right) - row[j]);
      depth[i * w + j] = d;
      if (d > deepest) deepest = d;
    }
  }
  if (!(deepest > 0)) throw new Error('could not find the lung fields in the mean image (no dark fields between brighter tissue)');
  const cut = deepest * (opts.depthFraction ?? 0.35);
  const mask = new Uint8Array(w * h);
  for (let p = 0; p < mask.length; p++) if (depth[p] >= cut) mask[p] = 1;
  const blobs = connectedComponents(mask, w, h).sort((a, b) => b.area - a.area).slice(0, 2);
  // A blob smaller than a fifth of the largest is noise, not the other lung.
  const kept = blobs.filter((b) => b.area >= blobs[0].area / 5);
  const bx0 = Math.min(...kept.map((b) => b.minX));
  const by0 = Math.min(...kept.map((b) => b.minY));
  const bx1 = Math.max(...kept.map((b) => b.maxX)) + 1;
  const by1 = Math.max(...kept.map((b) => b.maxY)) + 1;
  return { x: bx0, y: by0, width: bx1 - bx0, height: by1 - by0 };
}

interface Blob { area: number; minX: number; minY: number; maxX: number; maxY: number }

function connectedComponents(mask: Uint8Array, w: number, h: number): Blob[] {
  const seen = new Uint8Array(mask.length);
  const blobs: Blob[] = [];
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    const blob: Blob = { area: 0, minX: w, minY: h, maxX: 0, maxY: 0 };
    stack.push(start);
    seen[start] = 1;
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % w; const y = (p - x) / w;
      blob.area++;
      if (x < blob.minX) blob.minX = x;
      if (x > blob.maxX) blob.maxX = x;
      if (y < blob.minY) blob.minY = y;
      if (y > blob.maxY) blob.maxY = y;
      for (const q of [p - 1, p + 1, p - w, p + w]) {
        if (q < 0 || q >= mask.length || seen[q] || !mask[q]) continue;
        if ((q === p - 1 || q === p + 1) && Math.floor(q / w) !== y) continue;
        seen[q] = 1;
        stack.push(q);
      }
    }
    blobs.push(blob);
  }
  return blobs;
}

/**
 * Grow a box by fractions of its size on each side (clipped to the image), so
 * whole lung fields — costophrenic angles included — sit inside the frame.
 */
export function growBox(box: Box, margin: { left: number; right: number; top: number; bottom: number }, bounds: { width: number; height: number }): Box {
  const x0 = Math.max(0, box.x - margin.left * box.width);
  const y0 = Math.max(0, box.y - margin.top * box.height);
  const x1 = Math.min(bounds.width, box.x + box.width * (1 + margin.right));
  const y1 = Math.min(bounds.height, box.y + box.height * (1 + margin.bottom));
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

export const DEFAULT_MARGIN = { left: 0.12, right: 0.12, top: 0.1, bottom: 0.15 };

export interface CanonicalChest {
  template: GrayImage;
  /** The crop in the mean image's pixels. */
  box: Box;
  /** The lung box found (or given) before the margin. */
  lungBox: Box;
  mean: GrayImage;
}

/** Crop the mean image to the lungs (auto or explicit box) plus margin, resized to the template frame. */
export function canonicalFromMean(
  mean: GrayImage,
  opts: { box?: Box; margin?: typeof DEFAULT_MARGIN; frame?: { width: number; height: number } } = {},
): CanonicalChest {
  const lungBox = opts.box ?? proposeLungBox(mean);
  const box = opts.box ? opts.box : growBox(lungBox, opts.margin ?? DEFAULT_MARGIN, mean);
  const cropped = crop(mean, box.x, box.y, box.width, box.height);
  const template = opts.frame ? resizeArea(cropped, opts.frame.width, opts.frame.height) : cropped;
  return { template: { ...template, source: 'canonical chest' }, box, lungBox, mean };
}

/** Parse "x,y,w,h" (pixels of the mean image). */
export function parseBox(text: string): Box {
  const parts = text.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 4 || parts.some((v) => !Number.isFinite(v)) || parts[2] <= 0 || parts[3] <= 0) {
    throw new Error(`crop box "${text}" must be x,y,width,height with positive width and height`);
  }
  return { x: parts[0], y: parts[1], width: parts[2], height: parts[3] };
}
