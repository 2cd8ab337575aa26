/**
 * The model folder in the workbench: which weights open (saved in this
 * browser → the shipped models/default → the identity model), loading a
 * folder or zip, resetting, saving in this browser and "Download weights".
 * Every path reads and writes the engine's one model-folder schema, template
 * included.
 */
import { strToU8, zipSync } from 'fflate';
import {
  AlignmentModel, defaultStnConfig, deserializeModel, emptyMetadata, modelFolderFiles, readMetadata, readModelFolder, resolveTemplate, serializeModel, tf, TEMPLATE_FILE,
  type ModelMetadata, type ReadFolder,
} from '../../../engine';
import { withTransfer } from '../dispatcher';
import type { ModelChange, ModelInfo, NamedBytes } from '../protocol';
import { baseName, filesByName, vggFromFiles, type Session, type TemplateState } from '../session';
import { describeTemplate } from './template';

export const IDENTITY_LABEL = 'identity model — no trained weights shipped yet';
export const CANONICAL = 'models/canonical-chest.png';
const HISTORY_KEEP = 20_000;

function describe(s: Session, kind: ModelInfo['kind'], label: string, extra: Partial<ModelInfo> = {}): ModelInfo {
  const m = s.model;
  const info: ModelInfo = { kind, label, locSize: m.config.locSize, frame: { ...m.config.frame }, head: m.config.head };
  if (s.metadata.steps > 0) info.steps = s.metadata.steps;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) (info as unknown as Record<string, unknown>)[k] = v;
  return info;
}

/** The template of a model folder by the engine's rule: its own template.png, else the shipped canonical chest, else a stand-in. */
async function templateOf(s: Session, folder: { name: string; bytes: Uint8Array | null } | undefined): Promise<TemplateState> {
  const t = resolveTemplate({ model: folder, canonical: { name: CANONICAL, bytes: await s.deps.fetchAsset(CANONICAL) } });
  const label = t.origin === 'model' ? `the model's template (${t.name})`
    : t.origin === 'canonical' ? `canonical chest (${CANONICAL})` : `generated stand-in (${CANONICAL} is missing)`;
  return { image: t.image, source: t.origin === 'generated' ? 'generated' : 'shipped', label, bytes: t.bytes };
}

async function adopt(s: Session, read: ReadFolder | { model: AlignmentModel; metadata: ModelMetadata; template: Uint8Array | null }, templateName: string): Promise<void> {
  try { s.model?.dispose(); } catch { /* a lost device's model */ }
  s.model = read.model;
  s.metadata = read.metadata;
  s.modelTemplate = await templateOf(s, read.template ? { name: templateName, bytes: read.template } : undefined);
  s.template = s.modelTemplate;
  s.scoreCache = null;
  s.resultsStale();
}

/** Saved fine-tuned weights first, then the shipped default, then the identity model. */
export async function startupModel(s: Session): Promise<void> {
  let note: string | undefined;
  try {
    const saved = await s.deps.weightStore.load();
    if (saved) {
      const { model, extras, metadata } = deserializeModel(saved.modelJson, saved.weightData, 'weights saved in this browser');
      tf.dispose([...extras.values()]);
      const r = { model, metadata: readMetadata(metadata), template: saved.template ?? null };
      await adopt(s, r, `${TEMPLATE_FILE} saved with the weights`);
      s.modelInfo = describe(s, saved.kind, `${saved.label} (restored from this browser)`, { savedAt: saved.savedAt });
      return;
    }
  } catch (e) {
    note = `weights saved in this browser could not be used (${(e as Error).message}); the default model is loaded instead`;
  }
  await defaultModel(s, note);
}

/** models/default (the engine's model folder, template.png included) when present, else the identity model. */
async function defaultModel(s: Session, note?: string): Promise<void> {
  try {
    if (await s.deps.fetchAsset('models/default/model.json')) {
      const r = await readModelFolder((name) => s.deps.fetchAsset(`models/default/${name}`), 'models/default/model.json');
      await adopt(s, r, `models/default/${TEMPLATE_FILE}`);
      s.modelInfo = describe(s, 'shipped', 'shipped default model (models/default)', { note });
      return;
    }
  } catch (e) {
    note = [note, `models/default could not be loaded (${(e as Error).message}); using the identity model`].filter(Boolean).join('. ');
  }
  await adopt(s, { model: new AlignmentModel(defaultStnConfig()), metadata: emptyMetadata(), template: null }, '');
  s.modelInfo = describe(s, 'identity', IDENTITY_LABEL, { note });
}

/** The model folder's files for the current weights and the template they were trained to match. */
export async function currentFolder(s: Session): Promise<Map<string, Uint8Array>> {
  return modelFolderFiles(s.model, { metadata: folderMetadata(s), template: folderTemplate(s) });
}

/** The template.png the weights carry: none for the generated stand-in (a folder without one falls back to the canonical chest). */
function folderTemplate(s: Session): Uint8Array | null {
  return s.modelTemplate.source === 'generated' ? null : s.modelTemplate.bytes;
}

function folderMetadata(s: Session): ModelMetadata {
  if (s.metadata.history.length > HISTORY_KEEP) s.metadata.history.splice(0, s.metadata.history.length - HISTORY_KEEP);
  return { ...s.metadata, backend: s.backend, savedAt: new Date().toISOString() };
}

export async function persist(s: Session, kind: 'fine-tuned' | 'loaded', label: string): Promise<void> {
  const { modelJson, weightData } = await serializeModel(s.model, { metadata: folderMetadata(s) as unknown as Record<string, unknown> });
  await s.deps.weightStore.save({ modelJson, weightData, kind, label, savedAt: new Date().toISOString(), template: folderTemplate(s) ?? undefined });
}

/** "Download weights": the model folder as a zip, the same files `cxr-align train` writes (template.png included). */
export async function exportWeights(s: Session): Promise<{ name: string; bytes: Uint8Array }> {
  const entries: Record<string, Uint8Array> = {};
  for (const [name, bytes] of await currentFolder(s)) entries[name] = bytes;
  // Float weights do not compress; storing keeps a 45 MB download instant.
  const bytes = zipSync(entries, { level: 0 });
  return withTransfer({ name: 'cxr-align-weights.zip', bytes }, [bytes.buffer as ArrayBuffer]);
}

export async function loadWeights(s: Session, files: NamedBytes[]): Promise<ModelChange> {
  const source = files.map((f) => f.name).join(', ') || 'no file';
  const map = filesByName(files, source);
  if (!map.has('model.json')) {
    throw new Error(`${source}: no model.json found. Load the weights zip saved from Export → "Download weights", or a model.json together with its .bin weight files.`);
  }
  const r = await readModelFolder(async (name) => map.get(name) ?? map.get(baseName(name)) ?? null, source);
  await adopt(s, r, `${TEMPLATE_FILE} from ${source}`);
  s.modelInfo = describe(s, 'loaded', `loaded from ${source}`);
  try { await persist(s, 'loaded', s.modelInfo.label); } catch (e) {
    s.modelInfo.note = `not saved in this browser (${(e as Error).message})`;
  }
  return { model: s.modelInfo, history: [...s.metadata.history], template: describeTemplate(s) };
}

export async function resetWeights(s: Session): Promise<ModelChange> {
  await s.deps.weightStore.clear();
  await defaultModel(s);
  return { model: s.modelInfo, history: [...s.metadata.history], template: describeTemplate(s) };
}

export async function loadVgg(s: Session, files: NamedBytes[]): Promise<{ description: string }> {
  const net = vggFromFiles(files);
  s.vgg?.net.params.dispose();
  s.vgg = { net, files };
  return { description: net.description };
}

/** After training: the weights now match the template they were trained on, and say how many steps are behind them. */
export function fineTuned(s: Session, steps: number): ModelInfo {
  s.modelTemplate = s.template;
  s.metadata.steps = steps;
  s.modelInfo = describe(s, 'fine-tuned', `fine-tuned in this browser (${steps} steps)`, { savedAt: new Date().toISOString() });
  return s.modelInfo;
}

