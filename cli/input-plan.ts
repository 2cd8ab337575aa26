/**
 * The whole, ordered list of films a run covers, before it is sharded: the
 * command line's files and folders, then the --list's entries. Every shard of
 * a run builds the same plan, so a film's position in it is what orders
 * transforms.json whether the run was sharded or not, and two films that
 * would write the same output are told apart the same way in every shard.
 */
import { createHash } from 'node:crypto';
import { collectInputs } from './files';
import { readFileList, type FileListOptions } from './file-list';

export type PlanItem =
  | { key: string; path: string; outRel: string; reason?: undefined }
  /** Known to fail before it is read (no such input, an output another film writes). */
  | { key: string; reason: string; path?: undefined; outRel?: undefined };

export interface InputPlan {
  items: PlanItem[];
  /** Folder entries skipped for their extension. */
  skipped: number;
  /** List rows that name no film. */
  problems: string[];
  /** Identifies the list (its keys, in order) so the shards of one run can be told from another's. */
  sha256: string;
}

export function planInputs(positionals: readonly string[], list?: FileListOptions): InputPlan {
  const items: PlanItem[] = [];
  let skipped = 0;
  // One input at a time: a missing input keeps its place among the others.
  for (const input of positionals) {
    const c = collectInputs([input]);
    skipped += c.skipped;
    for (const m of c.missing) items.push({ key: m.key, reason: m.reason });
    items.push(...c.files);
  }
  const problems: string[] = [];
  if (list) {
    const l = readFileList(list);
    problems.push(...l.problems);
    items.push(...l.files);
  }
  // Two inputs must not write the same output file: the first in the plan does.
  const owner = new Map<string, string>();
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it.reason !== undefined) continue;
    const prev = owner.get(it.outRel);
    if (prev !== undefined) items[i] = { key: it.key, reason: `its output ${it.outRel} is already written for ${prev}` };
    else owner.set(it.outRel, it.key);
  }
  const h = createHash('sha256');
  for (const it of items) h.update(`${JSON.stringify(it.key)}\n`);
  return { items, skipped, problems, sha256: h.digest('hex') };
}
