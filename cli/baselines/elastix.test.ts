/**
 * The elastix baseline: the coordinate conversion (pure), a synthetic
 * registration with a known matrix (needs the `elastix` binary), and one real
 * film from ../shared (needs that folder too). Each part skips, saying why,
 * where what it needs is absent.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyToPoint, compose, invert, IDENTITY_MATRIX, type AffineMatrix } from '../../src/engine/affine/affine.ts';
import { warpImage } from '../../src/engine/align/align.ts';
import { initBackend } from '../../src/engine/backend/backends.ts';
import { crop } from '../../src/engine/image/resize.ts';
import { decodeImage } from '../../src/engine/io/decode-image.ts';
import type { GrayImage } from '../../src/engine/io/gray-image.ts';
import {
  elastixAligner,
  elastixAvailable,
  elastixParameterFile,
  elastixToFrameMatrix,
  initialTransformFile,
  parseElastixAffine,
  type ElastixMetric,
} from './elastix.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHARED = path.resolve(repoRoot, '../shared');
const MASKED = path.join(SHARED, 'data/masked/images');
const HAVE_ELASTIX = elastixAvailable();
const HAVE_SHARED = existsSync(MASKED);

if (!HAVE_ELASTIX) console.warn('[baselines/elastix] registration tests skipped: no `elastix` binary on PATH (Debian: apt-get install elastix)');
else if (!HAVE_SHARED) console.warn(`[baselines/elastix] real-film test skipped: ${MASKED} is absent`);

function maxError(a: AffineMatrix, b: AffineMatrix): number {
  return Math.max(...a.flat().map((v, k) => Math.abs(v - b.flat()[k])));
}

/** Smooth, asymmetric test image: a sum of Gaussians (no symmetry an affine fit could confuse). */
function blobImage(width: number, height: number): GrayImage {
  const blobs = [[0.3, 0.35, 0.12, 1], [0.7, 0.3, 0.1, 0.8], [0.5, 0.7, 0.18, 0.9], [0.2, 0.8, 0.07, 0.6], [0.8, 0.75, 0.09, 0.7]];
  const data = new Float32Array(width * height);
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      const x = (j + 0.5) / width;
      const y = (i + 0.5) / height;
      let v = 0.05;
      for (const [bx, by, s, a] of blobs) v += a * Math.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * s * s));
      data[i * width + j] = Math.min(1, 0.8 * v);
    }
  }
  return { width, height, data, source: 'blobs' };
}

describe('elastix geometry conversion', () => {
  const e = (params: number[], center: [number, number] = [0, 0]) => ({ params, center });

  it('identity between same-size images is the identity matrix', () => {
    const m = elastixToFrameMatrix(e([1, 0, 0, 1, 0, 0], [7, 3]), { width: 40, height: 50 }, { width: 40, height: 50 });
    expect(maxError(m, IDENTITY_MATRIX)).toBeLessThan(1e-12);
  });

  it('a pixel-space scale between images of different size is the identity in normalized coordinates', () => {
    // Fixed 40x50, moving 80x100: pixel p in fixed is the same place as 2p + 0.5 in moving.
    const m = elastixToFrameMatrix(e([2, 0, 0, 2, 0.5, 0.5]), { width: 40, height: 50 }, { width: 80, height: 100 });
    expect(maxError(m, IDENTITY_MATRIX)).toBeLessThan(1e-12);
  });

  it('reads the matrix row-major and applies the centre: T(x) = A(x − c) + c + t', () => {
    const W = 10;
    const H = 20;
    const m = elastixToFrameMatrix(e([0.5, 0.1, -0.2, 1.5, 2, -1], [4, 9]), { width: W, height: H }, { width: W, height: H });
    // Fixed pixel (3, 5) → A·((3,5) − (4,9)) + (4,9) + (2,−1) = (0.5·−1 + 0.1·−4 + 6, −0.2·−1 + 1.5·−4 + 8) = (5.1, 2.2).
    const p = applyToPoint(m, { x: (2 * 3 + 1) / W - 1, y: (2 * 5 + 1) / H - 1 });
    expect(p.x).toBeCloseTo((2 * 5.1 + 1) / W - 1, 12);
    expect(p.y).toBeCloseTo((2 * 2.2 + 1) / H - 1, 12);
  });

  it('an initial transform written for -t0 round-trips through the conversion', () => {
    const init: AffineMatrix = [[0.8, 0.05, -0.1], [-0.03, 1.02, 0.1]];
    const fixed = { width: 30, height: 40 };
    const moving = { width: 64, height: 48 };
    const parsed = parseElastixAffine(initialTransformFile(init, fixed, moving));
    expect(maxError(elastixToFrameMatrix(parsed, fixed, moving), init)).toBeLessThan(1e-12);
    // …and as T0 under an identity T1 the result is init again.
    expect(maxError(elastixToFrameMatrix(e([1, 0, 0, 1, 0, 0], [5, 5]), fixed, moving, init), init)).toBeLessThan(1e-12);
  });

  it('parses elastix output and rejects what the conversion does not cover', () => {
    const text = [
      '(Transform "AffineTransform")',
      '(NumberOfParameters 6)',
      '(TransformParameters 1.010000 0.020000 -0.030000 0.990000 1.500000 -2.250000)',
      '(InitialTransformParametersFileName "NoInitialTransform")',
      '(HowToCombineTransforms "Compose")',
      '(Size 128 160)',
      '(Spacing 1.0000000000 1.0000000000)',
      '(Origin 0.0000000000 0.0000000000)',
      '(Direction 1.0000000000 0.0000000000 0.0000000000 1.0000000000)',
      '(CenterOfRotationPoint 63.5000000000 79.5000000000)',
    ].join('\n');
    expect(parseElastixAffine(text)).toEqual({ params: [1.01, 0.02, -0.03, 0.99, 1.5, -2.25], center: [63.5, 79.5] });
    expect(() => parseElastixAffine(text.replace('AffineTransform', 'EulerTransform'))).toThrow(/AffineTransform/);
    expect(() => parseElastixAffine(text.replace('(Spacing 1.0000000000', '(Spacing 0.5'))).toThrow(/spacing/);
    expect(() => parseElastixAffine(text.replace('NoInitialTransform', '/tmp/x.txt'))).toThrow(/initial transform/);
  });

  it('writes the documented parameters', () => {
    const p = elastixParameterFile({ metric: 'AdvancedNormalizedCorrelation', resolutions: 4, iterations: 250, samples: 2048, seed: 1 });
    for (const line of ['(Transform "AffineTransform")', '(NumberOfResolutions 4)', '(MaximumNumberOfIterations 250)', '(NumberOfSpatialSamples 2048)',
      '(ImageSampler "RandomCoordinate")', '(AutomaticTransformInitialization "true")', '(AutomaticScalesEstimation "true")',
      '(FinalBSplineInterpolationOrder 1)', '(WriteResultImage "false")', '(Metric "AdvancedNormalizedCorrelation")']) {
      expect(p).toContain(line);
    }
  });
});

describe.skipIf(!HAVE_ELASTIX)('elastix registration', () => {
  const template = blobImage(128, 160);
  // P maps the film's normalized coordinates into the template: film(p) = template(P p).
  const P: AffineMatrix = [[1.1 * Math.cos(0.1), -1.1 * Math.sin(0.1), 0.08], [1.05 * Math.sin(0.1), 1.05 * Math.cos(0.1), -0.05]];
  // The aligner's matrix maps the template's frame into the film: P⁻¹.
  const want = invert(P);
  let film: GrayImage;

  beforeAll(async () => {
    await initBackend(['wasm']);
    film = await warpImage(template, P, { width: 150, height: 170 });
    film.source = 'synthetic-film.png';
  });

  it.each<ElastixMetric>(['AdvancedNormalizedCorrelation', 'AdvancedMattesMutualInformation'])('recovers a known affine (%s)', async (metric) => {
    const m = await elastixAligner(template, { metric }).align(film);
    expect(maxError(m, want)).toBeLessThan(0.03);
    // The film sampled with the recovered matrix reproduces the template.
    const back = await warpImage(film, m, { width: template.width, height: template.height });
    let err = 0;
    let n = 0;
    for (let i = 16; i < template.height - 16; i++) {
      for (let j = 16; j < template.width - 16; j++) {
        err += Math.abs(back.data[i * template.width + j] - template.data[i * template.width + j]);
        n++;
      }
    }
    expect(err / n).toBeLessThan(0.01);
  });

  it('starts from an initial matrix (-t0) and still lands on the known affine', async () => {
    const init: AffineMatrix = [[0.8, 0.05, -0.1], [-0.03, 1.02, 0.1]];
    const m = await elastixAligner(template, { metric: 'AdvancedNormalizedCorrelation', init }).align(film);
    // Composition order matters here (init has shear and unequal scales): a wrong order would miss by far more.
    expect(maxError(m, want)).toBeLessThan(0.03);
    expect(maxError(compose(m, P), IDENTITY_MATRIX)).toBeLessThan(0.03);
  });

  it('a failing run names the film and quotes elastix', async () => {
    const bad = elastixAligner(template, { metric: 'NoSuchMetric' as ElastixMetric, resolutions: 1, iterations: 1 });
    await expect(bad.align(film)).rejects.toThrow(/elastix failed on synthetic-film\.png[\s\S]*NoSuchMetric/);
  });

  it.skipIf(!HAVE_SHARED)('aligns a real film to a crop of itself', async () => {
    const name = readdirSync(MASKED).filter((f) => f.endsWith('.png')).sort()[0];
    const img = decodeImage(readFileSync(path.join(MASKED, name)), name);
    const x0 = Math.round(img.width * 0.15);
    const y0 = Math.round(img.height * 0.1);
    const w = Math.round(img.width * 0.65);
    const h = Math.round(img.height * 0.7);
    const m = await elastixAligner(crop(img, x0, y0, w, h)).align(img);
    expect(m.flat().every(Number.isFinite)).toBe(true);
    // The crop's frame inside the film: x_film = (w/W)·x + (2·x0 + w)/W − 1 (same for y).
    const truth: AffineMatrix = [[w / img.width, 0, (2 * x0 + w) / img.width - 1], [0, h / img.height, (2 * y0 + h) / img.height - 1]];
    expect(maxError(m, truth)).toBeLessThan(0.05);
  });
});
