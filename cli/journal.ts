/**
 * The align journal: what a run (or one shard of it) has finished, so that a
 * killed run can resume and the shards of one can be merged.
 *
 * JSON lines, appended as films finish:
 *
 *   {"type":"header", tool, version, started, settings, backend, shard, inputs, films}
 *   {"type":"plan", "films": [[i, key], …]}          this shard's films, i = place in the whole plan
 *   {"type":"done", i, key, out, sha256, matrix, params, size}   one per aligned film
 *   {"type":"failed", i, key, reason}                 one per film that could not be aligned
 *   {"type":"end", at, aligned, failed, interrupted}  when the run stopped on its own (not after a kill)
 *
 * A film is journaled only once its PNG is in place under its final name, so a
 * "done" line always names a complete file; `sha256` lets a resumed run check
 * that it still is. Lines are written straight to the file (a killed process
 * loses none) and flushed to the disk at most once a second (a lost machine
 * loses at most the last second's films, which are redone). A run that resumes
 * rewrites the journal — header, plan, the films still done — under a
 * temporary name and renames it into place, then appends again.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AffineMatrix, AffineParams, Size } from '../src/engine/index';
import type { FrameMargin } from '../src/engine/models/stn/config';
import { shardSuffix, type Shard } from './shard';

export const JOURNAL_TOOL = 'cxr-align align';
export const JOURNAL_VERSION = 1;

/** Everything besides the film that decides its matrix and its PNG's bytes. */
export interface RunSettings {
  /** `name` is what transforms.json calls the model; `sha256` what tells two models apart. */
  model: { name: string; sha256: string };
  frame: Size | 'original';
  refine: number;
  /** The refinement template's sha256 (null without --refine: it plays no part then). */
  template: string | null;
  bitDepth: 8 | 16 | 'auto';
  margin: FrameMargin | null;
}

export interface JournalHeader {
  type: 'header';
  tool: string;
  version: number;
  started: string;
  settings: RunSettings;
  /** The tfjs backend (recorded, not enforced: backends agree to rounding). */
  backend: string;
  shard: { index: number; count: number };
  /** The whole plan, before sharding: its size and a hash of its keys (input-plan.ts). */
  inputs: { count: number; sha256: string };
  /** Films in this shard. */
  films: number;
}

export interface DoneLine {
  type: 'done';
  i: number;
  key: string;
  /** Output path relative to the output folder. */
  out: string;
  sha256: string;
  matrix: AffineMatrix;
  params: AffineParams;
  size: [number, number];
}

export interface FailedLine { type: 'failed'; i: number; key: string; reason: string }
export interface EndLine { type: 'end'; at: string; aligned: number; failed: number; interrupted: boolean }

export interface Journal {
  path: string;
  header: JournalHeader;
  /** [place in the whole plan, key] for each film of the shard, in plan order. */
  plan: [number, string][];
  done: Map<number, DoneLine>;
  failed: Map<number, FailedLine>;
  end?: EndLine;
  /** Lines that could not be read (a crash mid-line leaves the last one cut). */
  badLines: number[];
}

export class JournalError extends Error {}

export function journalName(shard: Pick<Shard, 'index' | 'count'>): string {
  return `journal${shardSuffix(shard)}.jsonl`;
}

const JOURNAL_NAME = /^journal(-\d+-of-\d+)?\.jsonl$/;

/** The journals in a folder, sorted by name. */
export function findJournals(dir: string): string[] {
  return readdirSync(dir).filter((n) => JOURNAL_NAME.test(n)).sort().map((n) => join(dir, n));
}

export function readJournal(path: string): Journal {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new JournalError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const lines = text.split('\n');
  let header: JournalHeader | undefined;
  try {
    header = JSON.parse(lines[0]) as JournalHeader;
  } catch { /* refused below */ }
  if (header?.type !== 'header' || header.tool !== JOURNAL_TOOL) throw new JournalError(`${path}: not a cxr-align align journal (its first line is no journal header)`);
  if (header.version !== JOURNAL_VERSION) throw new JournalError(`${path}: journal version ${header.version}; this cxr-align reads version ${JOURNAL_VERSION}`);
  const j: Journal = { path, header, plan: [], done: new Map(), failed: new Map(), badLines: [] };
  for (let n = 1; n < lines.length; n++) {
    if (lines[n] === '') continue;
    let v: { type?: string } & Record<string, unknown>;
    try {
      v = JSON.parse(lines[n]);
    } catch {
      j.badLines.push(n + 1);
      continue;
    }
    if (v.type === 'plan') j.plan = v.films as [number, string][];
    else if (v.type === 'done') { const d = v as unknown as DoneLine; j.done.set(d.i, d); j.failed.delete(d.i); }
    else if (v.type === 'failed') { const f = v as unknown as FailedLine; j.failed.set(f.i, f); j.done.delete(f.i); }
    else if (v.type === 'end') j.end = v as unknown as EndLine;
  }
  return j;
}

/** How two runs' settings differ, one phrase per difference ("refine: 0 vs 15"); empty when they agree. */
export function settingsDiffer(a: RunSettings, b: RunSettings): string[] {
  const out: string[] = [];
  const show = (v: unknown) => (v === null ? 'none' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  if (a.model.sha256 !== b.model.sha256) out.push(`model: ${a.model.name} (sha256 ${a.model.sha256.slice(0, 12)}…) vs ${b.model.name} (sha256 ${b.model.sha256.slice(0, 12)}…)`);
  if (show(a.frame) !== show(b.frame)) out.push(`frame: ${show(a.frame)} vs ${show(b.frame)}`);
  if (a.refine !== b.refine) out.push(`refine: ${a.refine} vs ${b.refine}`);
  if (a.template !== b.template) out.push(`refinement template: sha256 ${show(a.template).slice(0, 12)} vs ${show(b.template).slice(0, 12)}`);
  if (a.bitDepth !== b.bitDepth) out.push(`bit depth: ${a.bitDepth} vs ${b.bitDepth}`);
  if (show(a.margin) !== show(b.margin)) out.push(`frame margin: ${show(a.margin)} vs ${show(b.margin)}`);
  return out;
}

/** Why a journaled output can no longer count as done, or undefined when it still can. */
export function staleOutput(outDir: string, d: DoneLine): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(outDir, d.out));
  } catch {
    return 'its output is missing';
  }
  return createHash('sha256').update(bytes).digest('hex') === d.sha256 ? undefined : 'its output changed (checksum differs)';
}

const FLUSH_MS = 1000;

export class JournalWriter {
  private lastFlush = performance.now();
  private closed = false;

  private constructor(readonly path: string, private readonly fd: number) {}

  /**
   * Start a journal: header, plan and the films carried over from an earlier
   * run, in one file renamed into place (a crash now leaves the old journal or
   * the new one, never half of either); then lines are appended.
   */
  static start(path: string, header: JournalHeader, plan: [number, string][], carried: readonly DoneLine[]): JournalWriter {
    const tmp = `${path}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w');
    try {
      const body = [header, { type: 'plan', films: plan }, ...carried].map((l) => JSON.stringify(l)).join('\n');
      writeSync(fd, `${body}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    return new JournalWriter(path, openSync(path, 'a'));
  }

  done(line: DoneLine): void { this.append(line); }
  failed(line: FailedLine): void { this.append(line); }
  end(line: Omit<EndLine, 'type' | 'at'>): void { this.append({ type: 'end', at: new Date().toISOString(), ...line }); }

  private append(line: object): void {
    if (this.closed) return;
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
    const now = performance.now();
    if (now - this.lastFlush >= FLUSH_MS) {
      fdatasyncSync(this.fd);
      this.lastFlush = now;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fdatasyncSync(this.fd);
    closeSync(this.fd);
  }
}
