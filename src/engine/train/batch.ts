import * as tf from '../tf';
import type { AffineMatrix, Size } from '../affine/affine';
import type { ContentCrop } from '../image/content-crop';
import { warpAffine } from '../sampler/warp';
import { bandMask, drawAugment, whitenMap, type AugmentSettings } from './augment';
import { Rng } from './rng';

/**
 * One training film, prepared once: a square localization copy (what the
 * encoder sees) and a larger source copy (what gets warped into the frame).
 * Both are grayscale, row-major, values in [0, 1].
 */
export interface TrainingImage {
  id: string;
  loc: Float32Array;
  src: Float32Array;
  /**
   * A teacher's frame → film matrix for this film (normalized, the loss
   * frame's region), when training also learns from another aligner.
   */
  target?: AffineMatrix;
  /** Where `loc` and `src` lie on the film: the model's view (prepareTrainingFilm); the whole film when absent. */
  crop?: ContentCrop;
}

export interface TrainingGeometry {
  locSize: number;
  srcSize: Size;
}

export interface TrainingBatch {
  /** Augmented encoder inputs [B, L, L, 1]. */
  loc: tf.Tensor4D;
  /** Un-augmented sources [B, Hs, Ws, 1]. */
  src: tf.Tensor4D;
  /** Augmentation matrices [B, 2, 3], composed with the prediction so the film is warped once. */
  aug: tf.Tensor3D;
  /** Teacher matrices [B, 2, 3] (zeros where a film has none) and which films have one [B]; absent when none has. */
  targets?: { matrix: tf.Tensor3D; mask: tf.Tensor1D };
  ids: string[];
}

/**
 * The random draws of a step depend only on (seed, step), so a run resumed from
 * a checkpoint at step k draws exactly what the uninterrupted run drew.
 */
export function stepRng(seed: number, step: number, stream = 0): Rng {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (step + 0x85ebca6b), 0xc2b2ae35) >>> 0;
  h = Math.imul(h ^ (stream + 0x27d4eb2f), 0x165667b1) >>> 0;
  return new Rng(h ^ (h >>> 16));
}

/** Indices of the films in batch `step`: seeded epoch-wise shuffles, no repeats within an epoch. */
export function batchIndices(seed: number, step: number, batchSize: number, n: number): number[] {
  const out: number[] = [];
  let perm: number[] | null = null;
  let permEpoch = -1;
  for (let k = 0; k < batchSize; k++) {
    const flat = step * batchSize + k;
    const epoch = Math.floor(flat / n);
    if (epoch !== permEpoch) { perm = stepRng(seed, epoch, 1).permutation(n); permEpoch = epoch; }
    out.push(perm![flat % n]);
  }
  return out;
}

export function makeBatch(images: TrainingImage[], geo: TrainingGeometry, rng: Rng, augment: AugmentSettings): TrainingBatch {
  const b = images.length;
  const L = geo.locSize;
  const { width: sw, height: sh } = geo.srcSize;
  const draws = images.map(() => drawAugment(rng, augment));
  return tf.tidy(() => {
    const locBuf = new Float32Array(b * L * L);
    const srcBuf = new Float32Array(b * sw * sh);
    images.forEach((im, i) => {
      if (im.loc.length !== L * L || im.src.length !== sw * sh) {
        throw new Error(`training image ${im.id} was prepared for another geometry`);
      }
      locBuf.set(im.loc, i * L * L);
      srcBuf.set(im.src, i * sw * sh);
    });
    const aug = tf.tensor3d(draws.flatMap((d) => d.matrix.flat()), [b, 2, 3]);
    const locRaw = tf.tensor4d(locBuf, [b, L, L, 1]);
    const warpedLoc = warpAffine(locRaw, aug, { width: L, height: L });
    const contrast = tf.tensor4d(draws.map((d) => d.contrast), [b, 1, 1, 1]);
    const brightness = tf.tensor4d(draws.map((d) => d.brightness), [b, 1, 1, 1]);
    // Intensity jitter only reaches the encoder: the loss compares the film itself.
    let loc = warpedLoc.sub(0.5).mul(contrast).add(0.5).add(brightness).clipByValue(0, 1) as tf.Tensor4D;
    if (draws.some((d) => d.gamma !== 1)) {
      loc = loc.pow(tf.tensor4d(draws.map((d) => d.gamma), [b, 1, 1, 1])) as tf.Tensor4D;
    }
    const maps = draws.map((d) => whitenMap(d, L));
    if (maps.some((m) => m)) {
      const white = new Float32Array(b * L * L);
      maps.forEach((m, i) => { if (m) white.set(m, i * L * L); });
      // Whitened toward 1 where a patch, mark or effusion lies: x + w·(1 − x).
      const w = tf.tensor4d(white, [b, L, L, 1]);
      loc = loc.add(w.mul(tf.scalar(1).sub(loc))) as tf.Tensor4D;
    }
    if (augment.enabled && augment.border > 0) {
      const masks = new Float32Array(b * L * L);
      draws.forEach((d, i) => masks.set(bandMask(d.bands, L), i * L * L));
      loc = loc.mul(tf.tensor4d(masks, [b, L, L, 1]));
    }
    const src = tf.tensor4d(srcBuf, [b, sh, sw, 1]);
    const targets = images.some((im) => im.target) ? {
      matrix: tf.tensor3d(images.flatMap((im) => (im.target ?? [[0, 0, 0], [0, 0, 0]]).flat()), [b, 2, 3]),
      mask: tf.tensor1d(images.map((im) => (im.target ? 1 : 0))),
    } : undefined;
    return { loc, src, aug, targets, ids: images.map((im) => im.id) };
  });
}

export function disposeBatch(batch: TrainingBatch): void {
  tf.dispose([batch.loc, batch.src, batch.aug]);
  if (batch.targets) tf.dispose([batch.targets.matrix, batch.targets.mask]);
}
