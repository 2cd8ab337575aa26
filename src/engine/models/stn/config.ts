import type { Size } from '../../affine/affine';

/**
 * How the head's five outputs become (tx, ty, sx, sy, θ).
 * - 'raw': the seed paper's head — the outputs are the parameters, identity via
 *   the bias (0, 0, 1, 1, 0). Unbounded: it can mirror (s < 0) or zoom without limit.
 * - 'bounded': squashed into ranges that contain the identity at zero output
 *   (zero bias), so the model cannot reflect or collapse to extreme zooms.
 */
export type HeadKind = 'raw' | 'bounded';

export interface HeadBounds {
  /** |tx|, |ty| ≤ translation (normalized units; 0.5 = a quarter of the image). */
  translation: number;
  /** sx, sy ∈ [scale[0], scale[1]], which must contain 1. */
  scale: [number, number];
  /** |θ| ≤ rotation (radians). */
  rotation: number;
}

/**
 * How far the output frame reaches beyond the region the model was trained to
 * match, as fractions of that region's width/height per side. Training
 * matches films to a tight lung-box template; the exported frame then adds
 * this fixed margin so whole lung fields, costophrenic angles included, are
 * inside it. Zero for a model trained on a template that has its own margin.
 */
export interface FrameMargin { left: number; right: number; top: number; bottom: number }

export const NO_MARGIN: FrameMargin = { left: 0, right: 0, top: 0, bottom: 0 };

export interface StnConfig {
  format: 'cxr-align-stn';
  version: 1;
  encoder: 'resnet18';
  head: HeadKind;
  bounds: HeadBounds;
  /** Side of the square, downsampled copy the encoder sees. */
  locSize: number;
  /** Output frame (height x width) the model was trained for; export can use any size. */
  frame: Size;
  /** Seed of the random initialisation. */
  seed: number;
  margin: FrameMargin;
  /**
   * What the encoder sees: 'content', the film without the black around it
   * (image/content-crop.ts; the crop is composed into the frame), or
   * 'whole', the whole film — what models made before the crop existed were
   * trained and evaluated on, so a model folder without the field keeps it,
   * and what the untrained identity model shows (a plain resize). `train`
   * gives a new model 'content'.
   */
  inputCrop: InputCrop;
}

export type InputCrop = 'content' | 'whole';

/**
 * The offset z0 of the bounded head's s = lo + (hi − lo)·sigmoid(z + z0) that
 * puts z = 0 at s = 1 (the identity).
 */
export function scaleOffset([lo, hi]: readonly [number, number]): number {
  return Math.log((1 - lo) / (hi - 1));
}

export const DEFAULT_BOUNDS: HeadBounds = { translation: 0.5, scale: [0.5, 1.5], rotation: Math.PI / 6 };

export const ORIGINAL_FRAME: Size = { width: 256, height: 320 };

export function defaultStnConfig(overrides: Partial<StnConfig> = {}): StnConfig {
  return {
    format: 'cxr-align-stn',
    version: 1,
    encoder: 'resnet18',
    head: 'bounded',
    bounds: DEFAULT_BOUNDS,
    locSize: 128,
    frame: ORIGINAL_FRAME,
    seed: 1,
    margin: NO_MARGIN,
    inputCrop: 'whole',
    ...overrides,
  };
}

export function validateStnConfig(c: unknown): StnConfig {
  const bad = (why: string): never => { throw new Error(`not a cxr-align model config: ${why}`); };
  if (typeof c !== 'object' || c === null) bad('missing');
  const cfg = c as Partial<StnConfig>;
  if (cfg.format !== 'cxr-align-stn') bad(`format is ${JSON.stringify(cfg.format)}, expected "cxr-align-stn"`);
  if (cfg.version !== 1) bad(`unsupported version ${cfg.version}`);
  if (cfg.encoder !== 'resnet18') bad(`unknown encoder ${cfg.encoder}`);
  if (cfg.head !== 'raw' && cfg.head !== 'bounded') bad(`unknown head ${cfg.head}`);
  if (!Number.isInteger(cfg.locSize) || cfg.locSize! < 32 || cfg.locSize! > 1024) bad(`locSize ${cfg.locSize} out of 32..1024`);
  const f = cfg.frame;
  if (!f || !Number.isInteger(f.width) || !Number.isInteger(f.height) || f.width < 8 || f.height < 8) bad('frame must be {width, height} ≥ 8');
  const b = cfg.bounds;
  if (!b || !(b.translation > 0) || !(b.rotation > 0) || !Array.isArray(b.scale) || !(b.scale[0] > 0 && b.scale[0] < 1 && b.scale[1] > 1)) {
    bad('bounds must have translation > 0, rotation > 0 and scale [lo < 1 < hi] with lo > 0');
  }
  const m = cfg.margin ?? NO_MARGIN;
  if (![m.left, m.right, m.top, m.bottom].every((v) => Number.isFinite(v) && v > -0.5 && v < 2)) bad('margin values must be fractions in (-0.5, 2)');
  const inputCrop = cfg.inputCrop ?? 'whole';
  if (inputCrop !== 'content' && inputCrop !== 'whole') bad(`inputCrop is ${JSON.stringify(inputCrop)}, expected "content" or "whole"`);
  return { ...defaultStnConfig(), ...cfg, margin: m, inputCrop } as StnConfig;
}
