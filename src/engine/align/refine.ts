import * as tf from '../tf';
import type { AffineParams } from '../affine/affine';
import type { GrayImage } from '../io/gray-image';
import { localNcc } from '../losses/similarity';
import { paramsToTheta } from '../models/stn/stn';
import { warpAffine } from '../sampler/warp';
import { resizeArea } from '../image/resize';

export interface RefineOptions {
  iterations: number;
  /** Long side of the refinement frame (the template is resized to it). */
  size?: number;
  lr?: number;
  window?: number;
  /** Parameter bounds kept during refinement (the same as the bounded head's). */
  maxScale?: number;
  minScale?: number;
}

/**
 * Test-time refinement of one film: see refineBatch.
 */
export async function refineParams(img: GrayImage, template: GrayImage, start: AffineParams, opts: RefineOptions): Promise<AffineParams> {
  return (await refineBatch([img], template, [start], opts))[0];
}

/**
 * Test-time refinement: a few Adam steps on the five parameters of each film,
 * starting from the network's prediction, maximising windowed NCC with the
 * template. Scales are optimised in log space so they stay positive (no
 * reflection can appear).
 *
 * Films are refined together, as one batch: each film's loss depends on its
 * own parameters only and Adam scales every parameter by its own gradient
 * history, so the result is each film's own refinement (up to Adam's ε), at a
 * fraction of the per-film cost — at these sizes tfjs's time goes to per-op
 * overhead, not arithmetic. Normalized coordinates do not depend on a film's
 * pixel size, so every film is resampled to one source size for the batch.
 */
export async function refineBatch(images: GrayImage[], template: GrayImage, starts: AffineParams[], opts: RefineOptions): Promise<AffineParams[]> {
  if (opts.iterations <= 0 || images.length === 0) return starts.map((s) => [...s] as AffineParams);
  const size = opts.size ?? 128;
  const f = size / Math.max(template.width, template.height);
  const tw = Math.max(8, Math.round(template.width * f));
  const th = Math.max(8, Math.round(template.height * f));
  const tmpl = resizeArea(template, tw, th);
  // Each film at about twice the refinement frame: enough detail, cheap to sample.
  const sw = 2 * tw;
  const sh = 2 * th;
  const b = images.length;
  const srcBuf = new Float32Array(b * sw * sh);
  images.forEach((img, i) => srcBuf.set(resizeArea(img, sw, sh).data, i * sw * sh));
  const init = tf.tensor2d(starts.map(([tx, ty, sx, sy, rot]) => [tx, ty, Math.log(sx), Math.log(sy), rot]));
  const v = tf.variable(init);
  init.dispose(); // tf.variable copies its initial value
  const srcT = tf.tensor4d(srcBuf, [b, sh, sw, 1]);
  const tmplT = tf.tensor4d(tmpl.data, [1, th, tw, 1]);
  const opt = tf.train.adam(opts.lr ?? 0.01);
  const lo = Math.log(opts.minScale ?? 0.5);
  const hi = Math.log(opts.maxScale ?? 1.5);
  try {
    for (let i = 0; i < opts.iterations; i++) {
      tf.tidy(() => {
        opt.minimize(() => {
          const p = tf.concat([v.slice([0, 0], [b, 2]), v.slice([0, 2], [b, 2]).clipByValue(lo, hi).exp(), v.slice([0, 4], [b, 1])], 1) as tf.Tensor2D;
          const warped = warpAffine(srcT, paramsToTheta(p), { width: tw, height: th });
          // localNcc averages over the batch: × b gives each film its own loss's gradient.
          return localNcc(warped, tmplT, opts.window ?? 9).mul(b) as tf.Scalar;
        }, false, [v]);
      });
    }
    const r = await v.data();
    const clamp = (x: number) => Math.exp(Math.min(Math.max(x, lo), hi));
    return images.map((_, i) => [r[5 * i], r[5 * i + 1], clamp(r[5 * i + 2]), clamp(r[5 * i + 3]), r[5 * i + 4]]);
  } finally {
    tf.dispose([v, srcT, tmplT]);
    opt.dispose();
  }
}
