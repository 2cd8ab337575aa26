/**
 * Byte-level builders for the decoder tests: DICOM files in every layout the
 * decoder claims to read, plus the two encoders no npm package offers in pure
 * JS (JPEG lossless, DICOM RLE). Writing them from the standards keeps the
 * tests independent of the decoders they check. Test-only; not exported from
 * the io index.
 */
import { deflateSync } from 'fflate';

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  encapsulatedLE: '1.2.840.10008.1.2.1.98',
  deflatedLE: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegLossless: '1.2.840.10008.1.2.4.57',
  jpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  jpegLS: '1.2.840.10008.1.2.4.80',
  jpeg2000: '1.2.840.10008.1.2.4.90',
  mpeg2: '1.2.840.10008.1.2.4.100',
  rle: '1.2.840.10008.1.2.5',
} as const;

export type Value = string | number | number[] | Uint8Array | Uint16Array;

export interface DicomElement {
  /** 0xGGGGEEEE */
  tag: number;
  vr: string;
  value: Value;
}

export interface BuildDicomOptions {
  transferSyntax: string;
  /** 128-byte preamble + "DICM" (default true). */
  preamble?: boolean;
  /** File meta group 0002 (default true). Without it the file is a bare data set. */
  meta?: boolean;
  elements: DicomElement[];
  /** Native pixel data (OW for 16-bit arrays, OB for bytes). */
  pixelData?: Uint8Array | Uint16Array;
  /** Encapsulated pixel data, one entry per fragment. */
  fragments?: Uint8Array[];
  basicOffsetTable?: number[];
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);

class Writer {
  private chunks: number[] = [];
  constructor(private readonly littleEndian: boolean) {}
  u8(v: number): void {
    this.chunks.push(v & 0xff);
  }
  u16(v: number): void {
    if (this.littleEndian) this.chunks.push(v & 0xff, (v >> 8) & 0xff);
    else this.chunks.push((v >> 8) & 0xff, v & 0xff);
  }
  u32(v: number): void {
    const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
    this.chunks.push(...(this.littleEndian ? b : b.reverse()));
  }
  bytes(b: ArrayLike<number>): void {
    for (let i = 0; i < b.length; i++) this.chunks.push(b[i]! & 0xff);
  }
  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.chunks.push(s.charCodeAt(i));
  }
  get length(): number {
    return this.chunks.length;
  }
  toBytes(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

function valueBytes(vr: string, value: Value, littleEndian: boolean): Uint8Array {
  const w = new Writer(littleEndian);
  if (typeof value === 'string') {
    w.ascii(value);
    if (value.length % 2) w.u8(vr === 'UI' || vr === 'OB' ? 0 : 0x20);
    return w.toBytes();
  }
  if (value instanceof Uint8Array) {
    w.bytes(value);
    if (value.length % 2) w.u8(0);
    return w.toBytes();
  }
  const values = value instanceof Uint16Array ? Array.from(value) : Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (vr === 'US' || vr === 'OW') w.u16(v);
    else if (vr === 'SS') w.u16(v & 0xffff);
    else if (vr === 'UL') w.u32(v);
    else if (vr === 'SL') w.u32(v >>> 0);
    else throw new Error(`test builder: no numeric encoding for VR ${vr}`);
  }
  return w.toBytes();
}

function writeElement(w: Writer, el: DicomElement, explicit: boolean, littleEndian: boolean): void {
  const data = valueBytes(el.vr, el.value, littleEndian);
  w.u16(el.tag >>> 16);
  w.u16(el.tag & 0xffff);
  if (explicit) {
    w.ascii(el.vr);
    if (LONG_VRS.has(el.vr)) {
      w.u16(0);
      w.u32(data.length);
    } else {
      w.u16(data.length);
    }
  } else {
    w.u32(data.length);
  }
  w.bytes(data);
}

export function buildDicom(opts: BuildDicomOptions): Uint8Array {
  const ts = opts.transferSyntax;
  const explicit = ts !== TS.implicitLE;
  const littleEndian = ts !== TS.explicitBE;

  const body = new Writer(littleEndian);
  const elements = [...opts.elements].sort((a, b) => a.tag - b.tag);
  for (const el of elements) writeElement(body, el, explicit, littleEndian);
  if (opts.pixelData) {
    const vr = opts.pixelData instanceof Uint16Array ? 'OW' : 'OB';
    writeElement(body, { tag: 0x7fe00010, vr, value: opts.pixelData }, explicit, littleEndian);
  } else if (opts.fragments) {
    // Encapsulated pixel data is always little endian, with undefined length.
    const le = new Writer(true);
    le.u16(0x7fe0);
    le.u16(0x0010);
    le.ascii('OB');
    le.u16(0);
    le.u32(0xffffffff);
    const bot = opts.basicOffsetTable ?? [];
    le.u16(0xfffe);
    le.u16(0xe000);
    le.u32(bot.length * 4);
    for (const o of bot) le.u32(o);
    for (const f of opts.fragments) {
      const padded = f.length % 2 ? Uint8Array.from([...f, 0]) : f;
      le.u16(0xfffe);
      le.u16(0xe000);
      le.u32(padded.length);
      le.bytes(padded);
    }
    le.u16(0xfffe);
    le.u16(0xe0dd);
    le.u32(0);
    body.bytes(le.toBytes());
  }
  let dataset = body.toBytes();
  if (ts === TS.deflatedLE) dataset = deflateSync(dataset);

  const out = new Writer(true);
  if (opts.preamble ?? true) {
    out.bytes(new Uint8Array(128));
    out.ascii('DICM');
  }
  if (opts.meta ?? true) {
    const meta = new Writer(true);
    const metaElements: DicomElement[] = [
      { tag: 0x00020001, vr: 'OB', value: Uint8Array.from([0, 1]) },
      { tag: 0x00020002, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.1.1' },
      { tag: 0x00020003, vr: 'UI', value: '1.2.3.4.5.6.7.8.9' },
      { tag: 0x00020010, vr: 'UI', value: ts },
    ];
    for (const el of metaElements) writeElement(meta, el, true, true);
    const metaBytes = meta.toBytes();
    writeElement(out, { tag: 0x00020000, vr: 'UL', value: metaBytes.length }, true, true);
    out.bytes(metaBytes);
  }
  out.bytes(dataset);
  return out.toBytes();
}

/** The attributes of an image pixel module, in the builder's element form. */
export function imageElements(a: {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored?: number;
  highBit?: number;
  pixelRepresentation?: number;
  photometric?: string;
  samplesPerPixel?: number;
  planarConfiguration?: number;
  frames?: number;
  extra?: DicomElement[];
}): DicomElement[] {
  const bitsStored = a.bitsStored ?? a.bitsAllocated;
  const spp = a.samplesPerPixel ?? 1;
  const els: DicomElement[] = [
    { tag: 0x00080060, vr: 'CS', value: 'DX' },
    { tag: 0x00280002, vr: 'US', value: spp },
    { tag: 0x00280004, vr: 'CS', value: a.photometric ?? 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: a.rows },
    { tag: 0x00280011, vr: 'US', value: a.columns },
    { tag: 0x00280100, vr: 'US', value: a.bitsAllocated },
    { tag: 0x00280101, vr: 'US', value: bitsStored },
    { tag: 0x00280102, vr: 'US', value: a.highBit ?? bitsStored - 1 },
    { tag: 0x00280103, vr: 'US', value: a.pixelRepresentation ?? 0 },
  ];
  if (spp > 1) els.push({ tag: 0x00280006, vr: 'US', value: a.planarConfiguration ?? 0 });
  if (a.frames !== undefined) els.push({ tag: 0x00280008, vr: 'IS', value: String(a.frames) });
  return [...els, ...(a.extra ?? [])];
}

/** PackBits encoder for DICOM RLE (PS3.5 Annex G): replicate runs of 3+, literals otherwise. */
function packBits(src: Uint8Array): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < src.length) {
    let run = 1;
    while (i + run < src.length && run < 128 && src[i + run] === src[i]) run++;
    if (run >= 3) {
      out.push(257 - run, src[i]!);
      i += run;
      continue;
    }
    const start = i;
    while (i < src.length && i - start < 128) {
      if (i + 2 < src.length && src[i] === src[i + 1] && src[i] === src[i + 2]) break;
      i++;
    }
    out.push(i - start - 1, ...src.subarray(start, i));
  }
  return out;
}

/**
 * One RLE frame. `planes` holds one array per sample (e.g. R, G, B) of
 * `bytesPerSample`-byte values; segments go most significant byte first.
 */
export function encodeRle(planes: Array<Uint8Array | Uint16Array>, bytesPerSample: 1 | 2): Uint8Array {
  const segments: number[][] = [];
  for (const plane of planes) {
    for (let b = bytesPerSample - 1; b >= 0; b--) {
      const bytes = Uint8Array.from(plane, (v) => (v >> (8 * b)) & 0xff);
      const seg = packBits(bytes);
      if (seg.length % 2) seg.push(0x80); // no-op byte keeps segments even
      segments.push(seg);
    }
  }
  const w = new Writer(true);
  w.u32(segments.length);
  let offset = 64;
  for (let s = 0; s < 15; s++) {
    w.u32(s < segments.length ? offset : 0);
    if (s < segments.length) offset += segments[s]!.length;
  }
  for (const seg of segments) w.bytes(seg);
  return w.toBytes();
}

/**
 * Minimal JPEG lossless (process 14, one component, predictor `selection`)
 * encoder with a flat 5-bit Huffman table for the 17 difference categories.
 */
export function encodeJpegLossless(
  samples: Uint8Array | Uint16Array,
  width: number,
  height: number,
  precision: number,
  selection: 1 | 2 | 3 | 4 | 5 | 6 | 7 = 1,
): Uint8Array {
  const out: number[] = [0xff, 0xd8];
  const seg = (marker: number, payload: number[]): void => {
    out.push(0xff, marker, ((payload.length + 2) >> 8) & 0xff, (payload.length + 2) & 0xff, ...payload);
  };
  seg(0xc3, [precision, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]);
  const counts = new Array<number>(16).fill(0);
  counts[4] = 17; // 17 codes of length 5: category c has code c
  seg(0xc4, [0x00, ...counts, ...Array.from({ length: 17 }, (_, i) => i)]);
  seg(0xda, [1, 1, 0x00, selection, 0, 0]);

  let acc = 0;
  let nbits = 0;
  const put = (value: number, bits: number): void => {
    for (let b = bits - 1; b >= 0; b--) {
      acc = (acc << 1) | ((value >> b) & 1);
      nbits++;
      if (nbits === 8) {
        out.push(acc);
        if (acc === 0xff) out.push(0);
        acc = 0;
        nbits = 0;
      }
    }
  };
  const at = (x: number, y: number): number => samples[y * width + x]!;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let pred: number;
      if (x === 0 && y === 0) pred = 1 << (precision - 1);
      else if (y === 0) pred = at(x - 1, 0);
      else if (x === 0) pred = at(0, y - 1);
      else {
        const ra = at(x - 1, y);
        const rb = at(x, y - 1);
        const rc = at(x - 1, y - 1);
        pred = [0, ra, rb, rc, ra + rb - rc, ra + ((rb - rc) >> 1), rb + ((ra - rc) >> 1), (ra + rb) >> 1][selection]!;
      }
      let d = (at(x, y) - pred) & 0xffff;
      if (d >= 0x8000) d -= 0x10000;
      const mag = Math.abs(d);
      const cat = d === -0x8000 ? 16 : mag === 0 ? 0 : 32 - Math.clz32(mag);
      put(cat, 5);
      if (cat > 0 && cat < 16) put(d > 0 ? d : d + (1 << cat) - 1, cat);
    }
  }
  if (nbits > 0) put(0xff, 8 - nbits);
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Rewrites a PNG's IHDR width/height (with a valid CRC) to test the size checks. */
export function patchPngSize(png: Uint8Array, width: number, height: number): Uint8Array {
  const out = png.slice();
  const view = new DataView(out.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  view.setUint32(29, crc32(out.subarray(12, 29)));
  return out;
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}
