/**
 * Turning command-line inputs (files and folders) into a sorted list of image
 * files, each with the name it is reported under and where its output goes.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join, posix, sep } from 'node:path';
import { outputName as engineOutputName } from '../src/engine/export/output-names';

/** Extensions a folder walk picks up. Extensionless files are included too (PACS exports often have none). */
export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.dcm', '.dicom', '.dic']);

export interface InputFile {
  /** Path to open. */
  path: string;
  /** The input as the user gave it (folder inputs: the folder as given joined with the path inside it), with forward slashes. */
  key: string;
  /** Output path relative to the output folder (always .png). */
  outRel: string;
}

export interface CollectResult {
  files: InputFile[];
  /** Inputs that do not exist or cannot be read, with a reason. */
  missing: { key: string; reason: string }[];
  /** Files in folders skipped because their extension is not an image's. */
  skipped: number;
}

export const toPosix = (p: string) => p.split(sep).join('/');

function isImageName(name: string): boolean {
  const ext = extname(name).toLowerCase();
  return ext === '' || IMAGE_EXTENSIONS.has(ext);
}

/** Every file under `dir`, recursively, sorted, hidden entries skipped. */
export function walkFolder(dir: string): { files: string[]; skipped: number } {
  const files: string[] = [];
  let skipped = 0;
  const visit = (rel: string) => {
    const entries = readdirSync(join(dir, rel), { withFileTypes: true })
      .filter((e) => !e.name.startsWith('.'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) visit(r);
      else if (e.isFile() || e.isSymbolicLink()) {
        if (isImageName(e.name)) files.push(r);
        else skipped++;
      }
    }
  };
  visit('');
  return { files, skipped };
}

/**
 * Where a film's output goes under --out: the engine's one naming rule
 * (src/engine/export/output-names.ts: the image extension swapped for .png,
 * unsafe characters replaced). Clashes between films are settled over the
 * whole plan (input-plan.ts), not here.
 */
export function outputName(rel: string): string {
  return engineOutputName(rel);
}

/**
 * Expand inputs. A folder contributes every image below it, written under the
 * same relative path; a file given directly is written under its base name.
 */
export function collectInputs(inputs: readonly string[]): CollectResult {
  const files: InputFile[] = [];
  const missing: CollectResult['missing'] = [];
  let skipped = 0;
  for (const input of inputs) {
    let st;
    try {
      st = statSync(input);
    } catch (e) {
      missing.push({ key: toPosix(input), reason: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (e as Error).message });
      continue;
    }
    if (st.isDirectory()) {
      const w = walkFolder(input);
      skipped += w.skipped;
      const base = toPosix(input).replace(/\/+$/, '');
      for (const rel of w.files) files.push({ path: join(input, rel), key: posix.join(base, rel), outRel: outputName(rel) });
    } else {
      files.push({ path: input, key: toPosix(input), outRel: outputName(basename(input)) });
    }
  }
  return { files, missing, skipped };
}
