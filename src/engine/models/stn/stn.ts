import * as tf from '../../tf';
import type { AffineParams, Size } from '../../affine/affine';
import { warpAffine } from '../../sampler/warp';
import { init, ParameterSet, seedStream } from '../params';
import { addResnet18Params, FoldedResnet18, RESNET18_FEATURES, resnet18Forward } from '../resnet18/resnet18';
import { defaultStnConfig, scaleOffset, type StnConfig } from './config';

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
const HIDDEN = 256;

/**
 * The localization network of the Spatial Transformer: ResNet18 encoder +
 * FC(512→256) → ReLU → FC(256→5). The last layer starts at zero weights, so an
 * untrained model is the identity transform.
 */
export class AlignmentModel {
  readonly params = new ParameterSet();
  private readonly folded: FoldedResnet18;

  constructor(readonly config: StnConfig = defaultStnConfig()) {
    addResnet18Params(this.params, 'encoder.', config.seed);
    const next = seedStream(config.seed ^ 0x5eed);
    this.params.add('head.fc1.weight', init.linearUniform([RESNET18_FEATURES, HIDDEN], RESNET18_FEATURES, next()));
    this.params.add('head.fc1.bias', init.linearUniform([HIDDEN], RESNET18_FEATURES, next()));
    this.params.add('head.fc2.weight', tf.zeros([HIDDEN, 5]));
    this.params.add('head.fc2.bias', config.head === 'raw' ? tf.tensor1d([0, 0, 1, 1, 0]) : tf.zeros([5]));
    this.folded = new FoldedResnet18(this.params, 'encoder.');
  }

  /**
   * Grayscale [B, L, L, 1] in [0, 1] → the encoder's input: tiled to three
   * channels and ImageNet-normalised, as the seed code feeds torchvision.
   */
  static normalizeInput(gray: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() =>
      // Broadcasting [B, L, L, 1] against per-channel constants tiles and normalises in two ops.
      gray.mul(tf.tensor1d(IMAGENET_STD.map((s) => 1 / s))).sub(tf.tensor1d(IMAGENET_MEAN.map((m, i) => m / IMAGENET_STD[i]))) as tf.Tensor4D);
  }

  /** Raw head outputs [B, 5]. `training` selects batch-norm batch statistics. */
  headOutput(gray: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      const x = AlignmentModel.normalizeInput(gray);
      const features = training
        ? resnet18Forward(this.params, 'encoder.', x, { training: true })
        : this.folded.forward(x);
      const P = (n: string) => this.params.get(n);
      const hidden = tf.relu(features.matMul(P('head.fc1.weight')).add(P('head.fc1.bias')));
      return hidden.matMul(P('head.fc2.weight')).add(P('head.fc2.bias')) as tf.Tensor2D;
    });
  }

  /** Head outputs → (tx, ty, sx, sy, θ) [B, 5], bounded or raw per the config. */
  outputToParams(out: tf.Tensor2D): tf.Tensor2D {
    if (this.config.head === 'raw') return out.clone();
    const { translation, scale: [lo, hi], rotation } = this.config.bounds;
    return tf.tidy(() => {
      const b = out.shape[0];
      const col = (k: number) => out.slice([0, k], [b, 1]);
      // s = lo + (hi − lo)·sigmoid(z + z0): z = 0 is the identity.
      const z0 = scaleOffset([lo, hi]);
      const s = (k: number) => col(k).add(z0).sigmoid().mul(hi - lo).add(lo);
      return tf.concat([
        col(0).tanh().mul(translation), col(1).tanh().mul(translation),
        s(2), s(3), col(4).tanh().mul(rotation),
      ], 1) as tf.Tensor2D;
    });
  }

  /** Predicted parameters [B, 5] for localization inputs [B, L, L, 1]. */
  predictParams(gray: tf.Tensor4D, training = false): tf.Tensor2D {
    return tf.tidy(() => this.outputToParams(this.headOutput(gray, training)));
  }

  /** Predicted matrices [B, 2, 3] (see affine.ts for the convention). */
  predictTheta(gray: tf.Tensor4D, training = false): tf.Tensor3D {
    return tf.tidy(() => paramsToTheta(this.predictParams(gray, training)));
  }

  dispose(): void {
    this.folded.dispose();
    this.params.dispose();
  }
}

/** Differentiable (tx, ty, sx, sy, θ) [B, 5] → [[sx·cosθ, −sy·sinθ, tx], [sx·sinθ, sy·cosθ, ty]] [B, 2, 3]. */
export function paramsToTheta(p: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const b = p.shape[0];
    const col = (k: number) => p.slice([0, k], [b, 1]);
    const [tx, ty, sx, sy, th] = [0, 1, 2, 3, 4].map(col);
    const c = th.cos();
    const s = th.sin();
    return tf.concat([sx.mul(c), sy.mul(s).neg(), tx, sx.mul(s), sy.mul(c), ty], 1).reshape([b, 2, 3]) as tf.Tensor3D;
  });
}

/**
 * (tx, ty, sx, sy, θ) rows of a [B, 5] tensor, read asynchronously: a
 * synchronous read of GPU data goes through a canvas on WebGPU (there is none
 * in Node) and stalls the page on WebGL.
 */
export async function readParamsRows(p: tf.Tensor2D): Promise<AffineParams[]> {
  const v = await p.data();
  return Array.from({ length: p.shape[0] }, (_, i) => Array.from(v.subarray(i * 5, i * 5 + 5)) as AffineParams);
}

/** Align a batch: predict θ from the localization copies, warp the sources into `frame`. */
export function alignBatch(model: AlignmentModel, loc: tf.Tensor4D, source: tf.Tensor4D, frame: Size): { warped: tf.Tensor4D; params: tf.Tensor2D } {
  return tf.tidy(() => {
    const params = model.predictParams(loc);
    const warped = warpAffine(source, paramsToTheta(params), frame);
    return { warped, params };
  });
}
