import { describe, expect, it } from 'vitest';
import { deepestBatchNormCount, MIN_BATCH_NORM_COUNT } from './batch-norm';
import { CSV_HEADER, transformsCsv, transformsJson } from './export';
import { isSidecar, splitSidecars } from './files';
import { describeParams, formatBytes, formatDuration, formatMs } from './format';
import { displayFrame, fitWithin, fromBytes, thumbFrame, toBytes } from './geometry';
import { contourOverlay } from './outline';
import { scoreLabel, templateMismatch } from './score';
import { chartRows, ema, etaSeconds, stepsPerSecond } from './series';

describe('geometry', () => {
  it('fits without upscaling and keeps the aspect', () => {
    expect(fitWithin(3000, 2500, 160, 160)).toEqual({ width: 160, height: 133 });
    expect(fitWithin(64, 48, 160, 160)).toEqual({ width: 64, height: 48 });
    expect(fitWithin(10000, 1, 100, 100)).toEqual({ width: 100, height: 1 });
  });
  it('gallery and sample frames keep the model frame aspect', () => {
    expect(thumbFrame({ width: 256, height: 320 })).toEqual({ width: 128, height: 160 });
    expect(displayFrame({ width: 32, height: 40 })).toEqual({ width: 128, height: 160 });
    expect(displayFrame({ width: 256, height: 320 })).toEqual({ width: 256, height: 320 });
  });
  it('bytes round trip clamps and maps NaN to black', () => {
    expect(Array.from(toBytes(Float32Array.of(-1, 0, 0.5, 1, 2, NaN)))).toEqual([0, 0, 128, 255, 255, 0]);
    expect(fromBytes(Uint8Array.of(0, 255))[1]).toBe(1);
  });
});

describe('template mismatch score', () => {
  const a = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i / 7));
  it('is 0 for the same image up to brightness and contrast, 2 for its negative', () => {
    expect(templateMismatch(a, a.map((v) => 3 * v + 1))).toBeCloseTo(0, 6);
    expect(templateMismatch(a, a.map((v) => -v))).toBeCloseTo(2, 6);
  });
  it('treats a blank image as uncorrelated and refuses mismatched sizes', () => {
    expect(templateMismatch(new Float32Array(100), a)).toBe(1);
    expect(() => templateMismatch(a, new Float32Array(5))).toThrow(/differ in size/);
  });
  it('labels', () => {
    expect([0.1, 0.3, 0.7, undefined].map(scoreLabel)).toEqual(['good', 'fair', 'poor', 'pending']);
  });
});

describe('loss series', () => {
  it('EMA is bias-corrected: a constant series stays constant', () => {
    expect(ema([2, 2, 2], 0.9).map((v) => +v.toFixed(9))).toEqual([2, 2, 2]);
    expect(ema([0, 10], 0.5)[1]).toBeCloseTo(10 * 0.5 / 0.75, 9);
  });
  it('plots the total and, for two-part losses, each part; thins long runs but keeps the last step', () => {
    const pts = Array.from({ length: 1000 }, (_, i) => ({ step: i, loss: 1 / (i + 1), parts: { perceptual: 0.5, pixel: 0.01 } }));
    const { rows, series } = chartRows(pts, 0.6, 100);
    expect(series).toEqual(['total', 'perceptual', 'pixel']);
    expect(rows.length).toBeLessThanOrEqual(101);
    expect(rows[rows.length - 1].step).toBe(1000);
    expect(rows[0]).toHaveProperty('pixel_smooth');
    const single = chartRows([{ step: 0, loss: 0.4, parts: { lncc: 0.4 } }], 0.6);
    expect(single.series).toEqual(['total']);
  });
  it('steps per second and ETA', () => {
    expect(stepsPerSecond([0, 500, 1000])).toBeCloseTo(2, 9);
    expect(etaSeconds(10, 30, 2)).toBe(10);
    expect(etaSeconds(0, 30, 0)).toBeNull();
  });
});

describe("export files (the CLI's format)", () => {
  const m = [[1, 0, 0.1], [0, 1, -0.2]] as [[number, number, number], [number, number, number]];
  const entries = [{ name: 'a,b.png', matrix: m, params: [0.1, -0.2, 1, 1, 0] as [number, number, number, number, number], size: { width: 512, height: 400 } }];
  it('transforms.json: frame, convention, model, transforms, params, failed', () => {
    const doc = JSON.parse(transformsJson({ width: 256, height: 320 }, 'identity model', entries, [{ name: 'bad.png', reason: 'empty file' }]));
    expect(Object.keys(doc)).toEqual(['frame', 'convention', 'model', 'transforms', 'params', 'failed']);
    expect(doc.frame).toEqual({ width: 256, height: 320 });
    expect(doc.transforms).toEqual({ 'a,b.png': m });
    expect(doc.params).toEqual({ 'a,b.png': [0.1, -0.2, 1, 1, 0] });
    expect(doc.failed).toEqual({ 'bad.png': 'empty file' });
    expect(doc.convention).toMatch(/align_corners=False/);
  });
  it('at original resolution the frame is "original" and sizes are listed', () => {
    const doc = JSON.parse(transformsJson('original', 'm', entries));
    expect(doc.frame).toBe('original');
    expect(doc.sizes).toEqual({ 'a,b.png': [512, 400] });
    expect(doc.failed).toEqual({});
  });
  it('CSV has the output size and quotes names with commas', () => {
    const csv = transformsCsv(entries).trim().split('\n');
    expect(csv[0]).toBe(CSV_HEADER);
    expect(CSV_HEADER).toBe('path,a,b,c,d,e,f,tx,ty,sx,sy,theta,width,height');
    expect(csv[1]).toBe('"a,b.png",1,0,0.1,0,1,-0.2,0.1,-0.2,1,1,0,512,400');
  });
});

describe('template outline', () => {
  it('draws unbroken iso-lines on a quantised smooth image', () => {
    const w = 64; const h = 64;
    const g = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) g[y * w + x] = Math.round(255 * Math.hypot(x - 32, y - 32) / 45);
    const rgba = contourOverlay(g, w, h, { quantiles: [0.5] });
    // A ring: every row crossing the disc has marked pixels on both sides of the centre.
    for (let y = 20; y < 44; y++) {
      const row = Array.from({ length: w }, (_, x) => rgba[(y * w + x) * 4 + 3] > 0);
      expect(row.slice(0, 32).some(Boolean)).toBe(true);
      expect(row.slice(32).some(Boolean)).toBe(true);
    }
    expect(rgba[(32 * w + 32) * 4 + 3]).toBe(0);
  });
});

describe('files and formatting', () => {
  it('skips sidecars, keeps anything that may be a film', () => {
    expect(['.DS_Store', 'DICOMDIR', 'a/Thumbs.db', 'notes.txt', 'x.json'].every(isSidecar)).toBe(true);
    expect(['IM0001', 'a.dcm', 'b.PNG', 'c.jpeg'].some(isSidecar)).toBe(false);
    const { films, skipped } = splitSidecars([{ name: 'a.png', blob: new Blob() }, { name: '.hidden', blob: new Blob() }]);
    expect(films.map((f) => f.name)).toEqual(['a.png']);
    expect(skipped).toEqual(['.hidden']);
  });
  it('formats durations, sizes and parameters', () => {
    expect([formatDuration(5), formatDuration(125), formatDuration(null)]).toEqual(['5s', '2m 05s', '—']);
    expect([formatMs(840), formatMs(3210)]).toEqual(['840 ms', '3.2 s']);
    expect(formatBytes(2048)).toBe('2.0 KB');
    expect(describeParams([0, 0, 1, 1, Math.PI / 6])[4].value).toBe('30.00°');
  });
});

describe('batch norm at the deepest stage', () => {
  it('counts batch × layer4 map, and flags batch 2 at a 32-px input', () => {
    expect(deepestBatchNormCount(2, 32)).toBe(2);
    expect(deepestBatchNormCount(4, 32)).toBe(4);
    expect(deepestBatchNormCount(2, 64)).toBe(8);
    expect(deepestBatchNormCount(8, 128)).toBe(128);
    expect(deepestBatchNormCount(1, 160)).toBe(25);
    expect(deepestBatchNormCount(2, 32)).toBeLessThan(MIN_BATCH_NORM_COUNT);
    expect(deepestBatchNormCount(4, 32)).toBeGreaterThanOrEqual(MIN_BATCH_NORM_COUNT);
  });
});
