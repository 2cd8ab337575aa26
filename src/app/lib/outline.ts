/**
 * The template drawn as contour lines over an aligned film. The canonical
 * chest is a blurred mean, so it has no crisp edges to detect; iso-intensity
 * lines at a few of its quantiles trace the lung fields and mediastinum, which
 * is what a reader checks an alignment against.
 */
export function contourOverlay(
  gray: ArrayLike<number>, width: number, height: number,
  opts: { quantiles?: number[]; color?: [number, number, number] } = {},
): Uint8ClampedArray {
  const n = width * height;
  if (gray.length !== n) throw new Error(`contourOverlay: ${gray.length} values for ${width}x${height}`);
  const sorted = Float32Array.from(gray).sort();
  const levels = (opts.quantiles ?? [0.3, 0.55]).map((q) => sorted[Math.min(n - 1, Math.floor(q * n))]);
  const [r, g, b] = opts.color ?? [255, 196, 0];
  const out = new Uint8ClampedArray(n * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const v = gray[i];
      const right = x + 1 < width ? gray[i + 1] : v;
      const down = y + 1 < height ? gray[i + width] : v;
      for (const level of levels) {
        const crosses = (v - level) * (right - level) < 0 || (v - level) * (down - level) < 0;
        if (crosses) {
          out[i * 4] = r; out[i * 4 + 1] = g; out[i * 4 + 2] = b; out[i * 4 + 3] = 230;
          break;
        }
      }
    }
  }
  return out;
}
