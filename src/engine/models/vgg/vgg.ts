import * as tf from '../../tf';
import { init, ParameterSet, seedStream } from '../params';

/**
 * VGG16 features[0:16] (conv1_1 … relu3_3), the seed paper's perceptual layer.
 * Conv layers named as Keras names VGG ("block1_conv1"), which is also how the
 * reference ImageNet weights name them, so a Keras/tfjs layers model loads by name.
 */
export const VGG_LAYERS = [
  { name: 'block1_conv1', cin: 3, cout: 64 },
  { name: 'block1_conv2', cin: 64, cout: 64, poolAfter: true },
  { name: 'block2_conv1', cin: 64, cout: 128 },
  { name: 'block2_conv2', cin: 128, cout: 128, poolAfter: true },
  { name: 'block3_conv1', cin: 128, cout: 256 },
  { name: 'block3_conv2', cin: 256, cout: 256 },
  { name: 'block3_conv3', cin: 256, cout: 256 },
] as const;

/**
 * How grayscale [0, 1] pixels become the network's input.
 * - 'imagenet': RGB, (x − mean)/std — torchvision's convention, used for random init.
 * - 'caffe': BGR, 0..255 minus the per-channel mean — the Keras/Caffe VGG weights'.
 */
export type VggPreprocessing = 'imagenet' | 'caffe';

export interface PerceptualNet {
  readonly params: ParameterSet;
  readonly preprocessing: VggPreprocessing;
  readonly description: string;
}

/** Seeded random VGG16 (torchvision init): a known working perceptual loss (Liu et al. 2021). */
export function randomVgg(seed = 1234): PerceptualNet {
  const params = new ParameterSet();
  const next = seedStream(seed);
  for (const l of VGG_LAYERS) {
    params.add(`${l.name}.kernel`, init.convKaimingFanOut(3, 3, l.cin, l.cout, next()), false);
    params.add(`${l.name}.bias`, tf.zeros([l.cout]), false);
  }
  return { params, preprocessing: 'imagenet', description: `random VGG16 conv1_1..relu3_3 (seed ${seed})` };
}

/**
 * A tfjs layers model (model.json + weight files already read) holding at
 * least conv1_1..conv3_3 under Keras VGG names with the VGG16 shapes. The
 * weights are assumed Caffe-preprocessed, as Keras' VGG ports are.
 */
export function vggFromLayersModel(modelJson: unknown, weightFiles: Map<string, ArrayBuffer> | ArrayBuffer, source = 'model.json'): PerceptualNet {
  const json = modelJson as { weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  if (!json || !Array.isArray(json.weightsManifest)) throw new Error(`${source}: not a tfjs model (no weightsManifest)`);
  const tensors: tf.NamedTensorMap = {};
  try {
    for (const group of json.weightsManifest) {
      const buffers = group.paths.map((p) => {
        if (weightFiles instanceof ArrayBuffer) return weightFiles;
        const b = weightFiles.get(p) ?? weightFiles.get(p.split('/').pop()!);
        if (!b) throw new Error(`weight file ${p} is missing`);
        return b;
      });
      Object.assign(tensors, tf.io.decodeWeights(concatBuffers(buffers), group.weights));
    }
    const params = new ParameterSet();
    for (const l of VGG_LAYERS) {
      const k = findWeight(tensors, `${l.name}/kernel`);
      const b = findWeight(tensors, `${l.name}/bias`);
      const want = [3, 3, l.cin, l.cout];
      if (!k || !b) throw new Error(`no weights named ${l.name}/kernel and ${l.name}/bias`);
      if (!tf.util.arraysEqual(k.shape, want) || !tf.util.arraysEqual(b.shape, [l.cout])) {
        throw new Error(`${l.name} has shape ${JSON.stringify(k.shape)}, expected ${JSON.stringify(want)}`);
      }
      params.add(`${l.name}.kernel`, k.clone(), false);
      params.add(`${l.name}.bias`, b.clone(), false);
    }
    return { params, preprocessing: 'caffe', description: `VGG conv1_1..relu3_3 from ${source}` };
  } catch (e) {
    throw new Error(`${source}: cannot use as a perceptual network: ${(e as Error).message}`);
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

function findWeight(map: tf.NamedTensorMap, suffix: string): tf.Tensor | undefined {
  const key = Object.keys(map).find((k) => k === suffix || k.endsWith(`/${suffix}`));
  return key ? map[key] : undefined;
}

function concatBuffers(buffers: ArrayBuffer[]): ArrayBuffer {
  if (buffers.length === 1) return buffers[0];
  const total = buffers.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const b of buffers) { out.set(new Uint8Array(b), o); o += b.byteLength; }
  return out.buffer;
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68];

/** relu3_3 features of grayscale [B, H, W, 1] images in [0, 1]. */
export function vggFeatures(net: PerceptualNet, gray: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const rgb = tf.concat([gray, gray, gray], 3);
    let h: tf.Tensor4D = net.preprocessing === 'caffe'
      ? rgb.mul(255).sub(tf.tensor1d(CAFFE_MEAN_BGR))
      : rgb.sub(tf.tensor1d(IMAGENET_MEAN)).div(tf.tensor1d(IMAGENET_STD));
    for (const l of VGG_LAYERS) {
      h = tf.fused.conv2d({
        x: h, filter: net.params.get(`${l.name}.kernel`) as tf.Tensor4D, strides: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]],
        bias: net.params.get(`${l.name}.bias`), activation: 'relu',
      });
      if ('poolAfter' in l && l.poolAfter) h = tf.maxPool(h, 2, 2, 'valid');
    }
    return h;
  });
}
