import { describe, expect, it } from 'vitest';
import { encode as encodeFastPng } from 'fast-png';
import * as jpegJsNs from 'jpeg-js';
import { ImageDecodeError, decodeImage, sniffImageFormat } from './decode-image.ts';
import { encodePng, encodePngRgb } from './encode-png.ts';
import { createGrayImage, type GrayImage } from './gray-image.ts';
import { encodeJpegLossless, patchPngSize } from './test-fixtures.ts';

const jpegJs: typeof jpegJsNs = (jpegJsNs as unknown as { default?: typeof jpegJsNs }).default ?? jpegJsNs;

function gradient(width: number, height: number): GrayImage {
  const img = createGrayImage(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) img.data[y * width + x] = (x + y) / (width + height - 2);
  }
  return img;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Runs decodeImage expecting failure; returns the ImageDecodeError. */
function decodeError(bytes: Uint8Array, name: string): ImageDecodeError {
  try {
    decodeImage(bytes, name);
  } catch (e) {
    expect(e).toBeInstanceOf(ImageDecodeError);
    const err = e as ImageDecodeError;
    expect(err.file).toBe(name);
    expect(err.message).toBe(`${name}: ${err.reason}`);
    return err;
  }
  throw new Error(`${name} decoded although it should not`);
}

describe('PNG', () => {
  it('round-trips an 8-bit gray image exactly at 1/255 steps', () => {
    const img = gradient(37, 23);
    const back = decodeImage(encodePng(img), 'g8.png');
    expect(back.width).toBe(37);
    expect(back.height).toBe(23);
    expect(back.source).toBe('g8.png');
    expect(back.meta).toMatchObject({ format: 'png', bitDepth: 8 });
    expect(maxAbsDiff(back.data, img.data)).toBeLessThanOrEqual(0.5 / 255 + 1e-7);
  });

  it('round-trips a 16-bit gray image at 1/65535 precision', () => {
    const img = gradient(64, 48);
    const back = decodeImage(encodePng(img, { bitDepth: 16 }), 'g16.png');
    expect(back.meta).toMatchObject({ format: 'png', bitDepth: 16 });
    expect(maxAbsDiff(back.data, img.data)).toBeLessThanOrEqual(0.5 / 65535 + 1e-7);
  });

  it('scales 16-bit samples by 65535, not 255 or 4095', () => {
    const data = Uint16Array.from([0, 4095, 32768, 65535]);
    const png = encodeFastPng({ width: 4, height: 1, data, depth: 16, channels: 1 });
    const out = decodeImage(png, 'x.png').data;
    expect(out[0]).toBe(0);
    expect(out[1]).toBeCloseTo(4095 / 65535, 6);
    expect(out[2]).toBeCloseTo(32768 / 65535, 6);
    expect(out[3]).toBe(1);
  });

  it('converts RGB, RGBA and 16-bit RGB to Rec.601 luminance', () => {
    const rgb = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 200, 200, 200]);
    const out = decodeImage(encodePngRgb(4, 1, rgb), 'rgb.png');
    expect(out.meta).toMatchObject({ colorType: 'RGB', convertedFromColor: true });
    expect(out.data[0]).toBeCloseTo(0.299, 5);
    expect(out.data[1]).toBeCloseTo(0.587, 5);
    expect(out.data[2]).toBeCloseTo(0.114, 5);
    expect(out.data[3]).toBeCloseTo(200 / 255, 5);

    const rgba = Uint8Array.from([255, 0, 0, 0, 10, 20, 30, 255]);
    const a = decodeImage(encodeFastPng({ width: 2, height: 1, data: rgba, depth: 8, channels: 4 }), 'rgba.png');
    expect(a.data[0]).toBeCloseTo(0.299, 5); // alpha ignored
    expect(a.data[1]).toBeCloseTo((0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255, 5);

    const rgb16 = Uint16Array.from([65535, 65535, 65535, 0, 65535, 0]);
    const c = decodeImage(encodeFastPng({ width: 2, height: 1, data: rgb16, depth: 16, channels: 3 }), 'rgb16.png');
    expect(c.data[0]).toBeCloseTo(1, 5);
    expect(c.data[1]).toBeCloseTo(0.587, 5);
  });

  it('reads gray+alpha, palette and sub-byte gray images', () => {
    const ga = decodeImage(
      encodeFastPng({ width: 2, height: 1, data: Uint8Array.from([51, 0, 204, 255]), depth: 8, channels: 2 }),
      'ga.png',
    );
    expect(Array.from(ga.data)).toEqual([Math.fround(0.2), Math.fround(0.8)]);

    const palette = [
      [0, 0, 0],
      [255, 255, 255],
      [255, 0, 0],
    ];
    const pal = decodeImage(
      encodeFastPng({ width: 3, height: 1, data: Uint8Array.from([2, 1, 0]), depth: 8, channels: 1, palette }),
      'pal.png',
    );
    expect(pal.data[0]).toBeCloseTo(0.299, 5);
    expect(pal.data[1]).toBeCloseTo(1, 5);
    expect(pal.data[2]).toBe(0);

    // 4-bit gray, 3 pixels per row (odd: the row is padded to a whole byte), 2 rows.
    const packed = Uint8Array.from([0x0f, 0x50, 0xa3, 0xc0]);
    const g4 = decodeImage(encodeFastPng({ width: 3, height: 2, data: packed, depth: 4, channels: 1 }), 'g4.png');
    expect(Array.from(g4.data).map((v) => Math.round(v * 15))).toEqual([0, 15, 5, 10, 3, 12]);

    // 1-bit gray
    const g1 = decodeImage(encodeFastPng({ width: 10, height: 1, data: Uint8Array.from([0b10110000, 0b01000000]), depth: 1, channels: 1 }), 'g1.png');
    expect(Array.from(g1.data)).toEqual([1, 0, 1, 1, 0, 0, 0, 0, 0, 1]);
  });

  it('decodes from a view at an odd offset into a larger buffer', () => {
    const img = gradient(10, 10);
    const png = encodePng(img, { bitDepth: 16 });
    const big = new Uint8Array(png.length + 5);
    big.set(png, 1);
    expect(maxAbsDiff(decodeImage(big.subarray(1, 1 + png.length), 'v.png').data, img.data)).toBeLessThan(1e-4);
  });

  it('reads Adam7-interlaced PNGs', () => {
    const img = gradient(19, 13);
    const data = Uint8Array.from(img.data, (v) => Math.round(v * 255));
    const png = encodeFastPng({ width: 19, height: 13, data, depth: 8, channels: 1 }, { interlace: 'Adam7' });
    expect(maxAbsDiff(decodeImage(png, 'i.png').data, img.data)).toBeLessThanOrEqual(0.5 / 255 + 1e-7);
  });
});

describe('JPEG', () => {
  function jpegOf(width: number, height: number, f: (x: number, y: number) => [number, number, number]): Uint8Array {
    const rgba = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const [r, g, b] = f(x, y);
        rgba.set([r, g, b, 255], (y * width + x) * 4);
      }
    }
    return new Uint8Array(jpegJs.encode({ width, height, data: rgba }, 95).data);
  }

  it('decodes a baseline JPEG of a gray gradient', () => {
    const w = 64;
    const h = 40;
    const bytes = jpegOf(w, h, (x) => {
      const v = Math.round((x / (w - 1)) * 255);
      return [v, v, v];
    });
    expect(sniffImageFormat(bytes)).toBe('jpeg');
    const img = decodeImage(bytes, 'grad.jpg');
    expect(img.width).toBe(w);
    expect(img.height).toBe(h);
    expect(img.meta).toMatchObject({ format: 'jpeg', bitDepth: 8, lossless: false });
    for (const x of [0, 16, 32, 48, 63]) {
      expect(img.data[20 * w + x]).toBeCloseTo(x / (w - 1), 1);
      expect(Math.abs(img.data[20 * w + x]! - x / (w - 1))).toBeLessThan(4 / 255);
    }
  });

  it('decodes a colour JPEG to luminance', () => {
    const img = decodeImage(jpegOf(16, 16, () => [0, 200, 0]), 'green.jpg');
    expect(img.data[8 * 16 + 8]).toBeGreaterThan((0.587 * 200 - 6) / 255);
    expect(img.data[8 * 16 + 8]).toBeLessThan((0.587 * 200 + 6) / 255);
  });

  it('decodes a lossless (process 14) JPEG file at its real precision', () => {
    const w = 9;
    const h = 7;
    const samples = Uint16Array.from({ length: w * h }, (_, i) => (i * 517) % 4096);
    const img = decodeImage(encodeJpegLossless(samples, w, h, 12), 'll.jpg');
    expect(img.meta).toMatchObject({ format: 'jpeg', bitDepth: 12, lossless: true });
    expect(maxAbsDiff(img.data, Array.from(samples, (v) => v / 4095))).toBeLessThan(1e-6);
  });
});

describe('bad input', () => {
  const png = encodePng(gradient(32, 32));

  it('empty file', () => {
    expect(decodeError(new Uint8Array(0), 'empty.png').reason).toBe('empty file');
  });

  it('text file named .png', () => {
    const err = decodeError(new TextEncoder().encode('hello world, not an image\n'), 'notes.png');
    expect(err.reason).toMatch(/^not a PNG, JPEG or DICOM image \(starts with "hello wo", bytes 68 65 6c 6c 6f 20 77 6f\)$/);
  });

  it('names other formats it recognises', () => {
    const html = new TextEncoder().encode('<!DOCTYPE html><html><body>404 Not Found</body></html>');
    expect(decodeError(html, 'scan.png').reason).toMatch(/^not a PNG, JPEG or DICOM image \(looks like HTML page; starts with/);
    const tiff = Uint8Array.from([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0, 0, 0]);
    expect(decodeError(tiff, 'scan.tif').reason).toMatch(/looks like TIFF/);
  });

  it('truncated PNG', () => {
    const err = decodeError(png.subarray(0, Math.floor(png.length / 2)), 'cut.png');
    expect(err.reason).toMatch(/^corrupt or truncated PNG: .*file cut short/);
    expect(decodeError(png.subarray(0, 5), 'tiny.png').reason).toBe('corrupt or truncated PNG: file is only 5 bytes');
    expect(decodeError(png.subarray(0, png.length - 12), 'noiend.png').reason).toMatch(/^corrupt or truncated PNG: .*without an IEND/);
  });

  it('corrupt PNG data', () => {
    const bad = png.slice();
    bad[png.length - 20] ^= 0xff; // inside IDAT: CRC no longer matches
    const err = decodeError(bad, 'flip.png');
    expect(err.reason).toMatch(/^corrupt or truncated PNG: /);
  });

  it('absurd PNG dimensions', () => {
    expect(decodeError(patchPngSize(png, 20000, 32), 'wide.png').reason).toBe(
      'image dimensions 20000x32 out of range (each side must be 1..16384 px)',
    );
    expect(decodeError(patchPngSize(png, 32, 0), 'flat.png').reason).toMatch(/^image dimensions 32x0 out of range/);
  });

  it('truncated and corrupt JPEG', () => {
    const rgba = new Uint8Array(64 * 64 * 4).fill(128);
    const jpg = new Uint8Array(jpegJs.encode({ width: 64, height: 64, data: rgba }, 90).data);
    expect(decodeError(jpg.subarray(0, jpg.length - 40), 'cut.jpg').reason).toBe(
      'corrupt or truncated JPEG: no end-of-image marker (file cut short?)',
    );
    expect(decodeError(jpg.subarray(0, 100), 'head.jpg').reason).toMatch(/^corrupt or truncated JPEG: /);
    const garbage = Uint8Array.from([0xff, 0xd8, 0xff, 0x00, 1, 2, 3, 4, 5]);
    expect(decodeError(garbage, 'junk.jpg').reason).toMatch(/^corrupt JPEG: /);
  });

  it('wraps library exceptions instead of letting them escape', () => {
    // Valid JPEG framing around an entropy-coded segment the decoder cannot parse.
    const rgba = new Uint8Array(16 * 16 * 4).fill(90);
    const jpg = new Uint8Array(jpegJs.encode({ width: 16, height: 16, data: rgba }, 90).data);
    const bad = jpg.slice();
    // Point the DHT tables at nonsense.
    for (let i = 0; i + 1 < bad.length; i++) {
      if (bad[i] === 0xff && bad[i + 1] === 0xc4) {
        bad.fill(0xff, i + 5, i + 21);
        break;
      }
    }
    const err = decodeError(bad, 'dht.jpg');
    expect(err.reason).toMatch(/^corrupt JPEG: \S/);
    expect(err.cause).toBeDefined();
  });
});
