import type { GrayImage } from '../io/gray-image';

/**
 * Area-weighted resampling (what OpenCV calls INTER_AREA) done on the host.
 * The encoder input is a 4–25x downsample of a film; bilinear sampling at that
 * ratio aliases (ribs turn to moiré), while averaging each output pixel's
 * footprint does not. Separable, so it costs O(W·H) per axis.
 */
export function resizeArea(src: GrayImage, width: number, height: number): GrayImage {
  if (width === src.width && height === src.height) {
    return { ...src, data: src.data.slice() };
  }
  const xw = axisWeights(src.width, width);
  const yw = axisWeights(src.height, height);
  const tmp = new Float32Array(width * src.height);
  for (let r = 0; r < src.height; r++) {
    const row = r * src.width;
    for (let j = 0; j < width; j++) {
      const { start, weights } = xw[j];
      let acc = 0;
      for (let k = 0; k < weights.length; k++) acc += src.data[row + start + k] * weights[k];
      tmp[r * width + j] = acc;
    }
  }
  const out = new Float32Array(width * height);
  for (let i = 0; i < height; i++) {
    const { start, weights } = yw[i];
    for (let k = 0; k < weights.length; k++) {
      const wgt = weights[k];
      const row = (start + k) * width;
      for (let j = 0; j < width; j++) out[i * width + j] += tmp[row + j] * wgt;
    }
  }
  return { width, height, data: out, source: src.source, meta: src.meta };
}

interface AxisWeights { start: number; weights: Float32Array }

/**
 * For each output cell, the input cells it overlaps and their overlap shares.
 * When upsampling the footprint is smaller than one input cell, which would
 * make this nearest-neighbour; linear interpolation is used there instead.
 */
function axisWeights(inSize: number, outSize: number): AxisWeights[] {
  const scale = inSize / outSize;
  const out: AxisWeights[] = [];
  for (let o = 0; o < outSize; o++) {
    if (scale <= 1) {
      const x = (o + 0.5) * scale - 0.5;
      const x0 = Math.max(0, Math.min(inSize - 1, Math.floor(x)));
      const x1 = Math.min(inSize - 1, x0 + 1);
      const f = Math.max(0, Math.min(1, x - x0));
      out.push(x1 === x0 ? { start: x0, weights: Float32Array.of(1) } : { start: x0, weights: Float32Array.of(1 - f, f) });
      continue;
    }
    const lo = o * scale;
    const hi = lo + scale;
    const start = Math.floor(lo);
    const end = Math.min(inSize, Math.ceil(hi));
    const weights = new Float32Array(end - start);
    for (let k = start; k < end; k++) {
      weights[k - start] = (Math.min(hi, k + 1) - Math.max(lo, k)) / scale;
    }
    out.push({ start, weights });
  }
  return out;
}

/** A crop (x, y, width, height in pixels, clipped to the image). */
export function crop(src: GrayImage, x: number, y: number, width: number, height: number): GrayImage {
  const x0 = Math.max(0, Math.round(x));
  const y0 = Math.max(0, Math.round(y));
  const w = Math.min(src.width - x0, Math.round(width));
  const h = Math.min(src.height - y0, Math.round(height));
  if (w <= 0 || h <= 0) throw new Error(`crop ${x},${y},${width},${height} is outside the ${src.width}x${src.height} image`);
  const out = new Float32Array(w * h);
  for (let i = 0; i < h; i++) out.set(src.data.subarray((y0 + i) * src.width + x0, (y0 + i) * src.width + x0 + w), i * w);
  return { width: w, height: h, data: out, source: src.source };
}
