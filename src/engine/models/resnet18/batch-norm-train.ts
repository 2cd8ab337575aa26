import * as tf from '../../tf';
import { onHostBackend } from '../../backend/host-kernel';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, registerBatchNormKernels, type BatchNormTrainAttrs } from './batch-norm-kernels';

/**
 * Training-mode batch normalisation over [B, H, W, C] (statistics over B, H,
 * W per channel, biased variance for the normalisation, as PyTorch), then a
 * ReLU when `relu`, as ONE differentiable op with a hand-written gradient.
 *
 * Why: written as elementwise tf ops (moments, sub, mul by rsqrt, mul by γ,
 * add β), autodiff keeps every full-size intermediate for the backward pass
 * and builds as many again while differentiating. Profiled on tfjs-wasm at
 * 320x320 input, batch 4: 2.0 GB peak tensor memory for the ResNet18 forward
 * + backward (~500 MB per image; Multiply/Identity/Add/Cast/Sub allocating
 * most of it), so batch 8 overflows the 4 GB WASM heap and aborts. Here the
 * forward keeps only x and the per-channel moments; the backward is the
 * closed form
 *   x̂ = (x − μ)/σ,  dβ = Σ dy,  dγ = Σ dy·x̂,
 *   dx = γ/(σ·N) · (N·dy − dβ − x̂·dγ)
 * (dy masked by y > 0 first with `relu`). On wasm and cpu both directions are
 * single kernels (batch-norm-kernels.ts); elsewhere tf ops.
 *
 * `onMoments` receives the batch mean and biased variance (inside the op,
 * before they are freed), e.g. to update running statistics.
 */
export function batchNormTrain(
  x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number,
  onMoments?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
  relu = false,
): tf.Tensor4D {
  const host = onHostBackend();
  if (host) registerBatchNormKernels();
  const attrs: BatchNormTrainAttrs = { epsilon: eps, relu };
  const op = tf.customGrad(((xi: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const [y, mean, variance] = host
      ? tf.engine().runKernel(BATCH_NORM_TRAIN, { x: xi, gamma: g, beta: b }, attrs as never) as tf.Tensor[]
      : tf.tidy(() => {
        const m = tf.moments(xi, [0, 1, 2]);
        const inv = m.variance.add(eps).rsqrt();
        const out = xi.sub(m.mean).mul(inv.mul(g)).add(b);
        return [relu ? tf.relu(out) : out, m.mean, m.variance];
      });
    onMoments?.(mean as tf.Tensor1D, variance as tf.Tensor1D);
    save([xi, mean, variance, g, b]);
    // save() keeps its own references.
    mean.dispose();
    variance.dispose();
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, mu, va, gm, bt] = saved;
        if (host) {
          return tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { dy, x: xs, mean: mu, variance: va, gamma: gm, beta: bt }, attrs as never) as tf.Tensor[];
        }
        return tf.tidy(() => {
          const n = xs.size / xs.shape[3]!;
          const inv = va.add(eps).rsqrt();
          const xhat = xs.sub(mu).mul(inv);
          const d = relu ? dy.mul(xhat.mul(gm).add(bt).greater(0).cast('float32')) : dy;
          const dBeta = d.sum([0, 1, 2]);
          const dGamma = d.mul(xhat).sum([0, 1, 2]);
          const dx = d.mul(n).sub(dBeta).sub(xhat.mul(dGamma)).mul(gm.mul(inv).div(n));
          return [dx, dGamma, dBeta];
        });
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, gamma, beta) as tf.Tensor4D;
}
