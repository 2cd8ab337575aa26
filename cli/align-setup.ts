/**
 * `align` before the first film: the plan and this shard's share of it, the
 * backend, the model and (with --refine) the template, and the journal —
 * which films an earlier run finished, which are known to fail, which to do.
 */
import { mkdirSync } from 'node:fs';
import type { AlignmentModel, GrayImage, Size } from '../src/engine/index';
import type { AlignOptions } from './commands/align';
import { setupBackend } from './backend';
import type { FileListOptions } from './file-list';
import { bytesSha256, modelSha256 } from './fingerprint';
import { planInputs, type InputPlan } from './input-plan';
import { JOURNAL_TOOL, JOURNAL_VERSION, type DoneLine, type FailedLine, type JournalHeader, type RunSettings } from './journal';
import { loadCliModel, loadTemplate } from './model';
import { startJournal, type ShardFilm, type StartedJournal } from './resume';
import { formatShard, shardOf, WHOLE, type Shard } from './shard';
import { defaultWasmThreads } from './wasm-threads';

/** A film to align, with its place in the whole plan. */
export interface Work { i: number; key: string; path: string; outRel: string }

export interface AlignSetup {
  shard: Shard;
  plan: InputPlan;
  /** This shard's films. */
  mine: ShardFilm[];
  backend: string;
  model: AlignmentModel;
  description: string;
  frame: Size | 'original';
  refine: number;
  /** The --refine template (undefined without --refine). */
  template?: GrayImage;
  settings: RunSettings;
  journal: StartedJournal;
  /** By place in the plan: what transforms.json lists, in that order. */
  done: Map<number, DoneLine>;
  failedAt: Map<number, FailedLine>;
  /** What this run aligns, in plan order. */
  work: Work[];
}

/** The whole plan (its notes logged) and the films of `shard`. */
export function planShard(inputs: readonly string[], list: FileListOptions | undefined, shard: Shard, log: (m: string) => void): { plan: InputPlan; mine: ShardFilm[] } {
  const plan = planInputs(inputs, list);
  for (const p of plan.problems) log(`note: ${p}`);
  for (const r of plan.renamed) log(`note: ${r}`);
  const mine: ShardFilm[] = [];
  plan.items.forEach((item, i) => { if (shardOf(item.key, shard.count) === shard.index) mine.push({ i, item }); });
  if (shard.count > 1) log(`shard ${formatShard(shard)} (${shard.source}): ${mine.length} of the ${plan.items.length} film(s)`);
  return { plan, mine };
}

export async function setUpAlign(opts: AlignOptions, log: (m: string) => void): Promise<AlignSetup> {
  const refine = opts.refine ?? 0;
  const shard = opts.shard ?? WHOLE;
  const { plan, mine } = planShard(opts.inputs, opts.list, shard, log);
  const backend = await setupBackend(opts.backend ?? 'auto', log, {
    threads: opts.threads ?? ((opts.networks ?? 1) > 1 ? Math.max(1, Math.floor(defaultWasmThreads() / opts.networks!)) : undefined),
  });
  const loaded = await loadCliModel(opts.model, log);
  const { model, description } = loaded;
  const frame: Size | 'original' = opts.size ?? model.config.frame;
  const template = refine > 0 ? loadTemplate(opts.template, opts.model, log) : undefined;
  const settings: RunSettings = {
    model: { name: description, sha256: modelSha256(opts.model, loaded) }, frame, refine,
    template: template ? bytesSha256(template.bytes) : null, bitDepth: opts.bitDepth ?? 'auto', margin: model.config.margin ?? null,
  };
  const header: JournalHeader = {
    type: 'header', tool: JOURNAL_TOOL, version: JOURNAL_VERSION, started: new Date().toISOString(), settings, backend,
    shard: { index: shard.index, count: shard.count }, inputs: { count: plan.items.length, sha256: plan.sha256 }, films: mine.length,
  };
  mkdirSync(opts.out, { recursive: true });
  let journal: StartedJournal;
  try {
    journal = startJournal(opts.out, header, mine, opts.resume ?? false);
  } catch (e) {
    model.dispose();
    throw e;
  }
  for (const n of journal.notes) log(n);
  const { done, failedAt, work } = sortFilms(mine, journal, log);
  if (plan.skipped) log(`note: skipped ${plan.skipped} file(s) without an image extension (.png, .jpg, .jpeg, .dcm or none)`);
  return { shard, plan, mine, backend, model, description, frame, refine, template: template?.image, settings, journal, done, failedAt, work };
}

/** Films done by an earlier run, films known to fail (journaled and reported now), films to do. */
function sortFilms(mine: readonly ShardFilm[], journal: StartedJournal, log: (m: string) => void) {
  const done = new Map<number, DoneLine>(journal.carried);
  const failedAt = new Map<number, FailedLine>();
  const work: Work[] = [];
  for (const { i, item } of mine) {
    if (item.reason !== undefined) {
      const f: FailedLine = { type: 'failed', i, key: item.key, reason: item.reason };
      failedAt.set(i, f);
      journal.writer.failed(f);
      log(`error: ${item.key}: ${item.reason}`);
    } else if (!done.has(i)) {
      work.push({ i, key: item.key, path: item.path, outRel: item.outRel });
    }
  }
  return { done, failedAt, work };
}
