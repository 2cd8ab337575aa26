import * as tf from '../tf';

/**
 * Image similarities between warped images [B, H, W, 1] and one template
 * [1, H, W, 1] (broadcast over the batch). Each returns a scalar loss, lower
 * is better, with gradients to the warped images. Box filters and
 * downsampling are convolutions (not avgPool) because the WASM backend's
 * convolution gradients are the ones cxr-align registers and tunes.
 */

export function pixelMse(warped: tf.Tensor4D, template: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => warped.sub(template).square().mean() as tf.Scalar);
}

/** 1 − global normalized cross-correlation, averaged over the batch. */
export function globalNcc(warped: tf.Tensor4D, template: tf.Tensor4D, eps = 1e-5): tf.Scalar {
  return tf.tidy(() => {
    const zw = standardize(warped, eps);
    const zt = standardize(template, eps);
    return tf.scalar(1).sub(zw.mul(zt).mean([1, 2, 3]).mean()) as tf.Scalar;
  });
}

function standardize(x: tf.Tensor4D, eps: number): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [1, 2, 3], true);
  return x.sub(mean).div(variance.add(eps).sqrt());
}

/** Sum over a k x k window ('valid'), as two 1-D convolutions. */
function boxSum(x: tf.Tensor4D, k: number): tf.Tensor4D {
  const row = tf.ones([1, k, 1, 1]) as tf.Tensor4D;
  const col = tf.ones([k, 1, 1, 1]) as tf.Tensor4D;
  return tf.conv2d(tf.conv2d(x, row, 1, 'valid'), col, 1, 'valid');
}

/**
 * 1 − local (windowed) normalized cross-correlation: the signed correlation of
 * each k x k neighbourhood, averaged. Local statistics make it robust to the
 * uneven exposure and soft-tissue differences between films. `eps` is on
 * the product of the two windows' pixel variances: windows flatter than about
 * std 0.02 (5 gray levels) count as featureless rather than as noise to match.
 * `weights` [1, H-window+1, W-window+1, 1], mean 1, weigh the windows (lung-fields.ts).
 */
export function localNcc(warped: tf.Tensor4D, template: tf.Tensor4D, window = 9, eps = 1e-7, weights?: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const t = template;
    const n = window * window;
    // The template's window sums are computed once and broadcast over the batch.
    const sI = boxSum(warped, window);
    const sJ = boxSum(t, window);
    const sII = boxSum(warped.square() as tf.Tensor4D, window);
    const sJJ = boxSum(t.square() as tf.Tensor4D, window);
    const sIJ = boxSum(warped.mul(t) as tf.Tensor4D, window);
    const cross = sIJ.sub(sI.mul(sJ).div(n));
    const varI = sII.sub(sI.square().div(n)).relu();
    const varJ = sJJ.sub(sJ.square().div(n)).relu();
    const cc = cross.div(varI.mul(varJ).add(eps * n * n).sqrt());
    return tf.scalar(1).sub((weights ? cc.mul(weights) : cc).mean()) as tf.Scalar;
  });
}

/** 2x downsampling by averaging 2x2 blocks (a strided convolution). */
export function downsample2x(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const even = x.slice([0, 0, 0, 0], [-1, h - (h % 2), w - (w % 2), -1]);
    return tf.conv2d(even, tf.fill([2, 2, 1, 1], 0.25) as tf.Tensor4D, 2, 'valid');
  });
}

/** The mean of `fn` over an image pyramid of `levels` levels (full size first). */
export function multiScale(
  fn: (w: tf.Tensor4D, t: tf.Tensor4D) => tf.Scalar,
  warped: tf.Tensor4D, template: tf.Tensor4D, levels: number,
): tf.Scalar {
  return tf.tidy(() => {
    let w = warped;
    let t = template;
    const terms: tf.Scalar[] = [];
    for (let l = 0; l < levels; l++) {
      if (l > 0) { w = downsample2x(w); t = downsample2x(t); }
      terms.push(fn(w, t));
    }
    return tf.addN(terms).div(levels) as tf.Scalar;
  });
}
