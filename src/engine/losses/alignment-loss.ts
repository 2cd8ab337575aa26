import * as tf from '../tf';
import { vggFeatures, type PerceptualNet } from '../models/vgg/vgg';
import { lungFieldWeights } from './lung-fields';
import { globalNcc, localNcc, multiScale, pixelMse } from './similarity';

/**
 * Which similarity drives training. 'perceptual' is the seed paper's:
 * MSE(VGG relu3_3(warped), canonical features) + λ·MSE(pixels).
 */
export type LossSpec =
  | { kind: 'perceptual'; lambda: number; featureScale?: number }
  | { kind: 'pixel' }
  | { kind: 'ncc' }
  /** `offLungs`: weight of windows off the template's lung fields (lung-fields.ts); absent or 1 = uniform. */
  | { kind: 'lncc'; window: number; offLungs?: number }
  | { kind: 'multiscale'; base: 'pixel' | 'ncc' | 'lncc'; levels: number; window?: number };

export type LossKind = LossSpec['kind'];

export const DEFAULT_LOSS: LossSpec = { kind: 'lncc', window: 9 };
export const SEED_LOSS: LossSpec = { kind: 'perceptual', lambda: 20 };

/** A loss value and its raw terms (unweighted), so their balance can be judged. */
export interface LossValue {
  total: tf.Scalar;
  parts: Record<string, tf.Scalar>;
}

export interface LossContext {
  /** The canonical chest at the frame size, [1, H, W, 1] in [0, 1]. */
  template: tf.Tensor4D;
  perceptual?: PerceptualNet;
  /**
   * Target relu3_3 features [1, h, w, 256]: the template's, or the mean of n
   * aligned images' features (the report's eq. 4). Built from the template when absent.
   */
  canonicalFeatures?: tf.Tensor4D;
}

/**
 * A reusable loss function: the template-side work (its features) is done
 * once here, not on every step. Call dispose() when done.
 */
export class AlignmentLoss {
  private readonly features?: tf.Tensor4D;
  private readonly ownsFeatures: boolean;
  private readonly windowWeights?: tf.Tensor4D;

  constructor(readonly spec: LossSpec, private readonly ctx: LossContext) {
    if (spec.kind === 'perceptual') {
      if (!ctx.perceptual) throw new Error('the perceptual loss needs a perceptual network');
      this.ownsFeatures = !ctx.canonicalFeatures;
      this.features = ctx.canonicalFeatures ?? vggFeatures(ctx.perceptual, ctx.template);
    } else {
      this.ownsFeatures = false;
    }
    if (spec.kind === 'lncc' && spec.offLungs !== undefined && spec.offLungs !== 1) {
      this.windowWeights = lungFieldWeights(ctx.template, spec.window, spec.offLungs);
    }
  }

  get template(): tf.Tensor4D { return this.ctx.template; }

  compute(warped: tf.Tensor4D): LossValue {
    const spec = this.spec;
    const t = this.ctx.template;
    switch (spec.kind) {
      case 'pixel': {
        const total = pixelMse(warped, t);
        return { total, parts: { pixel: total } };
      }
      case 'ncc': {
        const total = globalNcc(warped, t);
        return { total, parts: { ncc: total } };
      }
      case 'lncc': {
        const total = localNcc(warped, t, spec.window, undefined, this.windowWeights);
        return { total, parts: { lncc: total } };
      }
      case 'multiscale': {
        const base = spec.base === 'pixel' ? pixelMse
          : spec.base === 'ncc' ? globalNcc
            : (w: tf.Tensor4D, tt: tf.Tensor4D) => localNcc(w, tt, spec.window ?? 9);
        const total = multiScale(base, warped, t, spec.levels);
        return { total, parts: { [`multiscale_${spec.base}`]: total } };
      }
      case 'perceptual': {
        const feats = vggFeatures(this.ctx.perceptual!, warped);
        const perceptual = tf.tidy(() => feats.sub(this.features!).square().mean().mul(spec.featureScale ?? 1) as tf.Scalar);
        feats.dispose();
        const pixel = pixelMse(warped, t);
        const total = tf.tidy(() => perceptual.add(pixel.mul(spec.lambda)) as tf.Scalar);
        return { total, parts: { perceptual, pixel } };
      }
    }
  }

  dispose(): void {
    if (this.ownsFeatures) this.features?.dispose();
    this.windowWeights?.dispose();
  }
}

/** Read a LossValue's numbers (one sync read of a few scalars per step). */
export async function readLoss(v: LossValue): Promise<{ total: number; parts: Record<string, number> }> {
  const names = Object.keys(v.parts);
  const all = tf.stack([v.total, ...names.map((n) => v.parts[n])]);
  const data = await all.data();
  all.dispose();
  return { total: data[0], parts: Object.fromEntries(names.map((n, i) => [n, data[i + 1]])) };
}

export function disposeLoss(v: LossValue): void {
  const seen = new Set<tf.Tensor>([v.total, ...Object.values(v.parts)]);
  tf.dispose([...seen]);
}
