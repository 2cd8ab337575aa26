import { describe, expect, it } from 'vitest';
import * as jpegJsNs from 'jpeg-js';
import { ImageDecodeError, decodeImage, sniffImageFormat } from './decode-image.ts';
import {
  TS,
  buildDicom,
  encodeJpegLossless,
  encodeRle,
  imageElements,
  type BuildDicomOptions,
  type DicomElement,
} from './test-fixtures.ts';

const jpegJs: typeof jpegJsNs = (jpegJsNs as unknown as { default?: typeof jpegJsNs }).default ?? jpegJsNs;

const ROWS = 6;
const COLS = 8;
const N = ROWS * COLS;
/** 12-bit ramp covering 0..4095. */
const RAMP12 = Uint16Array.from({ length: N }, (_, i) => Math.round((i / (N - 1)) * 4095));

const window = (center: number, width: number): DicomElement[] => [
  { tag: 0x00281050, vr: 'DS', value: String(center) },
  { tag: 0x00281051, vr: 'DS', value: String(width) },
];

/** PS3.3 C.11.2.1.2.1, the LINEAR VOI function, for expected values. */
function linearVoi(x: number, c: number, w: number): number {
  if (x <= c - 0.5 - (w - 1) / 2) return 0;
  if (x > c - 0.5 + (w - 1) / 2) return 1;
  return (x - (c - 0.5)) / (w - 1) + 0.5;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, digits = 5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i]! - expected[i]!) > 10 ** -digits) {
      throw new Error(`value ${i}: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

function mono16(
  opts: Partial<BuildDicomOptions> & { pixels?: Uint16Array; image?: Partial<Parameters<typeof imageElements>[0]> } = {},
): Uint8Array {
  const { pixels = RAMP12, image = {}, ...rest } = opts;
  return buildDicom({
    transferSyntax: TS.explicitLE,
    elements: imageElements({ rows: ROWS, columns: COLS, bitsAllocated: 16, bitsStored: 12, extra: window(2048, 4096), ...image }),
    pixelData: pixels,
    ...rest,
  });
}

function reason(bytes: Uint8Array, name = 'x.dcm'): string {
  try {
    decodeImage(bytes, name);
  } catch (e) {
    expect(e).toBeInstanceOf(ImageDecodeError);
    return (e as ImageDecodeError).reason;
  }
  throw new Error('decoded although it should not');
}

const EXPECTED_RAMP = Array.from(RAMP12, (v) => linearVoi(v, 2048, 4096));

describe('DICOM: uncompressed layouts', () => {
  it('explicit VR little endian with preamble: rescale + VOI window', () => {
    const img = decodeImage(mono16(), 'a.dcm');
    expect(img.width).toBe(COLS);
    expect(img.height).toBe(ROWS);
    expect(img.meta).toMatchObject({
      format: 'dicom',
      transferSyntax: TS.explicitLE,
      photometric: 'MONOCHROME2',
      bitsStored: 12,
      window: { center: 2048, width: 4096, source: 'file' },
      inverted: false,
      modality: 'DX',
    });
    expectClose(img.data, EXPECTED_RAMP);
  });

  it('gives the same image for every uncompressed encoding and file layout', () => {
    const variants: Array<[string, Uint8Array]> = [
      ['implicit LE', mono16({ transferSyntax: TS.implicitLE })],
      ['explicit BE', mono16({ transferSyntax: TS.explicitBE })],
      ['deflated', mono16({ transferSyntax: TS.deflatedLE })],
      ['meta, no preamble', mono16({ preamble: false })],
      ['bare implicit data set', mono16({ transferSyntax: TS.implicitLE, preamble: false, meta: false })],
      ['bare explicit data set', mono16({ transferSyntax: TS.explicitLE, preamble: false, meta: false })],
      [
        'encapsulated uncompressed',
        buildDicom({
          transferSyntax: TS.encapsulatedLE,
          elements: imageElements({ rows: ROWS, columns: COLS, bitsAllocated: 16, bitsStored: 12, extra: window(2048, 4096) }),
          fragments: [new Uint8Array(RAMP12.buffer.slice(0))],
        }),
      ],
    ];
    for (const [label, bytes] of variants) {
      expect(sniffImageFormat(bytes), label).toBe('dicom');
      const img = decodeImage(bytes, `${label}.dcm`);
      expect([img.width, img.height], label).toEqual([COLS, ROWS]);
      expectClose(img.data, EXPECTED_RAMP);
    }
  });

  it('masks bits above Bits Stored and honours High Bit', () => {
    const dirty = RAMP12.map((v) => v | 0xa000);
    expectClose(decodeImage(mono16({ pixels: dirty }), 'dirty.dcm').data, EXPECTED_RAMP);
    // 12 stored bits in the top of the 16-bit cell (High Bit 15), junk below.
    const high = RAMP12.map((v) => (v << 4) | 0x5);
    expectClose(decodeImage(mono16({ pixels: high, image: { highBit: 15 } }), 'high.dcm').data, EXPECTED_RAMP);
  });

  it('signed pixels, Rescale Slope/Intercept, windows in modality units', () => {
    const stored = [-2048, -1000, -1, 0, 1, 500, 2047];
    const cells = Uint16Array.from(stored, (v) => (v & 0x0fff) | 0xf000); // 12-bit two's complement, junk above
    const pixels = new Uint16Array(N);
    pixels.set(cells);
    const bytes = buildDicom({
      transferSyntax: TS.explicitLE,
      elements: imageElements({
        rows: ROWS,
        columns: COLS,
        bitsAllocated: 16,
        bitsStored: 12,
        pixelRepresentation: 1,
        extra: [
          { tag: 0x00281052, vr: 'DS', value: '-100' },
          { tag: 0x00281053, vr: 'DS', value: '2' },
          // Multi-valued: the first window applies.
          { tag: 0x00281050, vr: 'DS', value: '0\\40' },
          { tag: 0x00281051, vr: 'DS', value: '3000\\400' },
        ],
      }),
      pixelData: pixels,
    });
    const img = decodeImage(bytes, 'signed.dcm');
    expect(img.meta).toMatchObject({ pixelRepresentation: 1, rescale: { slope: 2, intercept: -100 }, window: { center: 0, width: 3000 } });
    const expected = stored.map((v) => linearVoi(2 * v - 100, 0, 3000));
    expectClose(img.data.subarray(0, stored.length), expected);
    expect(expected[0]).toBe(0);
    expect(expected[6]).toBe(1);
  });

  it('VOI LUT functions LINEAR_EXACT and SIGMOID', () => {
    const exact = decodeImage(
      mono16({ image: { extra: [...window(1000, 2000), { tag: 0x00281056, vr: 'CS', value: 'LINEAR_EXACT' }] } }),
      'e.dcm',
    );
    expectClose(exact.data, Array.from(RAMP12, (v) => Math.min(1, Math.max(0, (v - 1000) / 2000 + 0.5))));
    const sig = decodeImage(
      mono16({ image: { extra: [...window(2000, 1000), { tag: 0x00281056, vr: 'CS', value: 'SIGMOID' }] } }),
      's.dcm',
    );
    expectClose(sig.data, Array.from(RAMP12, (v) => 1 / (1 + Math.exp((-4 * (v - 2000)) / 1000))));
  });

  it('without a window, stretches the 0.5–99.5 percentiles so outliers do not flatten the film', () => {
    const n = 100 * 100;
    const pixels = Uint16Array.from({ length: n }, (_, i) => 1000 + (i % 1000));
    pixels[0] = 65000; // one hot pixel
    pixels[1] = 0; // one dead pixel
    const bytes = buildDicom({
      transferSyntax: TS.explicitLE,
      elements: imageElements({ rows: 100, columns: 100, bitsAllocated: 16 }),
      pixelData: pixels,
    });
    const img = decodeImage(bytes, 'auto.dcm');
    const win = img.meta!.window as { source: string; center: number; width: number };
    expect(win.source).toBe('percentile');
    expect(win.center - win.width / 2).toBeGreaterThanOrEqual(1000);
    expect(win.center - win.width / 2).toBeLessThan(1010);
    expect(win.center + win.width / 2).toBeGreaterThan(1990);
    expect(win.center + win.width / 2).toBeLessThanOrEqual(1999.1);
    expect(img.data[0]).toBe(1);
    expect(img.data[1]).toBe(0);
    expect(img.data[500]).toBeCloseTo(0.5, 1); // value 1498: mid-grey, not squashed by the 65000
  });

  it('inverts MONOCHROME1 so that high attenuation stays white', () => {
    const m1 = decodeImage(mono16({ image: { photometric: 'MONOCHROME1' } }), 'm1.dcm');
    expect(m1.meta).toMatchObject({ photometric: 'MONOCHROME1', inverted: true });
    expectClose(m1.data, EXPECTED_RAMP.map((v) => 1 - v));
    // Presentation LUT Shape INVERSE flips a MONOCHROME2 image the same way.
    const inv = decodeImage(mono16({ image: { extra: [...window(2048, 4096), { tag: 0x20500020, vr: 'CS', value: 'INVERSE' }] } }), 'i.dcm');
    expectClose(inv.data, EXPECTED_RAMP.map((v) => 1 - v));
  });

  it('multi-frame: takes the first frame', () => {
    const two = new Uint16Array(2 * N);
    two.set(RAMP12);
    two.fill(4095, N);
    const img = decodeImage(mono16({ pixels: two, image: { frames: 2 } }), 'mf.dcm');
    expect(img.meta).toMatchObject({ numberOfFrames: 2 });
    expectClose(img.data, EXPECTED_RAMP);
  });

  it('8-bit and 32-bit cells', () => {
    const p8 = Uint8Array.from({ length: N }, (_, i) => i * 5);
    const img8 = decodeImage(
      buildDicom({
        transferSyntax: TS.implicitLE,
        elements: imageElements({ rows: ROWS, columns: COLS, bitsAllocated: 8, extra: window(127.5, 256) }),
        pixelData: p8,
      }),
      '8.dcm',
    );
    expectClose(img8.data, Array.from(p8, (v) => linearVoi(v, 127.5, 256)));

    const p32 = new Uint8Array(N * 4);
    const dv = new DataView(p32.buffer);
    for (let i = 0; i < N; i++) dv.setUint32(i * 4, RAMP12[i]! * 1000, true);
    const img32 = decodeImage(
      buildDicom({
        transferSyntax: TS.explicitLE,
        elements: imageElements({ rows: ROWS, columns: COLS, bitsAllocated: 32, extra: window(2048000, 4096000) }),
        pixelData: p32,
      }),
      '32.dcm',
    );
    expectClose(img32.data, Array.from(RAMP12, (v) => linearVoi(v * 1000, 2048000, 4096000)), 4);
  });

  it('RGB (interleaved and planar) and YBR_FULL_422 become luminance', () => {
    const r = [255, 0, 0, 10];
    const g = [0, 255, 0, 20];
    const b = [0, 0, 255, 30];
    const expected = r.map((_, i) => (0.299 * r[i]! + 0.587 * g[i]! + 0.114 * b[i]!) / 255);
    const rgbEls = (planar: number): DicomElement[] =>
      imageElements({ rows: 2, columns: 2, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'RGB', planarConfiguration: planar });
    const interleaved = Uint8Array.from(r.flatMap((_, i) => [r[i]!, g[i]!, b[i]!]));
    const planar = Uint8Array.from([...r, ...g, ...b]);
    const a = decodeImage(buildDicom({ transferSyntax: TS.explicitLE, elements: rgbEls(0), pixelData: interleaved }), 'rgb.dcm');
    expect(a.meta).toMatchObject({ convertedFromColor: true, photometric: 'RGB' });
    expectClose(a.data, expected);
    expectClose(decodeImage(buildDicom({ transferSyntax: TS.explicitLE, elements: rgbEls(1), pixelData: planar }), 'p.dcm').data, expected);

    // Y0 Y1 Cb Cr per pixel pair: the luma is Y.
    const ybr = Uint8Array.from([10, 20, 128, 128, 30, 250, 100, 140]);
    const y = decodeImage(
      buildDicom({
        transferSyntax: TS.explicitLE,
        elements: imageElements({ rows: 2, columns: 2, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'YBR_FULL_422' }),
        pixelData: ybr,
      }),
      'ybr.dcm',
    );
    expectClose(y.data, [10, 20, 30, 250].map((v) => v / 255));
  });
});

describe('DICOM: compressed transfer syntaxes', () => {
  it('RLE Lossless, 16-bit gray, multi-frame', () => {
    const other = new Uint16Array(N).fill(7);
    const bytes = buildDicom({
      transferSyntax: TS.rle,
      elements: imageElements({ rows: ROWS, columns: COLS, bitsAllocated: 16, bitsStored: 12, frames: 2, extra: window(2048, 4096) }),
      fragments: [encodeRle([RAMP12], 2), encodeRle([other], 2)],
    });
    const img = decodeImage(bytes, 'rle.dcm');
    expect(img.meta).toMatchObject({ transferSyntaxName: 'RLE Lossless' });
    expectClose(img.data, EXPECTED_RAMP);
  });

  it('RLE Lossless, 8-bit RGB with runs', () => {
    const n = 40 * 3;
    const r = Uint8Array.from({ length: n }, (_, i) => (i < 60 ? 200 : i));
    const g = new Uint8Array(n).fill(50);
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
    const bytes = buildDicom({
      transferSyntax: TS.rle,
      elements: imageElements({ rows: 3, columns: 40, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'RGB' }),
      fragments: [encodeRle([r, g, b], 1)],
    });
    expectClose(
      decodeImage(bytes, 'rle-rgb.dcm').data,
      Array.from(r, (_, i) => (0.299 * r[i]! + 0.587 * g[i]! + 0.114 * b[i]!) / 255),
    );
  });

  it('JPEG Baseline (jpeg-js), frame split over two fragments', () => {
    const w = 32;
    const h = 16;
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      const v = ((i % w) / (w - 1)) * 255;
      rgba.set([v, v, v, 255], i * 4);
    }
    const jpg = new Uint8Array(jpegJs.encode({ width: w, height: h, data: rgba }, 95).data);
    const cut = 300;
    const bytes = buildDicom({
      transferSyntax: TS.jpegBaseline,
      elements: imageElements({
        rows: h,
        columns: w,
        bitsAllocated: 8,
        samplesPerPixel: 3,
        photometric: 'YBR_FULL_422',
        extra: [],
      }),
      fragments: [jpg.subarray(0, cut), jpg.subarray(cut)],
    });
    const img = decodeImage(bytes, 'jpeg.dcm');
    expect(img.meta).toMatchObject({ transferSyntaxName: 'JPEG Baseline (Process 1)' });
    for (const x of [0, 8, 16, 31]) expect(Math.abs(img.data[8 * w + x]! - x / (w - 1))).toBeLessThan(5 / 255);
  });

  it('JPEG Lossless SV1 (.70), 16-bit, through jpeg-lossless-decoder-js', () => {
    const pixels = Uint16Array.from({ length: N }, (_, i) => (i * 1361) % 65536);
    const bytes = buildDicom({
      transferSyntax: TS.jpegLosslessSV1,
      elements: imageElements({ rows: ROWS, columns: COLS, bitsAllocated: 16, extra: window(32768, 65536) }),
      fragments: [encodeJpegLossless(pixels, COLS, ROWS, 16, 1)],
    });
    expectClose(decodeImage(bytes, 'll70.dcm').data, Array.from(pixels, (v) => linearVoi(v, 32768, 65536)));
  });

  it('multi-frame JPEG: first frame found by offset table, or by its EOI marker', () => {
    const els = imageElements({ rows: ROWS, columns: COLS, bitsAllocated: 16, bitsStored: 12, frames: 2, extra: window(2048, 4096) });
    const f0 = encodeJpegLossless(RAMP12, COLS, ROWS, 12);
    const f1 = encodeJpegLossless(new Uint16Array(N).fill(9), COLS, ROWS, 12);
    const padded0 = f0.length + (f0.length % 2);
    const withTable = buildDicom({ transferSyntax: TS.jpegLosslessSV1, elements: els, fragments: [f0, f1], basicOffsetTable: [0, 8 + padded0] });
    expectClose(decodeImage(withTable, 'bot.dcm').data, EXPECTED_RAMP);
    const cut = 20;
    const split = buildDicom({
      transferSyntax: TS.jpegLosslessSV1,
      elements: els,
      fragments: [f0.subarray(0, cut), f0.subarray(cut), f1],
    });
    expectClose(decodeImage(split, 'split.dcm').data, EXPECTED_RAMP);
  });

  it('JPEG Lossless (.57), predictor 7, signed 12-bit MONOCHROME1', () => {
    const stored = Int16Array.from({ length: N }, (_, i) => -2048 + i * 85);
    const cells = Uint16Array.from(stored, (v) => v & 0x0fff);
    const bytes = buildDicom({
      transferSyntax: TS.jpegLossless,
      elements: imageElements({
        rows: ROWS,
        columns: COLS,
        bitsAllocated: 16,
        bitsStored: 12,
        pixelRepresentation: 1,
        photometric: 'MONOCHROME1',
        extra: window(0, 4096),
      }),
      fragments: [encodeJpegLossless(cells, COLS, ROWS, 12, 7)],
    });
    expectClose(decodeImage(bytes, 'll57.dcm').data, Array.from(stored, (v) => 1 - linearVoi(v, 0, 4096)));
  });
});

describe('DICOM: input buffers', () => {
  it('decodes from a view at an odd offset into a larger buffer (Node pooled Buffers)', () => {
    const inView = (b: Uint8Array): Uint8Array => {
      const big = new Uint8Array(b.length + 8);
      big.set(b, 3);
      return big.subarray(3, 3 + b.length);
    };
    const els = imageElements({ rows: ROWS, columns: COLS, bitsAllocated: 16, bitsStored: 12, extra: window(2048, 4096) });
    const files = [
      mono16(),
      mono16({ transferSyntax: TS.explicitBE }),
      buildDicom({ transferSyntax: TS.rle, elements: els, fragments: [encodeRle([RAMP12], 2)] }),
      buildDicom({ transferSyntax: TS.jpegLosslessSV1, elements: els, fragments: [encodeJpegLossless(RAMP12, COLS, ROWS, 12)] }),
    ];
    for (const f of files) expectClose(decodeImage(inView(f), 'view.dcm').data, EXPECTED_RAMP);
  });
});

describe('DICOM: errors', () => {
  const els = imageElements({ rows: ROWS, columns: COLS, bitsAllocated: 16 });

  it('unsupported transfer syntaxes are named', () => {
    const mpeg = buildDicom({ transferSyntax: TS.mpeg2, elements: els, fragments: [new Uint8Array(16)] });
    expect(reason(mpeg)).toMatch(/^unsupported transfer syntax 1\.2\.840\.10008\.1\.2\.4\.100 \(MPEG2 Main Profile \/ Main Level\); supported: /);
    const j2k = buildDicom({ transferSyntax: TS.jpeg2000, elements: els, fragments: [new Uint8Array(16)] });
    expect(reason(j2k)).toMatch(/^unsupported transfer syntax 1\.2\.840\.10008\.1\.2\.4\.90 \(JPEG 2000 Image Compression \(Lossless Only\)\)/);
    const jls = buildDicom({ transferSyntax: TS.jpegLS, elements: els, fragments: [new Uint8Array(16)] });
    expect(reason(jls)).toMatch(/\(JPEG-LS Lossless\)/);
    const odd = buildDicom({ transferSyntax: '1.2.3.4.5', elements: els, fragments: [new Uint8Array(16)] });
    expect(reason(odd)).toMatch(/^unsupported transfer syntax 1\.2\.3\.4\.5 \(unknown transfer syntax\)/);
  });

  it('no pixel data', () => {
    const sr = buildDicom({ transferSyntax: TS.explicitLE, elements: [{ tag: 0x00080060, vr: 'CS', value: 'SR' }] });
    expect(reason(sr)).toBe('DICOM file has no pixel data (7FE0,0010); modality SR — not an image');
  });

  it('unsupported photometric interpretations explain themselves', () => {
    const pal = buildDicom({
      transferSyntax: TS.explicitLE,
      elements: imageElements({ rows: ROWS, columns: COLS, bitsAllocated: 8, photometric: 'PALETTE COLOR' }),
      pixelData: new Uint8Array(N),
    });
    expect(reason(pal)).toMatch(/^unsupported photometric interpretation PALETTE COLOR \(pseudo-colour .*\); supported: MONOCHROME1/);
    const hsv = buildDicom({
      transferSyntax: TS.explicitLE,
      elements: imageElements({ rows: ROWS, columns: COLS, bitsAllocated: 8, samplesPerPixel: 3, photometric: 'HSV' }),
      pixelData: new Uint8Array(N * 3),
    });
    expect(reason(hsv)).toMatch(/^unsupported photometric interpretation HSV \(retired\)/);
  });

  it('truncated pixel data and absurd sizes', () => {
    const full = mono16();
    expect(reason(full.subarray(0, full.length - 10))).toMatch(/file cut short/);
    const deflated = mono16({ transferSyntax: TS.deflatedLE });
    expect(reason(deflated.subarray(0, deflated.length - 20))).toMatch(/^corrupt or truncated DICOM: deflated data set: /);
    const short = buildDicom({ transferSyntax: TS.explicitLE, elements: els, pixelData: new Uint16Array(N - 3) });
    expect(reason(short)).toBe(`DICOM pixel data has ${(N - 3) * 2} bytes, a ${COLS}x${ROWS} frame needs ${N * 2} (file cut short?)`);
    const zero = buildDicom({ transferSyntax: TS.explicitLE, elements: imageElements({ rows: 0, columns: 8, bitsAllocated: 16 }), pixelData: new Uint16Array(0) });
    expect(reason(zero)).toBe('image dimensions 8x0 out of range (each side must be 1..16384 px)');
    const huge = buildDicom({ transferSyntax: TS.explicitLE, elements: imageElements({ rows: 20000, columns: 20000, bitsAllocated: 16 }), pixelData: new Uint16Array(4) });
    expect(reason(huge)).toBe('image dimensions 20000x20000 out of range (each side must be 1..16384 px)');
  });

  it('corrupt compressed data', () => {
    const rle = buildDicom({
      transferSyntax: TS.rle,
      elements: imageElements({ rows: ROWS, columns: COLS, bitsAllocated: 16 }),
      fragments: [encodeRle([RAMP12], 2).subarray(0, 80)],
    });
    expect(reason(rle)).toMatch(/^corrupt DICOM RLE data: /);
    const jpeg = buildDicom({
      transferSyntax: TS.jpegLosslessSV1,
      elements: imageElements({ rows: ROWS, columns: COLS, bitsAllocated: 16 }),
      fragments: [Uint8Array.from([0xff, 0xd8, 0xff, 0xc3, 0, 11, 16, 0, 6, 0, 8, 1, 1, 0x11, 0, 0xff, 0xd9])],
    });
    expect(reason(jpeg)).toMatch(/^corrupt (or truncated )?JPEG/);
  });
});
