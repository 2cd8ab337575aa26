/**
 * Fingerprints of what an align run's outputs depend on besides the films:
 * the model's files and the refinement template. A journal records them so
 * that a resumed run or a merge never mixes films aligned by different models.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR, modelDir, type LoadedCliModel } from './model';

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/**
 * model.json and every weight file its manifest names, in manifest order; the
 * untrained identity model (no files) by its configuration.
 */
export function modelSha256(modelPath: string | undefined, loaded: LoadedCliModel): string {
  if (loaded.untrained) return sha256(`untrained identity model ${JSON.stringify(loaded.model.config)}`);
  const dir = modelPath ? modelDir(modelPath) : DEFAULT_MODEL_DIR;
  const json = readFileSync(join(dir, 'model.json'));
  const h = createHash('sha256').update(json);
  const manifest = (JSON.parse(json.toString('utf8')) as { weightsManifest?: { paths?: string[] }[] }).weightsManifest ?? [];
  for (const group of manifest) {
    for (const p of group.paths ?? []) {
      const f = join(dir, p);
      // The loader would have refused a missing shard already; hash its absence rather than throw here.
      h.update(existsSync(f) ? readFileSync(f) : `missing ${p}`);
    }
  }
  return h.digest('hex');
}

/** The sha256 of bytes in memory (a resolved template: the file's own hash when it came from one). */
export function bytesSha256(bytes: Uint8Array): string {
  return sha256(bytes);
}
