/**
 * transforms.json / transforms.csv from journal records, for `align` and
 * `merge` alike: one path from records to bytes, so a merge of shards writes
 * exactly what one unsharded run does. Films are in plan order (their place in
 * the whole input list), the failed ones too.
 */
import { join } from 'node:path';
import { transformsCsv, transformsJson } from '../src/engine/export/transforms-file';
import { writeFileAtomicSync } from './io';
import type { DoneLine, FailedLine, RunSettings } from './journal';

export interface TransformsPaths { json: string; csv: string }

export function transformsPaths(dir: string, suffix = ''): TransformsPaths {
  return { json: join(dir, `transforms${suffix}.json`), csv: join(dir, `transforms${suffix}.csv`) };
}

export function writeTransforms(paths: TransformsPaths, settings: RunSettings, done: Iterable<DoneLine>, failed: Iterable<FailedLine>): void {
  const byPlace = <T extends { i: number }>(xs: Iterable<T>) => [...xs].sort((a, b) => a.i - b.i);
  const entries = byPlace(done).map((d) => ({ name: d.key, matrix: d.matrix, params: d.params, size: { width: d.size[0], height: d.size[1] } }));
  const bad = byPlace(failed).map((f) => ({ name: f.key, reason: f.reason }));
  writeFileAtomicSync(paths.csv, transformsCsv(entries));
  writeFileAtomicSync(paths.json, transformsJson(settings.frame, settings.model.name, entries, bad, settings.margin ?? undefined));
}
