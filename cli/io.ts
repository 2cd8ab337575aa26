/** Small file helpers shared by the commands. */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UsageError } from './args';

/** Write a file atomically: a temporary sibling, then a rename. */
/** The text of a file an option names, or a UsageError naming both ("--list a.csv: no such file"). */
export function readOptionFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UsageError(`${flag} ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
}

export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/**
 * Put a file in place under its final name only once it is complete: written
 * as a hidden sibling (folder walks skip it), then renamed. The sibling's name
 * is fixed, not per process, so the leftover of a killed run is overwritten
 * when the file is written again instead of piling up; callers never write
 * one path from two processes at once.
 */
export function replaceFileSync(path: string, data: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.partial`);
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/**
 * Replace folder `dir` with the files given, so that a crash while writing
 * never leaves a half-written folder in place of the last good one.
 */
export async function writeFolderAtomic(dir: string, files: Map<string, Uint8Array>): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const [name, bytes] of files) await writeFile(join(tmp, name), bytes);
  let hadOld = false;
  try {
    await rename(dir, old);
    hadOld = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await rename(tmp, dir);
  if (hadOld) await rm(old, { recursive: true, force: true });
}

