/**
 * `cxr-align merge`: the journals of an align run's shards → one
 * transforms.json / transforms.csv, byte for byte what the run unsharded
 * writes (transforms-out.ts is the one writer; films are in plan order).
 *
 * Journals of different models, frames or refinement, of different splits
 * (N) or of different input lists are refused, not mixed. What the shards do
 * not cover is named: films a shard's plan holds but its journal has not
 * finished, and the films of shards with no journal at all (named with
 * --list, counted without it); films that two journals both cover are named
 * as duplicated and taken from the first.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { formatOptions, parseArgs, UsageError, type OptionSpecs } from '../args';
import { planInputs } from '../input-plan';
import { findJournals, JournalError, readJournal, settingsDiffer, type DoneLine, type FailedLine, type Journal } from '../journal';
import { writeFileAtomicSync } from '../io';
import { shardOf } from '../shard';
import { transformsPaths, writeTransforms } from '../transforms-out';
import type { FileListOptions } from '../file-list';

export interface MergeOptions {
  /** Output folders of align runs (their journals are found there) or journal files. */
  sources: string[];
  /** Where transforms.json/.csv go (default: the one source folder). */
  out?: string;
  /** The run's --list, to name the films of shards that left no journal. */
  list?: FileListOptions;
  log?: (msg: string) => void;
}

export interface MergeSummary {
  journals: string[];
  shards: number;
  aligned: number;
  failed: { key: string; reason: string }[];
  /** Films the run covers that no journal finished. */
  missing: string[];
  /** Films of shards without a journal, when they could not be named (no --list). */
  missingUnnamed: number;
  duplicated: string[];
  /** Shards with no journal. */
  missingShards: number[];
  transformsJson: string;
  transformsCsv: string;
}

const NAMED = 20;

function listSome(xs: readonly string[], rest = ''): string {
  return `${xs.slice(0, NAMED).map((x) => `  ${x}`).join('\n')}${xs.length > NAMED ? `\n  … and ${xs.length - NAMED} more${rest}` : ''}`;
}

function journalPaths(sources: readonly string[]): { paths: string[]; problems: string[] } {
  const paths: string[] = [];
  const problems: string[] = [];
  for (const s of sources) {
    let dir = false;
    try {
      dir = statSync(s).isDirectory();
    } catch {
      problems.push(`${s}: no such folder or journal`);
      continue;
    }
    const found = dir ? findJournals(s) : [s];
    if (found.length === 0) problems.push(`${s}: no align journal in it (journal.jsonl or journal-K-of-N.jsonl)`);
    paths.push(...found);
  }
  // A journal named twice (its folder and itself) is one journal, not a duplicate shard.
  const seen = new Set<string>();
  return { paths: paths.filter((p) => !seen.has(resolve(p)) && !!seen.add(resolve(p))), problems };
}

export function mergeCommand(opts: MergeOptions): MergeSummary {
  const log = opts.log ?? ((m: string) => console.error(m));
  if (opts.sources.length === 0) throw new UsageError('merge needs the output folders (or journals) of the shards');
  const out = opts.out ?? (opts.sources.length === 1 ? (existsSync(opts.sources[0]) && statSync(opts.sources[0]).isDirectory() ? opts.sources[0] : dirname(opts.sources[0])) : undefined);
  if (!out) throw new UsageError('merge of several folders needs --out DIR for transforms.json');

  const found = journalPaths(opts.sources);
  for (const p of found.problems) log(`error: ${p}`);
  const journals: Journal[] = [];
  for (const p of found.paths) {
    try {
      journals.push(readJournal(p));
    } catch (e) {
      if (!(e instanceof JournalError)) throw e;
      log(`error: ${e.message}; its films count as missing`);
    }
  }
  if (journals.length === 0) throw new Error('no journal to merge');

  // One run: the same settings, split and list throughout, else nothing is written.
  const ref = journals[0];
  const clash: string[] = [];
  for (const j of journals.slice(1)) {
    const diff = settingsDiffer(ref.header.settings, j.header.settings);
    if (diff.length) clash.push(`${j.path} was made with other settings than ${ref.path} (${diff.join('; ')})`);
    if (j.header.shard.count !== ref.header.shard.count) clash.push(`${j.path} is shard ${j.header.shard.index}/${j.header.shard.count}, ${ref.path} one of ${ref.header.shard.count}`);
    else if (j.header.inputs.sha256 !== ref.header.inputs.sha256) {
      clash.push(`${j.path} covers another input list than ${ref.path} (${j.header.inputs.count} vs ${ref.header.inputs.count} film(s), or the same number in another order)`);
    }
  }
  if (clash.length) throw new Error(`refusing to merge journals of different runs:\n${clash.map((c) => `  ${c}`).join('\n')}`);
  const backends = new Set(journals.map((j) => j.header.backend));
  if (backends.size > 1) log(`note: the shards ran on different backends (${[...backends].join(', ')}); matrices agree to rounding only`);

  const N = ref.header.shard.count;
  const byShard = new Map<number, Journal[]>();
  for (const j of journals) byShard.set(j.header.shard.index, [...(byShard.get(j.header.shard.index) ?? []), j]);
  for (const [k, js] of byShard) if (js.length > 1) log(`note: shard ${k}/${N} has ${js.length} journals (${js.map((j) => j.path).join(', ')}); films in more than one are taken from the first`);
  for (const j of journals) {
    if (!j.end) log(`note: ${j.path} has no end line: that run is still going, or was killed (align --resume continues it)`);
    if (j.badLines.length) log(`note: ${j.path}: ${j.badLines.length} unreadable line(s) ignored`);
  }

  const done = new Map<number, DoneLine>();
  const failed = new Map<number, FailedLine>();
  const from = new Map<number, string>();
  const duplicated: string[] = [];
  const planned = new Map<number, string>();
  for (const k of [...byShard.keys()].sort((a, b) => a - b)) {
    for (const j of byShard.get(k)!) {
      for (const [i, key] of j.plan) planned.set(i, key);
      const take = (i: number, key: string, put: () => void) => {
        const first = from.get(i);
        if (first !== undefined) { if (first !== j.path) duplicated.push(`${key} (in ${first} and ${j.path})`); return; }
        from.set(i, j.path);
        put();
      };
      for (const d of j.done.values()) take(d.i, d.key, () => done.set(d.i, d));
      for (const f of j.failed.values()) take(f.i, f.key, () => failed.set(f.i, f));
    }
  }
  const missingShards = Array.from({ length: N }, (_, k) => k).filter((k) => !byShard.has(k));
  const missingAt = [...planned.keys()].filter((i) => !from.has(i));
  let missingUnnamed = 0;
  if (missingShards.length) {
    if (opts.list) {
      const plan = planInputs([], opts.list);
      if (plan.sha256 !== ref.header.inputs.sha256) {
        throw new Error(`--list ${opts.list.list} names other films than the run's list (${plan.items.length} vs ${ref.header.inputs.count} film(s), or another order)`);
      }
      const gone = new Set(missingShards);
      plan.items.forEach((it, i) => { if (gone.has(shardOf(it.key, N))) { planned.set(i, it.key); missingAt.push(i); } });
    } else {
      missingUnnamed = ref.header.inputs.count - planned.size;
    }
  }
  missingAt.sort((a, b) => a - b);
  const missing = missingAt.map((i) => planned.get(i)!);

  const paths = transformsPaths(out);
  writeTransforms(paths, ref.header.settings, done.values(), failed.values());
  // Listed in the run's own terms, so `align --list merge-missing.txt` (same --root) redoes them.
  const missingFile = join(out, 'merge-missing.txt');
  if (missing.length) writeFileAtomicSync(missingFile, `${missing.join('\n')}\n`);
  else rmSync(missingFile, { force: true });

  const failedList = [...failed.values()].sort((a, b) => a.i - b.i).map((f) => ({ key: f.key, reason: f.reason }));
  const covered = [...byShard.keys()].sort((a, b) => a - b);
  log(`merged ${journals.length} journal(s) of ${N === 1 ? 'an unsharded run' : `shards ${covered.join(', ')} of ${N}`}: `
    + `${done.size} aligned, ${failedList.length} failed, ${missing.length + missingUnnamed} missing, ${duplicated.length} duplicated, `
    + `of the run's ${ref.header.inputs.count} film(s)`);
  if (failedList.length) log(`failed (kept in transforms.json with their reasons):\n${listSome(failedList.map((f) => `${f.key}: ${f.reason}`))}`);
  if (missingShards.length) {
    log(`error: no journal for shard(s) ${missingShards.map((k) => `${k}/${N}`).join(', ')}`
      + `${missingUnnamed ? `: ${missingUnnamed} film(s) not covered (merge --list names them)` : ''}`);
  }
  if (missing.length) log(`error: ${missing.length} film(s) missing (listed in ${missingFile}):\n${listSome(missing)}`);
  if (duplicated.length) log(`error: ${duplicated.length} film(s) duplicated:\n${listSome(duplicated)}`);
  log(`wrote ${paths.json} and ${paths.csv}`);
  return {
    journals: journals.map((j) => j.path), shards: N, aligned: done.size, failed: failedList, missing, missingUnnamed, duplicated, missingShards,
    transformsJson: paths.json, transformsCsv: paths.csv,
  };
}

export const MERGE_OPTIONS: OptionSpecs = {
  out: { type: 'string', meta: 'DIR', alias: 'o', help: 'where transforms.json and transforms.csv go (default: the folder given, when there is one)' },
  list: { type: 'string', meta: 'FILE', help: 'the run\'s --list, to name the films of shards that left no journal' },
  column: { type: 'string', meta: 'NAME', help: 'the --list CSV\'s column of paths, as given to align' },
  root: { type: 'string', meta: 'DIR', help: 'the --root given to align' },
};

export const MERGE_USAGE = `Usage: cxr-align merge <folders or journals…> [--out DIR] [--list FILE]

Joins the journals that "cxr-align align --shard K/N" runs leave in their
output folders (journal-K-of-N.jsonl) into one transforms.json and
transforms.csv, identical to what one unsharded run writes: the same films in
the same order, the failed ones with their reasons. Names the films no journal
finished (also written to merge-missing.txt, one a line, usable as an align
--list) and those two journals both cover. Exit code 1 when any film failed,
is missing or is duplicated.

${formatOptions(MERGE_OPTIONS)}

Examples:
  cxr-align merge aligned/                       # all shards wrote into aligned/
  cxr-align merge runs/shard-* --out aligned/`;

export async function runMerge(argv: string[]): Promise<number> {
  const a = parseArgs(argv, MERGE_OPTIONS);
  const v = a.values;
  if (v.list === undefined && (v.column !== undefined || v.root !== undefined)) throw new UsageError('--column and --root go with --list');
  const list = v.list === undefined ? undefined : { list: v.list as string, column: v.column as string | undefined, root: v.root as string | undefined };
  const s = mergeCommand({ sources: a.positionals, out: v.out as string | undefined, list });
  return s.failed.length || s.missing.length || s.missingUnnamed || s.duplicated.length ? 1 : 0;
}
