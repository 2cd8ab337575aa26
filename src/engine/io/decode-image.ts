/**
 * One entry point for every image the engine accepts. The format is taken
 * from the bytes, never from the name: files from PACS exports often have no
 * extension, and a ".png" that is really an HTML error page must be refused
 * with a message that says so.
 */
import { DecodeFailure, ImageDecodeError, describeError, fail } from './errors.ts';
import { luminance, type GrayImage } from './gray-image.ts';
import { decodeDicomGray, isDicom } from './dicom.ts';
import { decodeJpegSamples, isJpeg } from './jpeg.ts';
import { decodePngGray, isPng } from './png.ts';
import { withDarkLungs } from '../image/polarity.ts';

export { ImageDecodeError } from './errors.ts';

export type ImageFormat = 'png' | 'jpeg' | 'dicom';

/** Which decoder decodeImage would use, or null. Cheap: looks at the first bytes only. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (isPng(bytes)) return 'png';
  if (isJpeg(bytes)) return 'jpeg';
  if (isDicom(bytes)) return 'dicom';
  return null;
}

export interface DecodeOptions {
  /**
   * DICOM only: when a film decoded per its Photometric Interpretation still
   * shows bright lungs (a mis-tagged MONOCHROME1/2 file), invert it and record
   * meta.polarityInverted. 'as-tagged' keeps the standard's reading. Default 'auto'.
   */
  dicomPolarity?: 'auto' | 'as-tagged';
}

/**
 * Decodes a PNG, JPEG or DICOM file to a gray image in [0,1] (0 = black).
 * Throws ImageDecodeError, and only that, for anything it cannot read.
 */
export function decodeImage(bytes: Uint8Array, name: string, opts: DecodeOptions = {}): GrayImage {
  try {
    if (!(bytes instanceof Uint8Array)) fail('not a byte array');
    if (bytes.length === 0) fail('empty file');
    const format = sniffImageFormat(bytes);
    let decoded: Omit<GrayImage, 'source'>;
    switch (format) {
      case 'png':
        decoded = decodePngGray(bytes);
        break;
      case 'jpeg':
        decoded = decodeJpegFile(bytes);
        break;
      case 'dicom':
        decoded = decodeDicomGray(bytes);
        if ((opts.dicomPolarity ?? 'auto') === 'auto') decoded = withDarkLungs(decoded as GrayImage).image;
        break;
      default:
        fail(unknownFormatReason(bytes));
    }
    return { ...decoded, source: name };
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    if (e instanceof DecodeFailure) throw new ImageDecodeError(name, e.reason, { cause: e.cause ?? e });
    // Our own code failing (or a library throwing outside a guard) still must not leak raw.
    const what = e instanceof RangeError ? 'out of memory or invalid size' : 'unexpected decoder failure';
    throw new ImageDecodeError(name, `${what}: ${describeError(e)}`, { cause: e });
  }
}

function decodeJpegFile(bytes: Uint8Array): Omit<GrayImage, 'source'> {
  const j = decodeJpegSamples(bytes);
  const n = j.width * j.height;
  const out = new Float32Array(n);
  const scale = 1 / (2 ** j.precision - 1);
  const s = j.samples;
  if (j.components === 1) {
    for (let i = 0; i < n; i++) out[i] = s[i]! * scale;
  } else {
    for (let i = 0, k = 0; i < n; i++, k += 3) out[i] = luminance(s[k]!, s[k + 1]!, s[k + 2]!) * scale;
  }
  return {
    width: j.width,
    height: j.height,
    data: out,
    meta: {
      format: 'jpeg',
      bitDepth: j.precision,
      lossless: j.sof === 0xc3,
      ...(j.components === 1 ? {} : { convertedFromColor: true }),
    },
  };
}

const OTHER_FORMATS: Array<[string, (b: Uint8Array) => boolean]> = [
  ['GIF', (b) => ascii(b, 0, 4) === 'GIF8'],
  ['TIFF', (b) => ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*'],
  ['BMP', (b) => ascii(b, 0, 2) === 'BM' && b.length > 26 && b[14]! >= 12 && b[15] === 0],
  ['WebP', (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP'],
  ['JPEG 2000', (b) => (b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51) || ascii(b, 4, 8) === 'jP  \r\n\x87\n'],
  ['HEIF/AVIF', (b) => ascii(b, 4, 4) === 'ftyp' && /^(heic|heix|hevc|mif1|avif|avis)$/.test(ascii(b, 8, 4))],
  ['PDF', (b) => ascii(b, 0, 5) === '%PDF-'],
  ['ZIP archive', (b) => ascii(b, 0, 4) === 'PK\x03\x04'],
  ['gzip archive', (b) => b[0] === 0x1f && b[1] === 0x8b],
  ['HTML page', (b) => /^\s*<(!doctype html|html|head|body)/i.test(ascii(b, 0, 64))],
];

function ascii(b: Uint8Array, start: number, length: number): string {
  let s = '';
  for (let i = start; i < start + length && i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function unknownFormatReason(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 8);
  const hex = Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ');
  const printable = head.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d);
  const text = printable ? ` ${JSON.stringify(ascii(head, 0, head.length))},` : '';
  const starts = `starts with${text} bytes ${hex}`;
  // A prefix of a known signature: the file was cut off before the header ended.
  if (bytes.length < 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a].slice(0, bytes.length).every((b, i) => bytes[i] === b)) {
    return `corrupt or truncated PNG: file is only ${bytes.length} bytes`;
  }
  if (bytes.length < 3 && bytes[0] === 0xff && (bytes.length === 1 || bytes[1] === 0xd8)) {
    return `corrupt or truncated JPEG: file is only ${bytes.length} bytes`;
  }
  const other = OTHER_FORMATS.find(([, test]) => test(bytes));
  if (other) return `not a PNG, JPEG or DICOM image (looks like ${other[0]}; ${starts})`;
  return `not a PNG, JPEG or DICOM image (${starts})`;
}
