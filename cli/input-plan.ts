/**
 * The whole, ordered list of films a run covers, before it is sharded: the
 * command line's files and folders, then the --list's entries. Every shard of
 * a run builds the same plan, so a film's position in it is what orders
 * transforms.json whether the run was sharded or not, and two films that
 * would write the same output are told apart the same way in every shard:
 * by the engine's one naming rule (outputNames), the later one in the plan
 * gets "-2", "-3", … (names differing only in case clash too).
 */
import { createHash } from 'node:crypto';
import { outputNames } from '../src/engine/export/output-names';
import { collectInputs } from './files';
import { readFileList, type FileListOptions } from './file-list';

export type PlanItem =
  | { key: string; path: string; outRel: string; reason?: undefined }
  /** Known to fail before it is read (no such input). */
  | { key: string; reason: string; path?: undefined; outRel?: undefined };

export interface InputPlan {
  items: PlanItem[];
  /** Folder entries skipped for their extension. */
  skipped: number;
  /** List rows that name no film. */
  problems: string[];
  /** Films whose output name another film took first, and the name they get instead. */
  renamed: string[];
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
  // Two films must not write the same output file: the later in the plan gets a suffix.
  const at = items.flatMap((it, i) => (it.reason === undefined ? [i] : []));
  const names = outputNames(at.map((i) => items[i].outRel!));
  const owner = new Map<string, string>();
  const renamed: string[] = [];
  at.forEach((i, k) => {
    const it = items[i];
    if (names[k] !== it.outRel) {
      renamed.push(`${it.key} and ${owner.get(it.outRel!.toLowerCase()) ?? 'another film'} would both write ${it.outRel}; ${it.key} is written as ${names[k]}`);
      items[i] = { ...it, outRel: names[k] } as PlanItem;
    }
    owner.set(names[k].toLowerCase(), it.key);
  });
  const h = createHash('sha256');
  for (const it of items) h.update(`${JSON.stringify(it.key)}\n`);
  return { items, skipped, problems, renamed, sha256: h.digest('hex') };
}
