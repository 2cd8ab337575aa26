/**
 * Test-only access to ../shared (real X-rays, masks, reference weights). It lives
 * beside the repository and never inside it; tests that need it skip with a
 * message naming the missing folder.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_DIR = resolve(REPO_ROOT, '../shared');
export const HAS_SHARED = existsSync(join(SHARED_DIR, 'data'));

if (!HAS_SHARED) {
  console.warn(`[cxr-align tests] ${SHARED_DIR} is absent: tests that read real X-rays are skipped.`);
}

export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR, ...parts);
}

/** The first `n` ChestX-ray14 PNG paths, sorted, so every run picks the same films. */
export function cxr14Files(n: number): string[] {
  const dir = sharedPath('data/cxr14/images');
  return readdirSync(dir).filter((f) => f.endsWith('.png')).sort().slice(0, n).map((f) => join(dir, f));
}

export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
