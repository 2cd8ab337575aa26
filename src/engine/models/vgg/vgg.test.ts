import * as tf from '../../tf';
import * as tfl from '@tensorflow/tfjs-layers';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, sharedPath } from '../../../testing/shared-data';
import { useBackend } from '../../../testing/tf-backend';
import { randomVgg, vggFeatures, vggFromLayersModel } from './vgg';

beforeAll(async () => { await useBackend(); });

const VGG_DIR = 'weights/vgg19-imagenet-conv1-3';

describe('perceptual network (VGG16 conv1_1..relu3_3)', () => {
  it('seeded random init is deterministic and has the relu3_3 shape', () => {
    const a = randomVgg(5);
    const b = randomVgg(5);
    const c = randomVgg(6);
    const x = tf.randomUniform([1, 32, 24, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const fa = vggFeatures(a, x);
    const fb = vggFeatures(b, x);
    const fc = vggFeatures(c, x);
    expect(fa.shape).toEqual([1, 8, 6, 256]);
    expect(fa.sub(fb).abs().max().dataSync()[0]).toBe(0);
    expect(fa.sub(fc).abs().max().dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([x, fa, fb, fc]);
    [a, b, c].forEach((n) => n.params.dispose());
  });

  it('rejects a model without the VGG layers, naming the file', () => {
    expect(() => vggFromLayersModel({ weightsManifest: [] }, new Map(), 'empty.json')).toThrow(/empty.json: .*block1_conv1/);
    expect(() => vggFromLayersModel({}, new Map(), 'x.json')).toThrow(/x.json: not a tfjs model/);
  });

  describe.skipIf(!HAS_SHARED)('ImageNet VGG19 conv1-3 from ../shared/weights', () => {
    it('loads by name and matches tfjs-layers running the same file at block3_conv3, Caffe preprocessing included', async () => {
      const json = JSON.parse(readFileSync(sharedPath(VGG_DIR, 'model.json'), 'utf8'));
      const bin = readFileSync(sharedPath(VGG_DIR, 'group1-shard1of1.bin'));
      const buf = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
      const net = vggFromLayersModel(json, new Map([['group1-shard1of1.bin', buf]]), 'vgg19/model.json');
      expect(net.preprocessing).toBe('caffe');

      // Reference: tfjs-layers runs the file itself; we feed it Caffe input built by hand.
      const ref = await tfl.loadLayersModel(tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0].weights,
        weightData: buf,
      }));
      const cut = tfl.model({ inputs: ref.inputs, outputs: ref.getLayer('block3_conv3').output as tfl.SymbolicTensor });
      const gray = tf.randomUniform([1, 40, 32, 1], 0, 1, 'float32', 8) as tf.Tensor4D;
      const bgr = tf.concat([gray, gray, gray], 3).mul(255).sub(tf.tensor1d([103.939, 116.779, 123.68]));
      const want = cut.predict(bgr) as tf.Tensor;
      const got = vggFeatures(net, gray);
      expect(got.shape).toEqual(want.shape);
      const rel = got.sub(want).abs().max().dataSync()[0] / want.abs().max().dataSync()[0];
      expect(rel).toBeLessThan(1e-4);
      // ImageNet features are large next to [0,1] pixels: the reason loss terms report raw magnitudes.
      expect(got.square().mean().dataSync()[0]).toBeGreaterThan(10);
      tf.dispose([gray, bgr, want, got]);
      ref.dispose();
      net.params.dispose();
    });
  });
});
