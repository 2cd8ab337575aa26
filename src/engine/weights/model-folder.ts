/**
 * The model folder, one schema for both hosts: model.json (config, weight
 * manifest, metadata) + weight shards + template.png, the template the model
 * was trained to match. `cxr-align train` writes it, `align`/`eval`/
 * `canonical` and the workbench read it, the workbench's "Download weights"
 * zips it: the template travels with the model everywhere.
 */
import * as tf from '../tf';
import type { Size } from '../affine/affine';
import type { LossSpec } from '../losses/alignment-loss';
import type { AlignmentModel } from '../models/stn/stn';
import type { TrainerSettings } from '../train/trainer';
import { deserializeModel, modelFiles, readModelFiles, serializeModel, type SerializeOptions } from './model-io';

export const TEMPLATE_FILE = 'template.png';

/** One training step as the loss plot and the model's history keep it. */
export interface StepPoint {
  step: number;
  loss: number;
  parts: Record<string, number>;
  lr: number;
  ms: number;
  skipped: boolean;
}

/** How the weights were last trained: enough to read the run back, not to replay it (train.jsonl and checkpoints do that). */
export interface TrainingRecord {
  by: 'cli' | 'workbench';
  /** The workbench's preset ("adapt", "similarity"); absent for the CLI. */
  preset?: string;
  settings: Partial<TrainerSettings> & { locSize?: number };
  loss: LossSpec;
  /** Films trained on. */
  films: number;
  /** Refinement steps behind the teacher matrices, when the run learnt from them. */
  teacherRefine?: number;
}

export interface ModelMetadata {
  /** Training steps behind these weights, over every run that led to them. */
  steps: number;
  /** Loss per step (newest last; the workbench keeps the last 20,000). */
  history: StepPoint[];
  training: TrainingRecord | null;
  /** The folder's template file (TEMPLATE_FILE) when it has one. */
  template: string | null;
  /** Free text: where the weights came from (the shipped model's stage, …). */
  note?: string;
  savedAt?: string;
  /** Backend the weights were last trained on. */
  backend?: string;
  /** A `train` checkpoint's run state (what --resume needs); absent in a final model. */
  train?: unknown;
}

export function emptyMetadata(): ModelMetadata {
  return { steps: 0, history: [], training: null, template: null };
}

/**
 * model.json's metadata in this schema, from any version: older CLI models
 * say `trainedSteps` and keep a prose `history`, older workbench exports a
 * `training` form; both read as they are meant.
 */
export function readMetadata(raw: Record<string, unknown> | undefined): ModelMetadata {
  const m = raw ?? {};
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const history = Array.isArray(m.history) ? (m.history as StepPoint[]).filter((p) => p && typeof p.loss === 'number' && typeof p.step === 'number') : [];
  const note = [typeof m.note === 'string' ? m.note : '', typeof m.history === 'string' ? m.history : ''].filter(Boolean).join('; ') || undefined;
  let training: TrainingRecord | null = null;
  const t = m.training as Partial<TrainingRecord> | null | undefined;
  if (t && typeof t === 'object' && (t.by === 'cli' || t.by === 'workbench') && t.loss) training = t as TrainingRecord;
  else if (t && typeof t === 'object') {
    // A workbench export before the schema: its settings form.
    const f = t as Record<string, unknown>;
    training = { by: 'workbench', settings: { steps: num(f.steps), batchSize: num(f.batchSize), lr: num(f.lr), locSize: num(f.locSize), frame: f.frame as Size | undefined }, loss: f.loss === 'perceptual' ? { kind: 'perceptual', lambda: num(f.lambda) ?? 20 } : { kind: 'lncc', window: 9 }, films: num(f.maxImages) ?? 0 };
  } else if (m.settings && typeof m.settings === 'object' && m.loss) {
    training = { by: 'cli', settings: m.settings as Partial<TrainerSettings>, loss: m.loss as LossSpec, films: 0 };
  }
  const out: ModelMetadata = {
    steps: num(m.steps) ?? num(m.trainedSteps) ?? 0,
    history,
    training,
    template: typeof m.template === 'string' ? TEMPLATE_FILE : null,
  };
  if (note) out.note = note;
  if (typeof m.savedAt === 'string') out.savedAt = m.savedAt;
  if (typeof m.backend === 'string') out.backend = m.backend;
  if (m.train !== undefined) out.train = m.train;
  return out;
}

export interface WriteFolderOptions extends Omit<SerializeOptions, 'metadata'> {
  metadata: ModelMetadata;
  /** PNG bytes of the template the model matches; written as template.png. */
  template?: Uint8Array | null;
}

/** The files of a model folder, by name. */
export async function modelFolderFiles(model: AlignmentModel, opts: WriteFolderOptions): Promise<Map<string, Uint8Array>> {
  const metadata: ModelMetadata = { ...opts.metadata, template: opts.template ? TEMPLATE_FILE : null };
  const art = await serializeModel(model, { ...opts, metadata: metadata as unknown as Record<string, unknown> });
  const files = modelFiles(art);
  if (opts.template) files.set(TEMPLATE_FILE, opts.template);
  return files;
}

export interface ReadFolder {
  model: AlignmentModel;
  metadata: ModelMetadata;
  /** template.png's bytes, null when the folder has none. */
  template: Uint8Array | null;
  /** Tensors that are not model parameters (a checkpoint's optimizer state); the caller disposes them. */
  extras: Map<string, tf.Tensor>;
}

/**
 * Read a model folder through `read` (a file of the folder by name; null when
 * absent). `source` names the folder in error messages.
 */
export async function readModelFolder(read: (name: string) => Promise<Uint8Array | null>, source: string, opts: { keepExtras?: boolean } = {}): Promise<ReadFolder> {
  const files = await readModelFiles(async (name) => {
    const b = await read(name);
    if (!b) throw new Error('not found');
    return b;
  }, source);
  const { model, extras, metadata } = deserializeModel(files.json, files.weightData, source);
  if (!opts.keepExtras) {
    tf.dispose([...extras.values()]);
    extras.clear();
  }
  let template: Uint8Array | null = null;
  try { template = await read(TEMPLATE_FILE); } catch { template = null; }
  return { model, metadata: readMetadata(metadata), template, extras };
}
