import * as tf from '../../tf';
import { scaleOffset, validateStnConfig } from './config';
import type { AlignmentModel } from './stn';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** ds/dz at z = 0 of the bounded head's s = lo + (hi − lo)·sigmoid(z + z0). */
function scaleSlope(range: readonly [number, number]): number {
  const p = sigmoid(scaleOffset(range));
  return (range[1] - range[0]) * p * (1 - p);
}

/**
 * Gives a bounded model another scale range [lo, hi] (e.g. lo < 0.5, so a film
 * in a black canvas twice its size can be zoomed into: it needs s ≈ 0.49).
 *
 * The head's scale outputs are rescaled so the slope of s at the identity is
 * unchanged: the identity stays exact, frames near it move by second-order
 * terms (s = 0.8 under [0.5, 1.5] reads 0.79 under [0.4, 1.5]), and training
 * takes it from there.
 */
export function setScaleRange(model: AlignmentModel, range: [number, number]): void {
  const cfg = model.config;
  if (cfg.head !== 'bounded') throw new Error('a scale range applies to the bounded head only (--head bounded)');
  const bounds = { ...cfg.bounds, scale: range };
  validateStnConfig({ ...cfg, bounds });
  const ratio = scaleSlope(cfg.bounds.scale) / scaleSlope(range);
  const columns = tf.tensor1d([1, 1, ratio, ratio, 1]);
  for (const name of ['head.fc2.weight', 'head.fc2.bias']) {
    const scaled = tf.tidy(() => model.params.get(name).mul(columns));
    model.params.assign(name, scaled);
    scaled.dispose();
  }
  columns.dispose();
  (cfg as { bounds: typeof bounds }).bounds = bounds;
  model.params.markChanged();
}
