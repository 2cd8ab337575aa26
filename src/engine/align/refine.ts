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
 * Test-time refinement: a few Adam steps on the five parameters of one film,
 * starting from the network's prediction, maximising windowed NCC with the
 * template. Scales are optimised in log space so they stay positive (no
 * reflection can appear).
 */
export async function refineParams(img: GrayImage, template: GrayImage, start: AffineParams, opts: RefineOptions): Promise<AffineParams> {
  if (opts.iterations <= 0) return start;
  const size = opts.size ?? 128;
  const f = size / Math.max(template.width, template.height);
  const tw = Math.max(8, Math.round(template.width * f));
  const th = Math.max(8, Math.round(template.height * f));
  const tmpl = resizeArea(template, tw, th);
  // The film at about twice the refinement frame: enough detail, cheap to sample.
  const g = Math.min(1, (2 * Math.max(tw, th)) / Math.max(img.width, img.height));
  const src = resizeArea(img, Math.max(8, Math.round(img.width * g)), Math.max(8, Math.round(img.height * g)));
  const [tx, ty, sx, sy, rot] = start;
  const init = tf.tensor2d([[tx, ty, Math.log(sx), Math.log(sy), rot]]);
  const v = tf.variable(init);
  init.dispose(); // tf.variable copies its initial value
  const srcT = tf.tensor4d(src.data, [1, src.height, src.width, 1]);
  const tmplT = tf.tensor4d(tmpl.data, [1, th, tw, 1]);
  const opt = tf.train.adam(opts.lr ?? 0.01);
  const lo = Math.log(opts.minScale ?? 0.5);
  const hi = Math.log(opts.maxScale ?? 1.5);
  try {
    for (let i = 0; i < opts.iterations; i++) {
      tf.tidy(() => {
        opt.minimize(() => {
          const p = tf.concat([v.slice([0, 0], [1, 2]), v.slice([0, 2], [1, 2]).clipByValue(lo, hi).exp(), v.slice([0, 4], [1, 1])], 1) as tf.Tensor2D;
          const warped = warpAffine(srcT, paramsToTheta(p), { width: tw, height: th });
          return localNcc(warped, tmplT, opts.window ?? 9);
        }, false, [v]);
      });
    }
    const r = await v.data();
    return [r[0], r[1], Math.exp(Math.min(Math.max(r[2], lo), hi)), Math.exp(Math.min(Math.max(r[3], lo), hi)), r[4]];
  } finally {
    tf.dispose([v, srcT, tmplT]);
    opt.dispose();
  }
}
