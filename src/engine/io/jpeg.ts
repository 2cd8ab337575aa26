/**
 * JPEG bit streams, shared by plain .jpg files and JPEG-compressed DICOM.
 * We read the frame header ourselves first so that the choice of decoder, the
 * size check and the "file cut short" check do not depend on what a library
 * happens to tolerate.
 */
import * as jpegJsNs from 'jpeg-js';
import { Decoder as LosslessDecoder } from 'jpeg-lossless-decoder-js';
import { checkDimensions, fail, guard } from './errors.ts';
import { MAX_IMAGE_SIDE } from './gray-image.ts';

// jpeg-js is CommonJS: Node's ESM loader and Vite expose it differently.
const jpegJs: typeof jpegJsNs =
  (jpegJsNs as unknown as { default?: typeof jpegJsNs }).default ?? jpegJsNs;

export interface JpegHeader {
  /** The SOFn marker's low byte: 0xC0 baseline, 0xC1 extended, 0xC2 progressive, 0xC3 lossless. */
  sof: number;
  precision: number;
  width: number;
  height: number;
  components: number;
}

export interface JpegSamples extends JpegHeader {
  /** Interleaved samples, `components` per pixel (1 or 3). */
  samples: Uint8Array | Uint16Array;
}

const SOF_NAMES: Record<number, string> = {
  0xc0: 'baseline',
  0xc1: 'extended sequential',
  0xc2: 'progressive',
  0xc3: 'lossless',
  0xc5: 'differential sequential (hierarchical)',
  0xc6: 'differential progressive (hierarchical)',
  0xc7: 'differential lossless (hierarchical)',
  0xc9: 'extended sequential, arithmetic coding',
  0xca: 'progressive, arithmetic coding',
  0xcb: 'lossless, arithmetic coding',
  0xcd: 'differential sequential, arithmetic coding',
  0xce: 'differential progressive, arithmetic coding',
  0xcf: 'differential lossless, arithmetic coding',
};

export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Walks the marker segments up to the first scan; returns the frame header. */
export function readJpegHeader(bytes: Uint8Array): JpegHeader & { scanStart: number } {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) fail('corrupt JPEG: no start-of-image marker');
  let pos = 2;
  let header: JpegHeader | undefined;
  while (pos < bytes.length) {
    if (bytes[pos] !== 0xff) fail(`corrupt JPEG: expected a marker at byte ${pos}, found 0x${hex2(bytes[pos]!)}`);
    while (pos < bytes.length && bytes[pos] === 0xff) pos++; // fill bytes
    if (pos >= bytes.length) break;
    const marker = bytes[pos++]!;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9) fail('corrupt JPEG: image ends before any scan');
    if (marker === 0x00) fail(`corrupt JPEG: invalid marker 0xFF00 at byte ${pos - 2}`);
    if (pos + 2 > bytes.length) break;
    const len = (bytes[pos]! << 8) | bytes[pos + 1]!;
    if (len < 2 || pos + len > bytes.length) break;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (len < 8) fail('corrupt JPEG: frame header too short');
      header = {
        sof: marker,
        precision: bytes[pos + 2]!,
        height: (bytes[pos + 3]! << 8) | bytes[pos + 4]!,
        width: (bytes[pos + 5]! << 8) | bytes[pos + 6]!,
        components: bytes[pos + 7]!,
      };
    }
    if (marker === 0xda) {
      if (!header) fail('corrupt JPEG: scan before frame header');
      return { ...header, scanStart: pos + len };
    }
    pos += len;
  }
  fail('corrupt or truncated JPEG: file ends inside the header (no image data)');
}

/**
 * Entropy-coded data can hold 0xFFD9 only as the real end marker (byte
 * stuffing), so an EOI after the scan start means the stream is complete even
 * with trailing padding or vendor junk; without it jpeg-js would quietly fill
 * the missing rows with gray.
 */
function hasEndMarker(bytes: Uint8Array, scanStart: number): boolean {
  for (let i = bytes.length - 2; i >= scanStart; i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  }
  return false;
}

/**
 * Decodes a complete JPEG stream to raw samples.
 * `colorTransform`: whether 3-component data is YCbCr (DICOM says so through
 * its photometric interpretation; for plain files leave it to the JFIF/Adobe
 * markers).
 */
export function decodeJpegSamples(bytes: Uint8Array, opts: { colorTransform?: boolean } = {}): JpegSamples {
  const h = readJpegHeader(bytes);
  checkDimensions(h.width, h.height, MAX_IMAGE_SIDE);
  if (!hasEndMarker(bytes, h.scanStart)) fail('corrupt or truncated JPEG: no end-of-image marker (file cut short?)');
  const process = SOF_NAMES[h.sof] ?? `SOF 0x${hex2(h.sof)}`;
  if (h.components !== 1 && h.components !== 3 && !(h.components === 4 && h.sof !== 0xc3)) {
    fail(`unsupported JPEG: ${h.components} colour components`);
  }
  const info: JpegHeader = { sof: h.sof, precision: h.precision, width: h.width, height: h.height, components: h.components };

  if (h.sof === 0xc3) return decodeLossless(bytes, info);
  if (h.sof === 0xc0 || h.sof === 0xc1 || h.sof === 0xc2) {
    if (h.precision !== 8) {
      fail(`unsupported JPEG: ${h.precision}-bit ${process} JPEG (only 8-bit lossy JPEG can be decoded here)`);
    }
    return decodeLossy(bytes, info, opts.colorTransform);
  }
  fail(`unsupported JPEG process: ${process}`);
}

function decodeLossy(bytes: Uint8Array, info: JpegHeader, colorTransform: boolean | undefined): JpegSamples {
  const pixels = info.width * info.height;
  const decoded = guard('corrupt JPEG', () =>
    jpegJs.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      ...(colorTransform === undefined ? {} : { colorTransform }),
      // Our own size cap (MAX_IMAGE_SIDE) applies; jpeg-js's 100 MP default would be a second, different one.
      maxResolutionInMP: Math.ceil((MAX_IMAGE_SIDE * MAX_IMAGE_SIDE) / 1e6) + 1,
      maxMemoryUsageInMB: 4096,
    }),
  );
  if (decoded.width !== info.width || decoded.height !== info.height || decoded.data.length < pixels * 3) {
    fail('corrupt JPEG: decoder returned a different size than the header says');
  }
  // jpeg-js always hands back RGB; a 1-component image has R = G = B.
  if (info.components === 1) {
    const gray = new Uint8Array(pixels);
    for (let i = 0, j = 0; i < pixels; i++, j += 3) gray[i] = decoded.data[j]!;
    return { ...info, samples: gray };
  }
  return { ...info, components: 3, samples: decoded.data.subarray(0, pixels * 3) };
}

function decodeLossless(bytes: Uint8Array, info: JpegHeader): JpegSamples {
  if (info.components === 3 && info.precision > 8) {
    fail(`unsupported JPEG: ${info.precision}-bit colour lossless JPEG`);
  }
  if (info.precision < 2 || info.precision > 16) fail(`corrupt JPEG: sample precision ${info.precision}`);
  const out = guard('corrupt JPEG (lossless)', () =>
    new LosslessDecoder().decode(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength),
  );
  const expected = info.width * info.height * info.components;
  if (!out || out.length < expected) fail('corrupt JPEG (lossless): decoder returned too few samples');
  return { ...info, samples: out.length === expected ? out : out.subarray(0, expected) };
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}
