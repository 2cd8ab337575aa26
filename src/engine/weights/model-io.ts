import * as tf from '../tf';
import { AlignmentModel } from '../models/stn/stn';
import { validateStnConfig, type StnConfig } from '../models/stn/config';
import { encodeFloat16 } from './float16';
import { TextDecoder, TextEncoder } from '../host';

/**
 * cxr-align's model files are tfjs's weights format: a model.json whose
 * `weightsManifest` lists named, shaped tensors in one binary file
 * (float32, or float16 via tfjs's own `quantization: {dtype: 'float16'}`),
 * so tfjs's io.decodeWeights reads them. Beside the manifest sits the model
 * config, and optionally training state (a checkpoint).
 */
export const WEIGHTS_FILE = 'weights.bin';
/** tfjs's own shard size: small files cache and transfer well, and stay far from any size limit. */
export const SHARD_BYTES = 4 * 1024 * 1024;

export interface ModelJson {
  format: 'cxr-align-stn';
  generatedBy: string;
  config: StnConfig;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  /** Free-form: training settings, loss history, checkpoint state. */
  userDefinedMetadata?: Record<string, unknown>;
}

export interface ModelArtifacts {
  modelJson: ModelJson;
  /** All weights, in manifest order (the shards concatenated). */
  weightData: Uint8Array;
}

/** The files of a model folder: model.json and its weight shards, named as the manifest says. */
export function modelFiles(art: ModelArtifacts): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  files.set('model.json', new TextEncoder().encode(JSON.stringify(art.modelJson, null, 1)));
  const paths = art.modelJson.weightsManifest[0].paths;
  paths.forEach((p, i) => files.set(p, art.weightData.subarray(i * SHARD_BYTES, Math.min((i + 1) * SHARD_BYTES, art.weightData.byteLength))));
  return files;
}

/** Read a model folder given a way to fetch its files (fs in Node, fetch or a zip in the browser). */
export async function readModelFiles(read: (name: string) => Promise<Uint8Array>, source = 'model.json'): Promise<{ json: unknown; weightData: Uint8Array }> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(await read('model.json')));
  } catch (e) {
    throw new Error(`${source}: cannot read model.json: ${(e as Error).message}`);
  }
  const manifest = (json as Partial<ModelJson>)?.weightsManifest;
  if (!Array.isArray(manifest) || manifest.length !== 1 || !Array.isArray(manifest[0].paths)) {
    throw new Error(`${source}: not a cxr-align model (no weightsManifest with weight files)`);
  }
  const parts: Uint8Array[] = [];
  for (const p of manifest[0].paths) {
    try { parts.push(await read(p)); } catch (e) { throw new Error(`${source}: weight file ${p} is missing or unreadable: ${(e as Error).message}`); }
  }
  const total = parts.reduce((n, b) => n + b.byteLength, 0);
  const weightData = new Uint8Array(total);
  let o = 0;
  for (const b of parts) { weightData.set(b, o); o += b.byteLength; }
  return { json, weightData };
}

export interface SerializeOptions {
  float16?: boolean;
  /** Extra named tensors (e.g. optimizer moments), stored as float32 under their names. */
  extraTensors?: Map<string, tf.Tensor>;
  metadata?: Record<string, unknown>;
}

export async function serializeModel(model: AlignmentModel, opts: SerializeOptions = {}): Promise<ModelArtifacts> {
  const entries: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  const push = async (name: string, t: tf.Tensor, half: boolean) => {
    const values = (await t.data()) as Float32Array;
    if (half) {
      entries.push({ name, shape: t.shape, dtype: 'float32', quantization: { dtype: 'float16' } });
      chunks.push(new Uint8Array(encodeFloat16(values).buffer));
    } else {
      entries.push({ name, shape: t.shape, dtype: 'float32' });
      chunks.push(new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)));
    }
  };
  for (const [name, v] of model.params.entries()) await push(name, v, !!opts.float16);
  for (const [name, t] of opts.extraTensors ?? []) await push(name, t, false);
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const weightData = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) { weightData.set(c, o); o += c.byteLength; }
  return {
    modelJson: {
      format: 'cxr-align-stn',
      generatedBy: 'cxr-align',
      config: model.config,
      weightsManifest: [{ paths: shardNames(total), weights: entries }],
      ...(opts.metadata ? { userDefinedMetadata: opts.metadata } : {}),
    },
    weightData,
  };
}

function shardNames(bytes: number): string[] {
  const n = Math.max(1, Math.ceil(bytes / SHARD_BYTES));
  return n === 1 ? [WEIGHTS_FILE] : Array.from({ length: n }, (_, i) => `weights-shard${i + 1}of${n}.bin`);
}

export interface LoadedModel {
  model: AlignmentModel;
  /** Tensors in the file that are not model parameters (e.g. optimizer state); caller disposes. */
  extras: Map<string, tf.Tensor>;
  metadata: Record<string, unknown>;
}

/**
 * Build a model from model.json + weights. Every parameter must be present
 * with its exact shape; any mismatch is refused with a message naming the
 * file and the first problem, and nothing is leaked.
 */
export function deserializeModel(json: unknown, weightData: ArrayBuffer | Uint8Array, source = 'model.json'): LoadedModel {
  const fail = (why: string): never => { throw new Error(`${source}: ${why}`); };
  if (typeof json !== 'object' || json === null) fail('not a JSON object');
  const mj = json as Partial<ModelJson>;
  if (mj.format !== 'cxr-align-stn') {
    fail(`not a cxr-align model (format ${JSON.stringify(mj.format ?? null)}; expected "cxr-align-stn")`);
  }
  let config: StnConfig;
  try { config = validateStnConfig(mj.config); } catch (e) { return fail((e as Error).message); }
  if (!Array.isArray(mj.weightsManifest) || mj.weightsManifest.length !== 1) fail('weightsManifest must hold one group');
  const specs = mj.weightsManifest![0].weights;
  const bytes = weightData instanceof Uint8Array ? weightData : new Uint8Array(weightData);
  const expected = specs.reduce((n, s) => n + tf.util.sizeFromShape(s.shape) * (s.quantization?.dtype === 'float16' ? 2 : 4), 0);
  if (bytes.byteLength !== expected) fail(`weight file has ${bytes.byteLength} bytes, the manifest describes ${expected}`);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const tensors = tf.io.decodeWeights(buffer, specs);
  const model = new AlignmentModel(config!);
  const extras = new Map<string, tf.Tensor>();
  try {
    const names = new Set(model.params.names());
    for (const name of names) {
      const t = tensors[name];
      if (!t) fail(`missing parameter ${name}`);
      const want = model.params.get(name).shape;
      if (!tf.util.arraysEqual(t.shape, want)) fail(`parameter ${name} has shape ${JSON.stringify(t.shape)}, expected ${JSON.stringify(want)}`);
      if (!t.dataSync().every(Number.isFinite)) fail(`parameter ${name} holds NaN or Inf`);
      model.params.assign(name, t);
    }
    for (const [name, t] of Object.entries(tensors)) {
      if (names.has(name)) t.dispose();
      else extras.set(name, t);
    }
  } catch (e) {
    model.dispose();
    tf.dispose(Object.values(tensors));
    throw e;
  }
  return { model, extras, metadata: mj.userDefinedMetadata ?? {} };
}
