import * as tf from '../tf';

/**
 * Distance of predicted frame matrices to teacher matrices (both frame →
 * film, normalized): the mean over the frame's four corners of the squared
 * distance between where each matrix sends them. For the symmetric corners
 * (±1, ±1) that is exactly the squared Frobenius norm of the difference, so no
 * points need sampling. A corner 1 output pixel off in a 256-px-wide frame
 * adds (2/256)² ≈ 6e-5.
 *
 * Used to train the network on matrices another aligner found (test-time
 * refinement, elastix): cheap, well-conditioned supervision that, through the
 * augmentation composed into θ, also teaches equivariance. `mask` (1 = film
 * has a target) lets films without one contribute nothing.
 */
export function matrixTargetLoss(theta: tf.Tensor3D, target: tf.Tensor3D, mask: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const perFilm = theta.sub(target).square().sum([1, 2]) as tf.Tensor1D;
    return perFilm.mul(mask).sum().div(mask.sum().maximum(1)) as tf.Scalar;
  });
}
