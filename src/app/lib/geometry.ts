import type { Size } from '../../engine/affine/affine';

/** The largest size with the same aspect that fits inside max (never upscaled, never below 1 px). */
export function fitWithin(width: number, height: number, maxWidth: number, maxHeight: number): Size {
  const f = Math.min(1, maxWidth / width, maxHeight / height);
  return { width: Math.max(1, Math.round(width * f)), height: Math.max(1, Math.round(height * f)) };
}

/**
 * The gallery's frame: the model's output frame scaled to a fixed height, so
 * every aligned thumbnail has the frame's aspect and pairs line up in a grid.
 */
export function thumbFrame(frame: Size, height = 160): Size {
  return { width: Math.max(1, Math.round((frame.width * height) / frame.height)), height };
}

/**
 * Sample strips must stay legible when training runs at a tiny frame (32 px
 * for a quick check), so they are drawn at an integer multiple of it.
 */
export function displayFrame(frame: Size, minHeight = 160): Size {
  const s = Math.max(1, Math.ceil(minHeight / frame.height));
  return { width: frame.width * s, height: frame.height * s };
}

/** [0, 1] floats → bytes (rounded, clamped; NaN → 0). */
export function toBytes(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    out[i] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
  }
  return out;
}

export function fromBytes(data: Uint8Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] / 255;
  return out;
}
