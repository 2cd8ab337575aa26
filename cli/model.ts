/** Loading models and images from disk for the commands. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AlignmentModel, decodeImage, defaultStnConfig, deserializeModel, readModelFiles, tf,
  type GrayImage, type StnConfig,
} from '../src/engine/index';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_MODEL_DIR = join(REPO_ROOT, 'models/default');
export const DEFAULT_TEMPLATE = join(REPO_ROOT, 'models/canonical-chest.png');

export interface LoadedCliModel {
  model: AlignmentModel;
  /** Where it came from, for messages and transforms.json. */
  description: string;
  metadata: Record<string, unknown>;
  /** The untrained identity model was used (no weights found). */
  untrained: boolean;
}

/** A model folder, or a model.json inside one → the folder. */
export function modelDir(path: string): string {
  return existsSync(path) && statSync(path).isFile() && basename(path) === 'model.json' ? dirname(path) : path;
}

/**
 * Load a model folder (model.json + weight shards, as `serializeModel` writes
 * and as `train` checkpoints are). Tensors that are not model parameters
 * (optimizer state in a checkpoint) are disposed, or handed back when `keepExtras`.
 */
export async function loadModelDir(path: string, keepExtras = false): Promise<{ model: AlignmentModel; metadata: Record<string, unknown>; extras: Map<string, tf.Tensor> }> {
  const dir = modelDir(path);
  const source = join(dir, 'model.json');
  if (!existsSync(source)) throw new Error(`${source}: no such file (a model folder holds model.json and its weight files)`);
  const { json, weightData } = await readModelFiles(async (name) => new Uint8Array(await readFile(join(dir, name))), source);
  const { model, extras, metadata } = deserializeModel(json, weightData, source);
  if (!keepExtras) {
    tf.dispose([...extras.values()]);
    extras.clear();
  }
  return { model, metadata, extras };
}

/**
 * --model DIR, else models/default when it exists, else an untrained model
 * (the identity transform: the output is a plain resize) with a notice.
 */
export async function loadCliModel(path: string | undefined, notice: (msg: string) => void, config?: Partial<StnConfig>): Promise<LoadedCliModel> {
  if (path) {
    const { model, metadata } = await loadModelDir(path);
    return { model, description: modelDir(path), metadata, untrained: false };
  }
  if (existsSync(join(DEFAULT_MODEL_DIR, 'model.json'))) {
    const { model, metadata } = await loadModelDir(DEFAULT_MODEL_DIR);
    return { model, description: 'models/default', metadata, untrained: false };
  }
  notice('notice: no trained model at models/default/model.json and no --model given; using an untrained '
    + 'identity model, so outputs are plain resizes of the inputs to the frame.');
  return { model: new AlignmentModel(defaultStnConfig(config)), description: 'untrained identity model', metadata: {}, untrained: true };
}

/**
 * The template a model was trained to match: template.png in its folder
 * (train writes it there), else models/canonical-chest.png.
 */
export function modelTemplate(model?: string): string {
  const dir = model ? modelDir(model) : existsSync(join(DEFAULT_MODEL_DIR, 'model.json')) ? DEFAULT_MODEL_DIR : undefined;
  if (dir && existsSync(join(dir, 'template.png'))) return join(dir, 'template.png');
  return DEFAULT_TEMPLATE;
}

export function readImageFile(path: string, name = path): GrayImage {
  return decodeImage(new Uint8Array(readFileSync(path)), name);
}
