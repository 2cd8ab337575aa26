/**
 * The template drawn as contour lines over an aligned film. The canonical
 * chest is a blurred mean, so it has no crisp edges to detect; iso-intensity
 * lines at a few of its quantiles trace the lung fields and mediastinum, which
 * is what a reader checks an alignment against. The image is smoothed first
 * and the levels fall between 8-bit values, so the lines come out unbroken.
 */
export function contourOverlay(
  gray: ArrayLike<number>, width: number, height: number,
  opts: { quantiles?: number[]; color?: [number, number, number] } = {},
): Uint8ClampedArray {
  const n = width * height;
  if (gray.length !== n) throw new Error(`contourOverlay: ${gray.length} values for ${width}x${height}`);
  const smooth = boxBlur(boxBlur(Float32Array.from(gray), width, height, 2), width, height, 2);
  const sorted = Float32Array.from(smooth).sort();
  const levels = (opts.quantiles ?? [0.25, 0.5]).map((q) => sorted[Math.min(n - 1, Math.floor(q * n))] + 1e-3);
  const [r, g, b] = opts.color ?? [255, 196, 0];
  const out = new Uint8ClampedArray(n * 4);
  const mark = (i: number) => { out[i * 4] = r; out[i * 4 + 1] = g; out[i * 4 + 2] = b; out[i * 4 + 3] = 235; };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const v = smooth[i];
      const right = x + 1 < width ? smooth[i + 1] : v;
      const down = y + 1 < height ? smooth[i + width] : v;
      for (const level of levels) {
        if ((v - level) * (right - level) < 0 || (v - level) * (down - level) < 0) { mark(i); break; }
      }
    }
  }
  return out;
}

/** Separable box blur of radius r (edges clamp). */
function boxBlur(src: Float32Array, w: number, h: number, r: number): Float32Array {
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  const k = 2 * r + 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let d = -r; d <= r; d++) acc += src[y * w + Math.min(w - 1, Math.max(0, x + d))];
      tmp[y * w + x] = acc / k;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let d = -r; d <= r; d++) acc += tmp[Math.min(h - 1, Math.max(0, y + d)) * w + x];
      out[y * w + x] = acc / k;
    }
  }
  return out;
}
