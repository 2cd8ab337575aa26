import { encode as fastPngEncode } from 'fast-png';
import type { GrayImage } from './gray-image.ts';

export interface EncodePngOptions {
  /** 8 (default) for viewing and sample strips; 16 to keep the full precision of a float image. */
  bitDepth?: 8 | 16;
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`encodePng: invalid size ${width}x${height}`);
  }
}

/** Gray PNG of a GrayImage; values outside [0,1] (and NaN, as 0) are clamped, not wrapped. */
export function encodePng(img: GrayImage, opts: EncodePngOptions = {}): Uint8Array {
  const { width, height, data } = img;
  checkSize(width, height);
  const n = width * height;
  if (data.length !== n) throw new RangeError(`encodePng: ${data.length} values for a ${width}x${height} image`);
  const depth = opts.bitDepth ?? 8;
  if (depth !== 8 && depth !== 16) throw new RangeError(`encodePng: bit depth must be 8 or 16, got ${String(depth)}`);
  const max = depth === 16 ? 65535 : 255;
  const out = depth === 16 ? new Uint16Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = data[i]!;
    // `v > 0` is false for NaN, so NaN lands on 0.
    out[i] = v > 0 ? (v < 1 ? Math.round(v * max) : max) : 0;
  }
  return fastPngEncode({ width, height, data: out, depth, channels: 1 });
}

/** 8-bit RGB PNG from interleaved r,g,b bytes (overlays, sample strips). */
export function encodePngRgb(width: number, height: number, rgb: Uint8Array): Uint8Array {
  checkSize(width, height);
  if (rgb.length !== width * height * 3) {
    throw new RangeError(`encodePngRgb: ${rgb.length} bytes for a ${width}x${height} RGB image (needs ${width * height * 3})`);
  }
  return fastPngEncode({ width, height, data: rgb, depth: 8, channels: 3 });
}
