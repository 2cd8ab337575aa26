/**
 * DICOM → GrayImage: parse with dicom-parser, unpack the first frame, then
 * apply what a DICOM viewer applies before showing a radiograph (modality
 * rescale, VOI window, MONOCHROME1 inversion) so the engine sees the film the
 * way a radiologist would, with lungs dark.
 */
import * as dicomParserNs from 'dicom-parser';
import type { DataSet, Element } from 'dicom-parser';
import { inflateSync } from 'fflate';
import { checkDimensions, describeError, fail, guard } from './errors.ts';
import { MAX_IMAGE_SIDE, luminance, type GrayImage } from './gray-image.ts';
import { decodeJpegSamples } from './jpeg.ts';

// dicom-parser ships a UMD bundle: under Node's ESM loader the API sits on `default`.
const dicomParser: typeof dicomParserNs =
  (dicomParserNs as unknown as { default?: typeof dicomParserNs }).default ?? dicomParserNs;

type Codec = 'native' | 'deflate' | 'encapsulated-native' | 'rle' | 'jpeg' | 'jpeg-lossless' | null;

interface SyntaxInfo {
  name: string;
  codec: Codec;
  bigEndian?: boolean;
}

const LEI = '1.2.840.10008.1.2';
const LEE = '1.2.840.10008.1.2.1';

/** Names from PS3.6 Annex A, so an unsupported file can be told apart from a broken one. */
const TRANSFER_SYNTAXES: Record<string, SyntaxInfo> = {
  [LEI]: { name: 'Implicit VR Little Endian', codec: 'native' },
  [LEE]: { name: 'Explicit VR Little Endian', codec: 'native' },
  '1.2.840.10008.1.2.1.98': { name: 'Encapsulated Uncompressed Explicit VR Little Endian', codec: 'encapsulated-native' },
  '1.2.840.10008.1.2.1.99': { name: 'Deflated Explicit VR Little Endian', codec: 'deflate' },
  '1.2.840.10008.1.2.2': { name: 'Explicit VR Big Endian', codec: 'native', bigEndian: true },
  '1.2.840.10008.1.2.4.50': { name: 'JPEG Baseline (Process 1)', codec: 'jpeg' },
  '1.2.840.10008.1.2.4.51': { name: 'JPEG Extended (Process 2 & 4)', codec: 'jpeg' },
  '1.2.840.10008.1.2.4.57': { name: 'JPEG Lossless, Non-Hierarchical (Process 14)', codec: 'jpeg-lossless' },
  '1.2.840.10008.1.2.4.70': { name: 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, SV1)', codec: 'jpeg-lossless' },
  '1.2.840.10008.1.2.4.80': { name: 'JPEG-LS Lossless', codec: null },
  '1.2.840.10008.1.2.4.81': { name: 'JPEG-LS Near-Lossless', codec: null },
  '1.2.840.10008.1.2.4.90': { name: 'JPEG 2000 Image Compression (Lossless Only)', codec: null },
  '1.2.840.10008.1.2.4.91': { name: 'JPEG 2000 Image Compression', codec: null },
  '1.2.840.10008.1.2.4.92': { name: 'JPEG 2000 Part 2 Multi-component (Lossless Only)', codec: null },
  '1.2.840.10008.1.2.4.93': { name: 'JPEG 2000 Part 2 Multi-component', codec: null },
  '1.2.840.10008.1.2.4.94': { name: 'JPIP Referenced', codec: null },
  '1.2.840.10008.1.2.4.95': { name: 'JPIP Referenced Deflate', codec: null },
  '1.2.840.10008.1.2.4.100': { name: 'MPEG2 Main Profile / Main Level', codec: null },
  '1.2.840.10008.1.2.4.100.1': { name: 'Fragmentable MPEG2 Main Profile / Main Level', codec: null },
  '1.2.840.10008.1.2.4.101': { name: 'MPEG2 Main Profile / High Level', codec: null },
  '1.2.840.10008.1.2.4.101.1': { name: 'Fragmentable MPEG2 Main Profile / High Level', codec: null },
  '1.2.840.10008.1.2.4.102': { name: 'MPEG-4 AVC/H.264 High Profile / Level 4.1', codec: null },
  '1.2.840.10008.1.2.4.103': { name: 'MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1', codec: null },
  '1.2.840.10008.1.2.4.104': { name: 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video', codec: null },
  '1.2.840.10008.1.2.4.105': { name: 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video', codec: null },
  '1.2.840.10008.1.2.4.106': { name: 'MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2', codec: null },
  '1.2.840.10008.1.2.4.107': { name: 'HEVC/H.265 Main Profile / Level 5.1', codec: null },
  '1.2.840.10008.1.2.4.108': { name: 'HEVC/H.265 Main 10 Profile / Level 5.1', codec: null },
  '1.2.840.10008.1.2.4.110': { name: 'JPEG XL Lossless', codec: null },
  '1.2.840.10008.1.2.4.111': { name: 'JPEG XL JPEG Recompression', codec: null },
  '1.2.840.10008.1.2.4.112': { name: 'JPEG XL', codec: null },
  '1.2.840.10008.1.2.4.201': { name: 'High-Throughput JPEG 2000 Image Compression (Lossless Only)', codec: null },
  '1.2.840.10008.1.2.4.202': { name: 'High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)', codec: null },
  '1.2.840.10008.1.2.4.203': { name: 'High-Throughput JPEG 2000 Image Compression', codec: null },
  '1.2.840.10008.1.2.5': { name: 'RLE Lossless', codec: 'rle' },
  '1.2.840.10008.1.2.6.1': { name: 'RFC 2557 MIME encapsulation', codec: null },
  '1.2.840.10008.1.2.6.2': { name: 'XML Encoding', codec: null },
};

function syntaxInfo(uid: string): SyntaxInfo {
  const known = TRANSFER_SYNTAXES[uid];
  if (known) return known;
  // 4.52–4.66 are the retired JPEG processes (hierarchical, arithmetic, 12-bit variants…).
  if (/^1\.2\.840\.10008\.1\.2\.4\.(5[2-9]|6[0-6])$/.test(uid)) return { name: 'retired JPEG process', codec: null };
  return { name: 'unknown transfer syntax', codec: null };
}

const SUPPORTED_SYNTAXES = 'uncompressed (implicit/explicit little endian, explicit big endian, deflated), RLE Lossless, JPEG Baseline/Extended 8-bit and JPEG Lossless';

const VRS = new Set([
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW',
  'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV',
]);

type Layout = 'part10' | 'meta-without-preamble' | 'raw-explicit' | 'raw-implicit';

/**
 * Part 10 files carry "DICM" after a 128-byte preamble; older or hand-made
 * files drop the preamble, or even the whole meta header and start straight
 * with (0008,xxxx). Recognise those by their first element.
 */
function dicomLayout(bytes: Uint8Array): Layout | null {
  if (bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d) {
    return 'part10';
  }
  if (bytes.length < 8 || bytes[1] !== 0) return null;
  const group = bytes[0];
  const vr = String.fromCharCode(bytes[4]!, bytes[5]!);
  if (group === 0x02 && VRS.has(vr)) return 'meta-without-preamble';
  if (group === 0x08) {
    if (VRS.has(vr)) return 'raw-explicit';
    const len = bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24);
    if (len >= 0 && len <= bytes.length - 8) return 'raw-implicit';
  }
  return null;
}

export function isDicom(bytes: Uint8Array): boolean {
  return dicomLayout(bytes) !== null;
}

const DEFLATED = '1.2.840.10008.1.2.1.99';

function parseFailure(e: unknown): never {
  // dicom-parser throws {exception, dataSet} when it runs off the end; if it
  // got as far as the pixel data, the file was simply cut short.
  const partial = (e as { dataSet?: DataSet } | null)?.dataSet;
  if (partial?.elements?.x7fe00010) {
    fail('corrupt or truncated DICOM: pixel data runs past the end of the file (file cut short?)', e);
  }
  fail(`corrupt or truncated DICOM: ${describeError(e)}`, e);
}

function parseDataSet(bytes: Uint8Array, transferSyntax?: string): DataSet {
  try {
    return dicomParser.parseDicom(bytes, transferSyntax ? { TransferSyntaxUID: transferSyntax } : undefined);
  } catch (e) {
    parseFailure(e);
  }
}

/** Parses the file; returns the data set and its transfer syntax UID. */
function parse(bytes: Uint8Array): { ds: DataSet; uid: string } {
  const layout = dicomLayout(bytes);
  if (layout === 'raw-explicit') return { ds: parseDataSet(bytes, LEE), uid: LEE };
  if (layout === 'raw-implicit') return { ds: parseDataSet(bytes, LEI), uid: LEI };
  let input = bytes;
  if (layout === 'meta-without-preamble') {
    input = new Uint8Array(132 + bytes.length);
    input.set([0x44, 0x49, 0x43, 0x4d], 128);
    input.set(bytes, 132);
  }
  let meta: DataSet & { position?: number };
  try {
    meta = dicomParser.readPart10Header(input);
  } catch (e) {
    parseFailure(e);
  }
  const uid = (meta.string('x00020010') ?? '').replace(/\0/g, '').trim();
  if (!uid) fail('corrupt DICOM: the file meta header has no Transfer Syntax UID (0002,0010)');
  if (uid !== DEFLATED) return { ds: parseDataSet(input), uid };
  // dicom-parser's own Deflate path needs Node's zlib or a global pako, and
  // restarts parsing at byte 0 of the result; inflate here and parse the data
  // set on its own instead.
  const position = meta.position ?? 0;
  const inflated = guard('corrupt or truncated DICOM: deflated data set', () => inflateSync(input.subarray(position)));
  return { ds: parseDataSet(inflated, LEE), uid };
}

/** How a decoded frame's samples are laid out. */
interface Frame {
  /** Unsigned pixel-cell words as stored (sign and bit position not yet applied). */
  raw: Uint8Array | Uint16Array | Uint32Array;
  samplesPerPixel: number;
  planar: boolean;
  /** The samples are R,G,B (after JPEG colour conversion) rather than in the file's photometric space. */
  rgb: boolean;
  /** 8-bit YBR_FULL_422 native layout: Y0 Y1 Cb Cr per pixel pair. */
  ybr422?: boolean;
}

interface Attributes {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometric: string;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  planar: boolean;
  frames: number;
}

const MONO = new Set(['MONOCHROME1', 'MONOCHROME2']);
const PHOTOMETRIC_HELP: Record<string, string> = {
  'PALETTE COLOR': 'pseudo-colour lookup-table images are not radiographs',
  YBR_PARTIAL_422: 'retired partial-range YCbCr',
  YBR_PARTIAL_420: 'partial-range YCbCr used by MPEG video',
  YBR_ICT: 'JPEG 2000 irreversible colour, only found in JPEG 2000 files',
  YBR_RCT: 'JPEG 2000 reversible colour, only found in JPEG 2000 files',
  ARGB: 'retired',
  CMYK: 'retired',
  HSV: 'retired',
  XYB: 'JPEG XL colour space',
};

function readAttributes(ds: DataSet): Attributes {
  const rows = ds.uint16('x00280010');
  const columns = ds.uint16('x00280011');
  if (rows === undefined || columns === undefined) fail('DICOM image has no Rows/Columns (0028,0010/0011)');
  checkDimensions(columns, rows, MAX_IMAGE_SIDE);
  const samplesPerPixel = ds.uint16('x00280002') ?? 1;
  const photometric = (ds.string('x00280004') ?? (samplesPerPixel === 1 ? 'MONOCHROME2' : 'RGB')).trim().toUpperCase();
  const bitsAllocated = ds.uint16('x00280100');
  if (bitsAllocated === undefined) fail('DICOM image has no Bits Allocated (0028,0100)');
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    fail(`unsupported DICOM Bits Allocated ${bitsAllocated} (8, 16 and 32 are supported)`);
  }
  let bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  if (bitsStored < 1 || bitsStored > bitsAllocated) bitsStored = bitsAllocated;
  let highBit = ds.uint16('x00280102') ?? bitsStored - 1;
  if (highBit >= bitsAllocated || highBit < bitsStored - 1) highBit = bitsStored - 1;
  const frames = Math.max(1, ds.intString('x00280008') ?? 1);

  if (MONO.has(photometric)) {
    if (samplesPerPixel !== 1) fail(`DICOM ${photometric} image with ${samplesPerPixel} samples per pixel`);
  } else if (photometric === 'RGB' || photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422') {
    if (samplesPerPixel !== 3) fail(`DICOM ${photometric} image with ${samplesPerPixel} samples per pixel`);
  } else {
    const help = PHOTOMETRIC_HELP[photometric];
    fail(
      `unsupported photometric interpretation ${photometric}${help ? ` (${help})` : ''}; ` +
        'supported: MONOCHROME1, MONOCHROME2, RGB, YBR_FULL, YBR_FULL_422',
    );
  }
  return {
    rows,
    columns,
    samplesPerPixel,
    photometric,
    bitsAllocated,
    bitsStored,
    highBit,
    signed: (ds.uint16('x00280103') ?? 0) === 1,
    planar: (ds.uint16('x00280006') ?? 0) === 1,
    frames,
  };
}

function readNativeWords(
  bytes: Uint8Array,
  offset: number,
  count: number,
  bitsAllocated: number,
  littleEndian: boolean,
): Uint8Array | Uint16Array | Uint32Array {
  if (bitsAllocated === 8) return bytes.subarray(offset, offset + count);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, (count * bitsAllocated) / 8);
  if (bitsAllocated === 16) {
    const out = new Uint16Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, littleEndian);
    return out;
  }
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getUint32(i * 4, littleEndian);
  return out;
}

function nativeFrame(a: Attributes, bytes: Uint8Array, offset: number, available: number, littleEndian: boolean): Frame {
  const ybr422 = a.photometric === 'YBR_FULL_422' && a.bitsAllocated === 8;
  if (ybr422 && a.columns % 2 !== 0) fail('DICOM YBR_FULL_422 image with an odd number of columns');
  const count = ybr422 ? a.rows * a.columns * 2 : a.rows * a.columns * a.samplesPerPixel;
  const needed = (count * a.bitsAllocated) / 8;
  if (available < needed || offset + needed > bytes.length) {
    fail(
      `DICOM pixel data has ${Math.min(available, bytes.length - offset)} bytes, a ${a.columns}x${a.rows} frame needs ${needed} (file cut short?)`,
    );
  }
  return {
    raw: readNativeWords(bytes, offset, count, a.bitsAllocated, littleEndian),
    samplesPerPixel: a.samplesPerPixel,
    planar: a.planar,
    rgb: false,
    ybr422,
  };
}

function fragmentBytes(ds: DataSet, el: Element, start: number, count: number): Uint8Array {
  return guard('corrupt DICOM pixel data', () =>
    dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, start, count),
  ) as Uint8Array;
}

function endsWithEoi(b: Uint8Array): boolean {
  // Fragments are padded to even length, so EOI may be followed by one 0x00.
  for (let i = b.length - 2; i >= Math.max(0, b.length - 4); i--) {
    if (b[i] === 0xff && b[i + 1] === 0xd9) return true;
  }
  return false;
}

/** Bytes of the first frame of encapsulated pixel data. */
function firstEncapsulatedFrame(ds: DataSet, el: Element, frames: number, jpegFamily: boolean): Uint8Array {
  const fragments = el.fragments ?? [];
  if (fragments.length === 0) fail('DICOM encapsulated pixel data has no fragments');
  if (frames <= 1) return fragmentBytes(ds, el, 0, fragments.length);
  const offsets = el.basicOffsetTable ?? [];
  if (offsets.length === frames) {
    return guard('corrupt DICOM pixel data', () => dicomParser.readEncapsulatedImageFrame(ds, el, 0)) as Uint8Array;
  }
  if (fragments.length === frames || !jpegFamily) return fragmentBytes(ds, el, 0, 1);
  // No offset table and several fragments per frame: a JPEG frame ends at its EOI marker.
  for (let k = 0; k < fragments.length; k++) {
    const f = fragmentBytes(ds, el, k, 1);
    if (endsWithEoi(f)) return fragmentBytes(ds, el, 0, k + 1);
  }
  fail('corrupt DICOM pixel data: cannot find where the first JPEG frame ends');
}

/** PackBits, as DICOM RLE uses it (PS3.5 G.3.1). */
function unpackRleSegment(src: Uint8Array, start: number, end: number, out: Uint8Array, segment: number): void {
  let i = start;
  let o = 0;
  const n = out.length;
  while (o < n && i < end) {
    const h = src[i++]!;
    if (h < 128) {
      const len = h + 1;
      if (i + len > end) break;
      out.set(src.subarray(i, i + Math.min(len, n - o)), o);
      i += len;
      o += len;
    } else if (h > 128) {
      if (i >= end) break;
      const len = 257 - h;
      out.fill(src[i++]!, o, Math.min(o + len, n));
      o += len;
    }
  }
  if (o < n) fail(`corrupt DICOM RLE data: segment ${segment + 1} decodes to ${o} of ${n} bytes`);
}

function rleFrame(a: Attributes, frame: Uint8Array): Frame {
  if (frame.length < 64) fail('corrupt DICOM RLE data: header missing');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  const bytesPerSample = a.bitsAllocated / 8;
  const expected = a.samplesPerPixel * bytesPerSample;
  if (segments !== expected) {
    fail(`corrupt DICOM RLE data: ${segments} segments, ${a.samplesPerPixel} sample(s) of ${a.bitsAllocated} bits need ${expected}`);
  }
  const n = a.rows * a.columns;
  const raw =
    a.bitsAllocated === 8 ? new Uint8Array(n * a.samplesPerPixel) : a.bitsAllocated === 16 ? new Uint16Array(n * a.samplesPerPixel) : new Uint32Array(n * a.samplesPerPixel);
  const seg = new Uint8Array(n);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : frame.length;
    if (start < 64 || start > end || end > frame.length) fail(`corrupt DICOM RLE data: bad offset for segment ${s + 1}`);
    unpackRleSegment(frame, start, end, seg, s);
    // Segments go most significant byte first, one sample plane after another.
    const sample = Math.floor(s / bytesPerSample);
    const shift = 8 * (bytesPerSample - 1 - (s % bytesPerSample));
    const base = sample * n;
    for (let i = 0; i < n; i++) raw[base + i] = raw[base + i]! | (seg[i]! << shift);
  }
  return { raw, samplesPerPixel: a.samplesPerPixel, planar: true, rgb: false };
}

function jpegFrame(a: Attributes, frame: Uint8Array, lossless: boolean): Frame {
  // DICOM says whether 3-component JPEG data is YCbCr through the photometric interpretation.
  const colorTransform = a.samplesPerPixel === 3 ? a.photometric !== 'RGB' : undefined;
  const j = decodeJpegSamples(frame, colorTransform === undefined ? {} : { colorTransform });
  if (lossless !== (j.sof === 0xc3)) {
    fail(`corrupt DICOM pixel data: transfer syntax says ${lossless ? 'lossless' : 'lossy'} JPEG, the stream is not`);
  }
  if (j.width !== a.columns || j.height !== a.rows) {
    fail(`corrupt DICOM pixel data: JPEG is ${j.width}x${j.height}, the header says ${a.columns}x${a.rows}`);
  }
  if (j.components !== a.samplesPerPixel) {
    fail(`corrupt DICOM pixel data: JPEG has ${j.components} components, the header says ${a.samplesPerPixel} samples per pixel`);
  }
  // jpeg-js converts YCbCr to RGB itself; the lossless decoder leaves samples as coded.
  return { raw: j.samples, samplesPerPixel: j.components, planar: false, rgb: !lossless && j.components === 3 };
}

/** Applies Bits Stored / High Bit / Pixel Representation to raw pixel-cell words. */
function storedValues(raw: ArrayLike<number>, start: number, count: number, a: Attributes): Float32Array {
  const out = new Float32Array(count);
  const bits = a.bitsStored;
  const shift = a.highBit + 1 - bits;
  if (bits >= 32) {
    for (let i = 0; i < count; i++) out[i] = a.signed ? raw[start + i]! | 0 : raw[start + i]! >>> 0;
    return out;
  }
  const mask = bits === 31 ? 0x7fffffff : (1 << bits) - 1;
  const signBit = 2 ** (bits - 1);
  const range = 2 ** bits;
  for (let i = 0; i < count; i++) {
    const v = (raw[start + i]! >>> shift) & mask;
    out[i] = a.signed && v >= signBit ? v - range : v;
  }
  return out;
}

interface Window {
  center: number;
  width: number;
  fn: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
  source: 'file' | 'percentile';
}

/**
 * 0.5–99.5 percentiles from a histogram: robust to a few hot pixels and to the
 * collimator edges, and linear in the pixel count (sorting a 3000² film is not).
 */
function percentileWindow(values: Float32Array, exclude: number | undefined): { lo: number; hi: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === exclude) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > min)) return { lo: min, hi: min };
  const bins = 65536;
  const hist = new Uint32Array(bins);
  const scale = (bins - 1) / (max - min);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === exclude) continue;
    hist[Math.floor((v - min) * scale)]!++;
    total++;
  }
  const at = (q: number): number => {
    const target = q * total;
    let cum = 0;
    for (let b = 0; b < bins; b++) {
      cum += hist[b]!;
      if (cum >= target) return min + b / scale;
    }
    return max;
  };
  return { lo: at(0.005), hi: at(0.995) };
}

function fileWindow(ds: DataSet): Window | undefined {
  const center = ds.floatString('x00281050', 0);
  const width = ds.floatString('x00281051', 0);
  if (center === undefined || width === undefined || !Number.isFinite(center) || !Number.isFinite(width)) return undefined;
  const fnName = (ds.string('x00281056') ?? 'LINEAR').trim().toUpperCase();
  const fn = fnName === 'SIGMOID' || fnName === 'LINEAR_EXACT' ? fnName : 'LINEAR';
  // PS3.3 C.11.2.1.2: LINEAR needs width >= 1, the others width > 0.
  if (fn === 'LINEAR' ? width < 1 : width <= 0) return undefined;
  return { center, width, fn, source: 'file' };
}

function applyWindow(values: Float32Array, w: Window): void {
  const { center: c, width } = w;
  if (w.fn === 'SIGMOID') {
    for (let i = 0; i < values.length; i++) values[i] = 1 / (1 + Math.exp((-4 * (values[i]! - c)) / width));
    return;
  }
  let lo: number;
  let span: number;
  if (w.fn === 'LINEAR_EXACT') {
    lo = c - width / 2;
    span = width;
  } else {
    lo = c - 0.5 - (width - 1) / 2;
    span = width - 1;
  }
  if (span <= 0) {
    for (let i = 0; i < values.length; i++) values[i] = values[i]! > lo ? 1 : 0;
    return;
  }
  for (let i = 0; i < values.length; i++) {
    const y = (values[i]! - lo) / span;
    values[i] = y <= 0 ? 0 : y >= 1 ? 1 : y;
  }
}

function monochrome(ds: DataSet, a: Attributes, frame: Frame, meta: Record<string, unknown>): Float32Array {
  const n = a.rows * a.columns;
  const values = storedValues(frame.raw, 0, n, a);
  let padding: number | undefined;
  const paddingEl = ds.elements.x00280120;
  if (paddingEl && paddingEl.length >= 2) padding = a.signed ? ds.int16('x00280120') : ds.uint16('x00280120');

  let slope = ds.floatString('x00281053') ?? 1;
  const intercept = ds.floatString('x00281052') ?? 0;
  if (!Number.isFinite(slope) || slope === 0) slope = 1;
  if (slope !== 1 || intercept !== 0) {
    // Compared against Float32 values below, so round the same way.
    if (padding !== undefined) padding = Math.fround(padding * slope + intercept);
    for (let i = 0; i < n; i++) values[i] = values[i]! * slope + intercept;
  }
  meta.rescale = { slope, intercept: Number.isFinite(intercept) ? intercept : 0 };

  let window = fileWindow(ds);
  if (!window) {
    const { lo, hi } = percentileWindow(values, padding);
    window = { center: (lo + hi) / 2, width: hi - lo, fn: 'LINEAR_EXACT', source: 'percentile' };
  }
  if (window.width > 0) applyWindow(values, window);
  else values.fill(0);
  meta.window = window;

  // MONOCHROME1 stores attenuation as dark; a Presentation LUT Shape INVERSE flips again.
  let invert = a.photometric === 'MONOCHROME1';
  if ((ds.string('x20500020') ?? '').trim().toUpperCase() === 'INVERSE') invert = !invert;
  if (invert) for (let i = 0; i < n; i++) values[i] = 1 - values[i]!;
  meta.inverted = invert;
  return values;
}

function color(a: Attributes, frame: Frame): Float32Array {
  const n = a.rows * a.columns;
  const out = new Float32Array(n);
  const scale = 1 / (2 ** a.bitsStored - 1);
  const shift = a.highBit + 1 - a.bitsStored;
  const mask = a.bitsStored >= 32 ? 0xffffffff : 2 ** a.bitsStored - 1;
  const raw = frame.raw;
  const get = (i: number): number => ((raw[i]! >>> shift) & mask) >>> 0;
  if (frame.ybr422) {
    // Two pixels share one Cb/Cr pair; Y is the luma we want.
    for (let p = 0, j = 0; p < n; p += 2, j += 4) {
      out[p] = get(j) * scale;
      out[p + 1] = get(j + 1) * scale;
    }
    return out;
  }
  const lumaOnly = !frame.rgb && a.photometric.startsWith('YBR');
  const stride = frame.planar ? 1 : 3;
  const plane = frame.planar ? n : 1;
  for (let i = 0; i < n; i++) {
    const base = i * stride;
    out[i] = lumaOnly
      ? get(base) * scale
      : luminance(get(base), get(base + plane), get(base + 2 * plane)) * scale;
  }
  return out;
}

function optionalNumbers(ds: DataSet, tag: string): number[] | undefined {
  const count = ds.numStringValues(tag);
  if (!count) return undefined;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const v = ds.floatString(tag, i);
    if (v === undefined || !Number.isFinite(v)) return undefined;
    out.push(v);
  }
  return out;
}

export function decodeDicomGray(bytes: Uint8Array): Omit<GrayImage, 'source'> {
  const { ds, uid } = parse(bytes);
  const syntax = syntaxInfo(uid);
  if (!syntax.codec) {
    fail(`unsupported transfer syntax ${uid} (${syntax.name}); supported: ${SUPPORTED_SYNTAXES}`);
  }
  const pixel = ds.elements.x7fe00010;
  if (!pixel) {
    if (ds.elements.x7fe00008 || ds.elements.x7fe00009) {
      fail('DICOM file has floating-point pixel data (7FE0,0008/0009), which is not supported');
    }
    const modality = ds.string('x00080060');
    fail(`DICOM file has no pixel data (7FE0,0010)${modality ? `; modality ${modality}` : ''} — not an image`);
  }
  const a = readAttributes(ds);

  const encapsulated = pixel.encapsulatedPixelData === true;
  const wantsEncapsulated = syntax.codec !== 'native' && syntax.codec !== 'deflate';
  if (encapsulated !== wantsEncapsulated) {
    fail(
      `corrupt DICOM: transfer syntax ${uid} (${syntax.name}) needs ${wantsEncapsulated ? 'encapsulated' : 'native'} pixel data, the file has ${encapsulated ? 'encapsulated' : 'native'}`,
    );
  }
  if ((syntax.codec === 'jpeg' || syntax.codec === 'jpeg-lossless') && a.bitsAllocated === 32) {
    fail('corrupt DICOM: JPEG pixel data with 32 bits allocated');
  }

  let frame: Frame;
  switch (syntax.codec) {
    case 'native':
    case 'deflate':
      frame = nativeFrame(a, ds.byteArray as Uint8Array, pixel.dataOffset, pixel.length, !syntax.bigEndian);
      break;
    case 'encapsulated-native': {
      const data = firstEncapsulatedFrame(ds, pixel, a.frames, false);
      frame = nativeFrame(a, data, 0, data.length, true);
      break;
    }
    case 'rle':
      frame = rleFrame(a, firstEncapsulatedFrame(ds, pixel, a.frames, false));
      break;
    case 'jpeg':
    case 'jpeg-lossless':
      frame = jpegFrame(a, firstEncapsulatedFrame(ds, pixel, a.frames, true), syntax.codec === 'jpeg-lossless');
      break;
  }

  const meta: Record<string, unknown> = {
    format: 'dicom',
    transferSyntax: uid,
    transferSyntaxName: syntax.name,
    photometric: a.photometric,
    bitsAllocated: a.bitsAllocated,
    bitsStored: a.bitsStored,
    pixelRepresentation: a.signed ? 1 : 0,
    numberOfFrames: a.frames,
  };
  const modality = ds.string('x00080060');
  if (modality) meta.modality = modality;
  const view = ds.string('x00185101');
  if (view) meta.viewPosition = view;
  // Physical size matters for alignment: row spacing \ column spacing, in mm.
  const spacing = optionalNumbers(ds, 'x00280030') ?? optionalNumbers(ds, 'x00181164');
  if (spacing && spacing.length === 2) meta.pixelSpacingMm = spacing;

  const data = frame.samplesPerPixel === 1 ? monochrome(ds, a, frame, meta) : color(a, frame);
  if (frame.samplesPerPixel !== 1) meta.convertedFromColor = true;
  return { width: a.columns, height: a.rows, data, meta };
}
