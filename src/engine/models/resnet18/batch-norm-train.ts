import * as tf from '../../tf';

/**
 * Training-mode batch normalisation over [B, H, W, C] (statistics over B, H,
 * W per channel, biased variance for the normalisation, as PyTorch), as ONE
 * differentiable op with a hand-written gradient.
 *
 * Why: written as elementwise tf ops (moments, sub, mul by rsqrt, mul by γ,
 * add β), autodiff keeps every full-size intermediate for the backward pass
 * and builds as many again while differentiating. Profiled on tfjs-wasm at
 * 320x320 input, batch 4: 2.0 GB peak tensor memory for the ResNet18 forward
 * + backward (~500 MB per image; Multiply/Identity/Add/Cast/Sub allocating
 * most of it), so batch 8 overflows the 4 GB WASM heap and aborts. Here the
 * forward keeps only x, the per-channel mean and 1/σ; the backward is the
 * closed form
 *   x̂ = (x − μ)/σ,  dβ = Σ dy,  dγ = Σ dy·x̂,
 *   dx = γ/(σ·N) · (N·dy − dβ − x̂·dγ)
 * with its temporaries freed as soon as the op returns.
 *
 * `onMoments` receives the batch mean and biased variance (inside the op,
 * before they are freed), e.g. to update running statistics.
 */
export function batchNormTrain(
  x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number,
  onMoments?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
): tf.Tensor4D {
  const op = tf.customGrad(((xi: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const [y, mean, invStd] = tf.tidy(() => {
      const m = tf.moments(xi, [0, 1, 2]);
      onMoments?.(m.mean as tf.Tensor1D, m.variance as tf.Tensor1D);
      const inv = m.variance.add(eps).rsqrt() as tf.Tensor1D;
      const out = xi.sub(m.mean).mul(inv.mul(g)).add(b) as tf.Tensor4D;
      return [out, m.mean as tf.Tensor1D, inv];
    });
    save([xi, mean, invStd, g]);
    mean.dispose();
    invStd.dispose();
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const [xs, mu, inv, gm] = saved;
        const n = xs.size / xs.shape[3]!;
        const xhat = xs.sub(mu).mul(inv);
        const dBeta = dy.sum([0, 1, 2]);
        const dGamma = dy.mul(xhat).sum([0, 1, 2]);
        const dx = dy.mul(n).sub(dBeta).sub(xhat.mul(dGamma)).mul(gm.mul(inv).div(n));
        return [dx, dGamma, dBeta];
      }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, gamma, beta) as tf.Tensor4D;
}
