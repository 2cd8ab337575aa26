import * as tf from '../tf';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../testing/tf-backend';
import { AlignmentModel } from '../models/stn/stn';
import { defaultStnConfig } from '../models/stn/config';
import { deserializeModel, modelFiles, readModelFiles, serializeModel } from './model-io';
import { toHalfBits } from './float16';

beforeAll(async () => { await useBackend(); });

/** A model with non-trivial head weights so the round trip is not identity-vs-identity. */
function perturbedModel(): AlignmentModel {
  const m = new AlignmentModel(defaultStnConfig({ locSize: 64, seed: 7 }));
  m.params.assign('head.fc2.weight', tf.randomNormal([256, 5], 0, 0.05, 'float32', 1));
  m.params.assign('head.fc2.bias', tf.tensor1d([0.1, -0.1, 0.2, -0.2, 0.05]));
  return m;
}

const input = () => tf.randomUniform([2, 64, 64, 1], 0, 1, 'float32', 4) as tf.Tensor4D;

describe('weights I/O', () => {
  it('float32 save → load gives identical outputs', async () => {
    const m = perturbedModel();
    const x = input();
    const a = m.predictParams(x);
    const files = modelFiles(await serializeModel(m));
    expect(files.size).toBeGreaterThan(2); // model.json + several 4 MiB shards
    const { json, weightData } = await readModelFiles(async (n) => files.get(n)!);
    const { model: m2 } = deserializeModel(json, weightData);
    const b = m2.predictParams(x);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(m2.config).toEqual(m.config);
    tf.dispose([x, a, b]);
    m.dispose(); m2.dispose();
  });

  it('float16 storage halves the file and keeps outputs within half precision', async () => {
    const m = perturbedModel();
    const full = await serializeModel(m);
    const half = await serializeModel(m, { float16: true });
    expect(half.weightData.byteLength).toBe(full.weightData.byteLength / 2);
    const { model: m2 } = deserializeModel(half.modelJson, half.weightData);
    const x = input();
    const a = m.predictParams(x);
    const b = m2.predictParams(x);
    expect(a.sub(b).abs().max().dataSync()[0]).toBeLessThan(2e-3);
    tf.dispose([x, a, b]);
    m.dispose(); m2.dispose();
  });

  it('encodes float16 bits exactly for representative values', () => {
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(-2)).toBe(0xc000);
    expect(toHalfBits(65504)).toBe(0x7bff);
    expect(toHalfBits(1e6)).toBe(0x7c00);
    expect(toHalfBits(5.960464477539063e-8)).toBe(0x0001);
    expect(toHalfBits(0.1)).toBe(0x2e66);
  });

  it('refuses mismatched files with a clear message and leaks nothing', async () => {
    const m = perturbedModel();
    const art = await serializeModel(m);
    const before = tf.memory().numTensors;
    const bad = structuredClone(art.modelJson);
    bad.weightsManifest[0].weights[0].shape = [3, 3, 3, 64];
    expect(() => deserializeModel(bad, art.weightData, 'bad/model.json')).toThrow(/bad\/model.json: weight file has \d+ bytes|shape/);
    const renamed = structuredClone(art.modelJson);
    renamed.weightsManifest[0].weights[0].name = 'encoder.conv0.weight';
    expect(() => deserializeModel(renamed, art.weightData, 'x.json')).toThrow(/x.json: missing parameter encoder.conv1.weight/);
    expect(() => deserializeModel({ format: 'layers-model' }, art.weightData, 'vgg.json')).toThrow(/vgg.json: not a cxr-align model/);
    expect(() => deserializeModel(art.modelJson, art.weightData.subarray(0, 100), 'cut.json')).toThrow(/cut.json: weight file has 100 bytes/);
    const wrongCfg = { ...art.modelJson, config: { ...art.modelJson.config, head: 'mystery' } };
    expect(() => deserializeModel(wrongCfg, art.weightData, 'c.json')).toThrow(/c.json: .*unknown head/);
    await expect(readModelFiles(async () => { throw new Error('ENOENT'); }, 'gone')).rejects.toThrow(/gone: cannot read model.json/);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});
