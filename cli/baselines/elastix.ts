/**
 * Classic intensity-based affine registration with elastix, as an `Aligner`:
 * the baseline a learned alignment model is compared with in the evaluation.
 *
 * Per film: the template is the FIXED image, the film (area-resized so its
 * long side is `size`) the MOVING image; elastix fits an affine transform with
 * a multi-resolution pyramid; the transform it writes is converted into our
 * normalized frame matrix (see src/engine/affine/affine.ts).
 *
 * Geometry. elastix reads a PNG with spacing 1, origin 0 and identity
 * direction, so a pixel's physical point is its index (column, row), pixel
 * centres at integers (checked against the Spacing/Origin/Direction it writes
 * into TransformParameters.0.txt, and end to end by the synthetic test). Its
 * AffineTransform maps a FIXED physical point x to the MOVING physical point
 *   T(x) = A (x − c) + c + t,   A = [[a11, a12], [a21, a22]] (row-major),
 * with `TransformParameters a11 a12 a21 a22 tx ty` and
 * `CenterOfRotationPoint cx cy`. Our matrix maps frame (= template)
 * normalized coordinates to film normalized coordinates, i.e. the chain
 *   frame normalized → fixed pixel → T → moving pixel → film normalized,
 * which is what `elastixToFrameMatrix` composes exactly. Area resizing keeps
 * the image edges at ±1, so the matrix holds for the film at any resolution.
 *
 * The template is also resized to long side `size` (keeping its aspect):
 * fixed and moving then have comparable pixel scales, and elastix's start
 * (identity around the geometrical centres) is the plain-resize guess.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compose, type AffineMatrix } from '../../src/engine/affine/affine.ts';
import type { Aligner } from '../../src/engine/eval/evaluate.ts';
import { resizeArea } from '../../src/engine/image/resize.ts';
import { encodePng } from '../../src/engine/io/encode-png.ts';
import type { GrayImage } from '../../src/engine/io/gray-image.ts';

export type ElastixMetric = 'AdvancedNormalizedCorrelation' | 'AdvancedMattesMutualInformation';

export interface ElastixOptions {
  /** Long side (px) the film and the template are resized to; default 256. */
  size?: number;
  /** Similarity metric; default AdvancedMattesMutualInformation (robust to the exposure/window differences between films). */
  metric?: ElastixMetric;
  /** Pyramid levels; default 4. */
  resolutions?: number;
  /** Optimizer iterations per level; default 250. */
  iterations?: number;
  /** Spatial samples drawn per iteration; default 2048. */
  samples?: number;
  /** elastix's thread cap (`-threads`); default: elastix decides (all cores). */
  threads?: number;
  /** Seed of elastix's random sampler, so runs are repeatable; default 121212. */
  seed?: number;
  /**
   * Starting guess (our frame matrix: template normalized → film normalized),
   * e.g. the zoom of a lung-cropped template; passed to elastix as an initial
   * transform (`-t0`), after which the automatic centre initialization is off.
   * Default: none (identity around the geometrical centres ≈ the plain resize).
   */
  init?: AffineMatrix;
  /** elastix binary; default `elastix` on PATH. */
  binary?: string;
}

const DEFAULTS = {
  size: 256,
  metric: 'AdvancedMattesMutualInformation' as ElastixMetric,
  resolutions: 4,
  iterations: 250,
  samples: 2048,
  seed: 121212,
  binary: 'elastix',
};

let availableCache: boolean | undefined;

/** Whether an `elastix` binary runs here (cached). */
export function elastixAvailable(binary = 'elastix'): boolean {
  if (binary === 'elastix' && availableCache !== undefined) return availableCache;
  let ok = false;
  try {
    const out = execFileSync(binary, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    ok = /elastix version/i.test(out);
  } catch {
    ok = false;
  }
  if (binary === 'elastix') availableCache = ok;
  return ok;
}

/** The elastix parameter file (text) for one affine registration. */
export function elastixParameterFile(o: Required<Pick<ElastixOptions, 'metric' | 'resolutions' | 'iterations' | 'samples' | 'seed'>> & { autoInit?: boolean }): string {
  const autoInit = o.autoInit ?? true;
  const lines = [
    '// cxr-align baseline: 2D affine registration of a film (moving) onto the template (fixed).',
    '(FixedInternalImagePixelType "float")',
    '(MovingInternalImagePixelType "float")',
    '(FixedImageDimension 2)',
    '(MovingImageDimension 2)',
    '(UseDirectionCosines "true")',
    '(Registration "MultiResolutionRegistration")',
    '(Interpolator "BSplineInterpolator")',
    '(BSplineInterpolationOrder 1)',
    '(ResampleInterpolator "FinalBSplineInterpolator")',
    '(FinalBSplineInterpolationOrder 1)',
    '(Resampler "DefaultResampler")',
    '(FixedImagePyramid "FixedSmoothingImagePyramid")',
    '(MovingImagePyramid "MovingSmoothingImagePyramid")',
    `(NumberOfResolutions ${o.resolutions})`,
    '(Optimizer "AdaptiveStochasticGradientDescent")',
    `(MaximumNumberOfIterations ${o.iterations})`,
    '(Transform "AffineTransform")',
    '(AutomaticScalesEstimation "true")',
    `(AutomaticTransformInitialization "${autoInit}")`,
    '(AutomaticTransformInitializationMethod "GeometricalCenter")',
    '(HowToCombineTransforms "Compose")',
    `(Metric "${o.metric}")`,
    ...(o.metric === 'AdvancedMattesMutualInformation' ? ['(NumberOfHistogramBins 32)'] : []),
    '(ImageSampler "RandomCoordinate")',
    `(NumberOfSpatialSamples ${o.samples})`,
    '(NewSamplesEveryIteration "true")',
    `(RandomSeed ${o.seed})`,
    '(DefaultPixelValue 0)',
    '(WriteResultImage "false")',
    '(ResultImagePixelType "float")',
    '(ResultImageFormat "mha")',
    '(WriteTransformParametersEachIteration "false")',
    '(WriteTransformParametersEachResolution "false")',
    '(ShowExactMetricValue "false")',
  ];
  return `${lines.join('\n')}\n`;
}

/** What of TransformParameters.0.txt the conversion needs. */
export interface ElastixAffine {
  /** [a11, a12, a21, a22, tx, ty]. */
  params: number[];
  center: [number, number];
}

function numbers(text: string, key: string): number[] | undefined {
  const m = new RegExp(`^\\(${key}\\s+([^)]*)\\)`, 'm').exec(text);
  if (!m) return undefined;
  return m[1].trim().split(/\s+/).map(Number);
}

function str(text: string, key: string): string | undefined {
  const m = new RegExp(`^\\(${key}\\s+"([^"]*)"\\)`, 'm').exec(text);
  return m?.[1];
}

/**
 * Parse an elastix 2D AffineTransform parameter file (rejects anything else).
 * `initialFile`: the -t0 file elastix must name as the initial transform
 * (default: none allowed).
 */
export function parseElastixAffine(text: string, initialFile?: string): ElastixAffine {
  const transform = str(text, 'Transform');
  if (transform !== 'AffineTransform') throw new Error(`expected an AffineTransform, elastix wrote ${transform ?? 'none'}`);
  const initial = str(text, 'InitialTransformParametersFileName');
  if ((initial ?? 'NoInitialTransform') !== (initialFile ?? 'NoInitialTransform')) {
    throw new Error(`initial transform ${initial ?? 'none'}, expected ${initialFile ?? 'none'}`);
  }
  if (initialFile !== undefined && str(text, 'HowToCombineTransforms') !== 'Compose') throw new Error('expected HowToCombineTransforms "Compose"');
  const params = numbers(text, 'TransformParameters');
  const center = numbers(text, 'CenterOfRotationPoint');
  if (!params || params.length !== 6 || !params.every(Number.isFinite)) throw new Error('TransformParameters missing or not 6 finite numbers');
  if (!center || center.length !== 2 || !center.every(Number.isFinite)) throw new Error('CenterOfRotationPoint missing or not 2 finite numbers');
  // The conversion assumes physical point = pixel index; confirm for the fixed image.
  const spacing = numbers(text, 'Spacing');
  const origin = numbers(text, 'Origin');
  const direction = numbers(text, 'Direction');
  const near = (a: number[] | undefined, b: number[]) => !a || (a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-9));
  if (!near(spacing, [1, 1]) || !near(origin, [0, 0]) || !near(direction, [1, 0, 0, 1])) {
    throw new Error(`fixed image geometry is not unit spacing / zero origin / identity direction: Spacing ${spacing}, Origin ${origin}, Direction ${direction}`);
  }
  return { params, center: [center[0], center[1]] };
}

interface Dims { width: number; height: number }

/** Normalized → pixel index (= physical point): j = (W/2)·x + (W−1)/2, inverse of x = (2j+1)/W − 1. */
function normToPx(d: Dims): AffineMatrix {
  return [[d.width / 2, 0, (d.width - 1) / 2], [0, d.height / 2, (d.height - 1) / 2]];
}

/** Pixel index → normalized: x = (2j+1)/W − 1. */
function pxToNorm(d: Dims): AffineMatrix {
  return [[2 / d.width, 0, 1 / d.width - 1], [0, 2 / d.height, 1 / d.height - 1]];
}

/** elastix's T(x) = A(x − c) + c + t as a plain affine map A x + (c + t − A c). */
function elastixPointMap(e: ElastixAffine): AffineMatrix {
  const [a11, a12, a21, a22, tx, ty] = e.params;
  const [cx, cy] = e.center;
  return [
    [a11, a12, cx + tx - (a11 * cx + a12 * cy)],
    [a21, a22, cy + ty - (a21 * cx + a22 * cy)],
  ];
}

/**
 * Our frame matrix from elastix's affine: frame normalized → fixed pixel
 * (fixed W×H) → T → moving pixel (moving W×H) → film normalized. With an
 * initial transform T0 (our matrix `init`), elastix's Compose gives
 * T(x) = T1(T0(x)), so the chain is init, then moving-normalized → pixel → T1 → normalized.
 */
export function elastixToFrameMatrix(e: ElastixAffine, fixed: Dims, moving: Dims, init?: AffineMatrix): AffineMatrix {
  const T = elastixPointMap(e);
  const inner = init ? compose(normToPx(moving), init) : normToPx(fixed);
  return compose(pxToNorm(moving), compose(T, inner));
}

/** elastix parameter file for the initial transform: `init` as a fixed-pixel → moving-pixel AffineTransform. */
export function initialTransformFile(init: AffineMatrix, fixed: Dims, moving: Dims): string {
  const [[a, b, c], [d, e, f]] = compose(normToPx(moving), compose(init, pxToNorm(fixed)));
  const lines = [
    '(Transform "AffineTransform")',
    '(NumberOfParameters 6)',
    `(TransformParameters ${[a, b, d, e, c, f].map((v) => v.toPrecision(17)).join(' ')})`,
    '(InitialTransformParametersFileName "NoInitialTransform")',
    '(HowToCombineTransforms "Compose")',
    '(FixedImageDimension 2)',
    '(MovingImageDimension 2)',
    '(FixedInternalImagePixelType "float")',
    '(MovingInternalImagePixelType "float")',
    `(Size ${fixed.width} ${fixed.height})`,
    '(Index 0 0)',
    '(Spacing 1 1)',
    '(Origin 0 0)',
    '(Direction 1 0 0 1)',
    '(UseDirectionCosines "true")',
    '(CenterOfRotationPoint 0 0)',
  ];
  return `${lines.join('\n')}\n`;
}

/** Resize so the long side is `size` (aspect kept). */
function toLongSide(img: GrayImage, size: number): GrayImage {
  const f = size / Math.max(img.width, img.height);
  const w = Math.max(1, Math.round(img.width * f));
  const h = Math.max(1, Math.round(img.height * f));
  return w === img.width && h === img.height ? img : resizeArea(img, w, h);
}

function runElastix(binary: string, args: string[]): Promise<{ error: Error | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(binary, args, { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => resolve({ error, stdout, stderr }));
  });
}

function lastLines(text: string, n: number): string {
  return text.split(/\r?\n/).map((l) => l.trimEnd()).filter((l) => l.length > 0).slice(-n).join('\n');
}

/**
 * Affine elastix registration of each film onto `template` (the frame: the
 * returned matrices map the template's normalized coordinates into the film).
 */
export function elastixAligner(template: GrayImage, opts: ElastixOptions = {}): Aligner {
  const o = { ...DEFAULTS, ...opts };
  if (!Number.isInteger(o.size) || o.size < 16) throw new RangeError(`elastix size must be an integer ≥ 16, got ${o.size}`);
  if (!Number.isInteger(o.resolutions) || o.resolutions < 1) throw new RangeError(`elastix resolutions must be a positive integer, got ${o.resolutions}`);
  if (!Number.isInteger(o.iterations) || o.iterations < 1) throw new RangeError(`elastix iterations must be a positive integer, got ${o.iterations}`);
  const fixed = toLongSide(template, o.size);
  const fixedPng = encodePng(fixed, { bitDepth: 16 });
  if (o.init && !o.init.flat().every(Number.isFinite)) throw new RangeError('elastix init matrix must be finite');
  const paramText = elastixParameterFile({ ...o, autoInit: !o.init });
  return {
    name: `elastix affine (${o.metric === 'AdvancedNormalizedCorrelation' ? 'NCC' : 'MI'}, ${o.size}px, ${o.resolutions} levels × ${o.iterations} it)`,
    async align(img: GrayImage): Promise<AffineMatrix> {
      const film = img.source ?? `${img.width}x${img.height} film`;
      const moving = toLongSide(img, o.size);
      const dir = await mkdtemp(join(tmpdir(), 'cxr-elastix-'));
      try {
        const out = join(dir, 'out');
        await writeFile(join(dir, 'fixed.png'), fixedPng);
        await writeFile(join(dir, 'moving.png'), encodePng(moving, { bitDepth: 16 }));
        await writeFile(join(dir, 'params.txt'), paramText);
        await mkdir(out);
        const args = ['-f', join(dir, 'fixed.png'), '-m', join(dir, 'moving.png'), '-p', join(dir, 'params.txt'), '-out', out];
        const t0 = o.init ? join(dir, 'init.txt') : undefined;
        if (o.init && t0) {
          await writeFile(t0, initialTransformFile(o.init, fixed, moving));
          args.push('-t0', t0);
        }
        if (o.threads !== undefined) args.push('-threads', String(o.threads));
        const r = await runElastix(o.binary, args);
        let text: string | undefined;
        try {
          text = await readFile(join(out, 'TransformParameters.0.txt'), 'utf8');
        } catch {
          text = undefined;
        }
        if (r.error || text === undefined) {
          let log = '';
          try {
            log = await readFile(join(out, 'elastix.log'), 'utf8');
          } catch {
            log = `${r.stdout}\n${r.stderr}`;
          }
          const code = (r.error as (Error & { code?: unknown }) | null)?.code;
          const why = !r.error ? 'no TransformParameters.0.txt written'
            : typeof code === 'number' ? `exit code ${code}` : r.error.message.split('\n')[0];
          throw new Error(`elastix failed on ${film}: ${why}\n${lastLines(log, 12)}`);
        }
        let e: ElastixAffine;
        try {
          e = parseElastixAffine(text, t0);
        } catch (err) {
          throw new Error(`elastix result for ${film} unusable: ${(err as Error).message}`);
        }
        const m = elastixToFrameMatrix(e, fixed, moving, o.init);
        if (!m.flat().every(Number.isFinite)) throw new Error(`elastix gave a non-finite matrix for ${film}`);
        return m;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
