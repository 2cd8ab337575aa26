import * as tf from '../../tf';
import { init, seedStream, type ParameterSet } from '../params';
import { batchNormTrain } from './batch-norm-train';

/**
 * ResNet18 with torchvision's exact topology (7x7/2 conv, BN, 3x3/2 max-pool,
 * four stages of two BasicBlocks, global average pool → 512 features), NHWC.
 * Parameters are named as in torchvision's state_dict, under `prefix`.
 */
export const RESNET18_STAGES = [
  { name: 'layer1', channels: 64, stride: 1 },
  { name: 'layer2', channels: 128, stride: 2 },
  { name: 'layer3', channels: 256, stride: 2 },
  { name: 'layer4', channels: 512, stride: 2 },
] as const;

export const RESNET18_FEATURES = 512;

/** One BasicBlock: its parameter prefix, channels, stride and whether it has a 1x1 downsample branch. */
export interface BlockSpec { name: string; cin: number; cout: number; stride: number; downsample: boolean }

/** The eight BasicBlocks in order ("layer1.0" … "layer4.1"), shared by init, training and inference. */
export const RESNET18_BLOCKS: readonly BlockSpec[] = (() => {
  const blocks: BlockSpec[] = [];
  let cin = 64;
  for (const stage of RESNET18_STAGES) {
    for (let block = 0; block < 2; block++) {
      const stride = block === 0 ? stage.stride : 1;
      blocks.push({ name: `${stage.name}.${block}`, cin, cout: stage.channels, stride, downsample: stride !== 1 || cin !== stage.channels });
      cin = stage.channels;
    }
  }
  return blocks;
})();
const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1;

export function addResnet18Params(params: ParameterSet, prefix: string, seed: number): void {
  const next = seedStream(seed);
  const conv = (name: string, k: number, cin: number, cout: number) =>
    params.add(`${prefix}${name}.weight`, init.convKaimingFanOut(k, k, cin, cout, next()));
  const bn = (name: string, c: number) => {
    params.add(`${prefix}${name}.weight`, tf.ones([c]));
    params.add(`${prefix}${name}.bias`, tf.zeros([c]));
    params.add(`${prefix}${name}.running_mean`, tf.zeros([c]), false);
    params.add(`${prefix}${name}.running_var`, tf.ones([c]), false);
  };
  conv('conv1', 7, 3, 64);
  bn('bn1', 64);
  for (const { name: p, cin, cout, downsample } of RESNET18_BLOCKS) {
    conv(`${p}.conv1`, 3, cin, cout);
    bn(`${p}.bn1`, cout);
    conv(`${p}.conv2`, 3, cout, cout);
    bn(`${p}.bn2`, cout);
    if (downsample) {
      conv(`${p}.downsample.0`, 1, cin, cout);
      bn(`${p}.downsample.1`, cout);
    }
  }
}

export interface ResnetRunOptions {
  /** Batch statistics (and running-stat updates) instead of the running averages. */
  training: boolean;
}

/** Symmetric explicit padding, as PyTorch's `padding=p`. */
const pad = (p: number): [[number, number], [number, number], [number, number], [number, number]] =>
  [[0, 0], [p, p], [p, p], [0, 0]];

/**
 * Forward pass. x: [B, H, W, 3], already normalised. Returns [B, 512].
 * In training mode BN uses batch moments and nudges the running averages
 * (momentum 0.1, unbiased variance, as PyTorch does); the update is written
 * with assign() so it never enters the gradient.
 */
export function resnet18Forward(params: ParameterSet, prefix: string, x: tf.Tensor4D, opts: ResnetRunOptions): tf.Tensor2D {
  const P = (n: string) => params.get(`${prefix}${n}`);
  const convBn = (input: tf.Tensor4D, conv: string, bn: string, stride: number, padding: number, relu: boolean): tf.Tensor4D => {
    const y = tf.conv2d(input, P(`${conv}.weight`) as tf.Tensor4D, stride, pad(padding));
    return batchNorm(y, bn, opts.training, relu);
  };
  const batchNorm = (y: tf.Tensor4D, bn: string, training: boolean, relu: boolean): tf.Tensor4D => {
    const gamma = P(`${bn}.weight`);
    const beta = P(`${bn}.bias`);
    if (!training) {
      const out = tf.batchNorm(y, P(`${bn}.running_mean`), P(`${bn}.running_var`), beta, gamma, BN_EPS) as tf.Tensor4D;
      return relu ? tf.relu(out) : out;
    }
    const n = y.size / y.shape[3];
    // One op with a closed-form gradient: as elementwise ops, autodiff kept every
    // full-size intermediate and a 320² batch of 8 overflowed the 4 GB WASM heap.
    return batchNormTrain(y, gamma as tf.Tensor1D, beta as tf.Tensor1D, BN_EPS, (mean, variance) => {
      const rm = P(`${bn}.running_mean`);
      const rv = P(`${bn}.running_var`);
      rm.assign(rm.mul(1 - BN_MOMENTUM).add(mean.mul(BN_MOMENTUM)));
      rv.assign(rv.mul(1 - BN_MOMENTUM).add(variance.mul((n / Math.max(n - 1, 1)) * BN_MOMENTUM)));
    }, relu);
  };

  let h = convBn(x, 'conv1', 'bn1', 2, 3, true);
  // After ReLU every value is ≥ 0, so zero padding equals PyTorch's −∞ padding for max-pool.
  h = tf.maxPool(tf.pad(h, pad(1)), 3, 2, 'valid');
  for (const { name: p, stride, downsample } of RESNET18_BLOCKS) {
    const identity = downsample ? convBn(h, `${p}.downsample.0`, `${p}.downsample.1`, stride, 0, false) : h;
    let y = convBn(h, `${p}.conv1`, `${p}.bn1`, stride, 1, true);
    y = convBn(y, `${p}.conv2`, `${p}.bn2`, 1, 1, false);
    h = tf.relu(y.add(identity));
  }
  if (opts.training) params.markChanged();
  return h.mean([1, 2]) as tf.Tensor2D;
}

/**
 * Inference with BN folded into each convolution and ReLU fused, so every
 * conv is one FusedConv2D kernel call. The folded kernels are built once per
 * parameter version and reused.
 */
export class FoldedResnet18 {
  private folded = new Map<string, { w: tf.Tensor4D; b: tf.Tensor1D }>();
  private builtFor = -1;

  constructor(private readonly params: ParameterSet, private readonly prefix: string) {}

  private fold(): void {
    if (this.builtFor === this.params.version) return;
    this.disposeFolded();
    const P = (n: string) => this.params.get(`${this.prefix}${n}`);
    const add = (conv: string, bn: string) => {
      const pair = tf.tidy(() => {
        const scale = P(`${bn}.weight`).mul(P(`${bn}.running_var`).add(BN_EPS).rsqrt());
        const w = P(`${conv}.weight`).mul(scale) as tf.Tensor4D; // broadcast over the out-channel axis
        const b = P(`${bn}.bias`).sub(P(`${bn}.running_mean`).mul(scale)) as tf.Tensor1D;
        return { w, b };
      });
      // fold() may run inside a caller's tidy; the cache must outlive it.
      this.folded.set(conv, { w: tf.keep(pair.w), b: tf.keep(pair.b) });
    };
    add('conv1', 'bn1');
    for (const { name: p, downsample } of RESNET18_BLOCKS) {
      add(`${p}.conv1`, `${p}.bn1`);
      add(`${p}.conv2`, `${p}.bn2`);
      if (downsample) add(`${p}.downsample.0`, `${p}.downsample.1`);
    }
    this.builtFor = this.params.version;
  }

  /** Pooled features [B, 512]. */
  forward(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.forwardMap(x).mean([1, 2]) as tf.Tensor2D);
  }

  /** The last block's feature map [B, L/32, L/32, 512], before pooling. */
  forwardMap(x: tf.Tensor4D): tf.Tensor4D {
    this.fold();
    return tf.tidy(() => {
      const conv = (input: tf.Tensor4D, name: string, stride: number, padding: number, relu: boolean, residual?: tf.Tensor4D): tf.Tensor4D => {
        const f = this.folded.get(name)!;
        const y = tf.fused.conv2d({ x: input, filter: f.w, strides: stride, pad: pad(padding), bias: f.b, activation: residual ? 'linear' : relu ? 'relu' : 'linear' });
        return residual ? tf.relu(y.add(residual)) as tf.Tensor4D : y;
      };
      let h = conv(x, 'conv1', 2, 3, true);
      h = tf.maxPool(tf.pad(h, pad(1)), 3, 2, 'valid');
      for (const { name: p, stride, downsample } of RESNET18_BLOCKS) {
        const identity = downsample ? conv(h, `${p}.downsample.0`, stride, 0, false) : h;
        const y = conv(h, `${p}.conv1`, stride, 1, true);
        h = conv(y, `${p}.conv2`, 1, 1, false, identity);
      }
      return h;
    });
  }

  private disposeFolded(): void {
    for (const { w, b } of this.folded.values()) { w.dispose(); b.dispose(); }
    this.folded.clear();
  }

  dispose(): void { this.disposeFolded(); this.builtFor = -1; }
}
