/** Loading models and images from disk for the commands. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AlignmentModel, decodeImage, defaultStnConfig, emptyMetadata, readModelFolder, resolveTemplate, tf, TEMPLATE_FILE,
  type GrayImage, type ModelMetadata, type ResolvedTemplate, type StnConfig,
} from '../src/engine/index';
import { UsageError } from './args';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_MODEL_DIR = join(REPO_ROOT, 'models/default');
export const DEFAULT_TEMPLATE = join(REPO_ROOT, 'models/canonical-chest.png');

export interface LoadedCliModel {
  model: AlignmentModel;
  /** Where it came from, for messages and transforms.json. */
  description: string;
  metadata: ModelMetadata;
  /** The untrained identity model was used (no weights found). */
  untrained: boolean;
}

/** A model folder, or a model.json inside one → the folder. */
export function modelDir(path: string): string {
  return existsSync(path) && statSync(path).isFile() && basename(path) === 'model.json' ? dirname(path) : path;
}

/**
 * Load a model folder (the engine's schema: model.json + weight shards +
 * template.png, as `train` writes final models and checkpoints). Tensors that
 * are not model parameters (a checkpoint's optimizer state) are disposed, or
 * handed back when `keepExtras`.
 */
export async function loadModelDir(path: string, keepExtras = false): Promise<{ model: AlignmentModel; metadata: ModelMetadata; extras: Map<string, tf.Tensor> }> {
  const dir = modelDir(path);
  const source = join(dir, 'model.json');
  if (!existsSync(source)) throw new Error(`${source}: no such file (a model folder holds model.json and its weight files)`);
  const r = await readModelFolder(async (name) => {
    const p = join(dir, name);
    return existsSync(p) ? new Uint8Array(await readFile(p)) : null;
  }, source, { keepExtras });
  return { model: r.model, metadata: r.metadata, extras: r.extras };
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
  return { model: new AlignmentModel(defaultStnConfig(config)), description: 'untrained identity model', metadata: emptyMetadata(), untrained: true };
}

/** The model folder whose template counts: --model, else models/default when it holds a model. */
export function templateModelDir(model?: string): string | undefined {
  if (model) return modelDir(model);
  return existsSync(join(DEFAULT_MODEL_DIR, 'model.json')) ? DEFAULT_MODEL_DIR : undefined;
}

function bytesIfPresent(path: string): Uint8Array | null {
  return existsSync(path) && statSync(path).isFile() ? new Uint8Array(readFileSync(path)) : null;
}

/**
 * The template for --refine (align, eval, canonical) and eval's --elastix, by
 * the engine's one rule (resolveTemplate): --template when given (a file that
 * does not exist is an error naming it), else the model folder's template.png
 * (--model, else models/default), else models/canonical-chest.png, else a
 * generated stand-in chest. Files passed over, and the stand-in, are noted.
 */
export function loadTemplate(explicitPath: string | undefined, modelPath: string | undefined, note: (msg: string) => void): ResolvedTemplate {
  let explicit: { name: string; bytes: Uint8Array } | undefined;
  if (explicitPath !== undefined) {
    const bytes = bytesIfPresent(explicitPath);
    if (!bytes) throw new UsageError(`--template ${explicitPath}: no such file`);
    explicit = { name: explicitPath, bytes };
  }
  const dir = templateModelDir(modelPath);
  const inModel = dir ? join(dir, TEMPLATE_FILE) : undefined;
  const t = resolveTemplate({
    explicit,
    model: inModel ? { name: inModel, bytes: bytesIfPresent(inModel) } : undefined,
    canonical: { name: DEFAULT_TEMPLATE, bytes: bytesIfPresent(DEFAULT_TEMPLATE) },
  });
  for (const n of t.notes) note(`note: ${n}`);
  if (t.origin === 'generated') note(`note: no template (${[inModel, DEFAULT_TEMPLATE].filter(Boolean).join(', ')} absent); using the ${t.name}`);
  return t;
}

export function readImageFile(path: string, name = path): GrayImage {
  return decodeImage(new Uint8Array(readFileSync(path)), name);
}
