import { describe, expect, it } from 'vitest';
import { decode as decodeFastPng } from 'fast-png';
import { encodePng, encodePngRgb } from './encode-png.ts';
import { createGrayImage } from './gray-image.ts';

describe('encodePng', () => {
  it('writes an 8-bit gray PNG, clamping out-of-range values and NaN', () => {
    const img = createGrayImage(5, 1, Float32Array.from([-0.5, 0, 0.5, 1, NaN]));
    const png = decodeFastPng(encodePng(img));
    expect(png).toMatchObject({ width: 5, height: 1, depth: 8, channels: 1 });
    expect(Array.from(png.data)).toEqual([0, 0, 128, 255, 0]);
  });

  it('writes a 16-bit gray PNG at full precision', () => {
    const img = createGrayImage(3, 1, Float32Array.from([0, 1 / 65535, 2]));
    const png = decodeFastPng(encodePng(img, { bitDepth: 16 }));
    expect(png.depth).toBe(16);
    expect(Array.from(png.data)).toEqual([0, 1, 65535]);
  });

  it('rejects images whose data does not match their size', () => {
    expect(() => encodePng({ width: 4, height: 4, data: new Float32Array(15) })).toThrow(RangeError);
    expect(() => encodePng({ width: 0, height: 4, data: new Float32Array(0) })).toThrow(RangeError);
  });
});

describe('encodePngRgb', () => {
  it('writes an 8-bit RGB PNG', () => {
    const rgb = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 1, 2, 3]);
    const png = decodeFastPng(encodePngRgb(2, 2, rgb));
    expect(png).toMatchObject({ width: 2, height: 2, depth: 8, channels: 3 });
    expect(Array.from(png.data)).toEqual(Array.from(rgb));
  });

  it('rejects a buffer of the wrong length', () => {
    expect(() => encodePngRgb(2, 2, new Uint8Array(11))).toThrow(/needs 12/);
  });
});
