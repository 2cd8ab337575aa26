/**
 * `align --resume`: which films an earlier run of the same shard already
 * finished. Its journal is taken only when it was made with the same settings
 * (model, frame, refinement, bit depth); a film counts as done only when its
 * output is still there with the checksum the journal recorded; failed films
 * are tried again (a missing file may have been restored since).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanItem } from './input-plan';
import {
  JournalError, JournalWriter, journalName, readJournal, settingsDiffer, staleOutput, type DoneLine, type JournalHeader,
} from './journal';

export interface ShardFilm { i: number; item: PlanItem }

export interface StartedJournal {
  writer: JournalWriter;
  path: string;
  /** Films finished by an earlier run, by place in the plan. */
  carried: Map<number, DoneLine>;
  notes: string[];
}

const NAMED = 5;
const named = (xs: string[]) => `${xs.slice(0, NAMED).join(', ')}${xs.length > NAMED ? `, and ${xs.length - NAMED} more` : ''}`;

export function startJournal(out: string, header: JournalHeader, films: readonly ShardFilm[], resume: boolean): StartedJournal {
  const path = join(out, journalName(header.shard));
  const carried = new Map<number, DoneLine>();
  const notes: string[] = [];
  if (existsSync(path) && !resume) {
    let n = '';
    try { n = `${readJournal(path).done.size} film(s) of `; } catch { /* an unreadable journal is replaced all the same */ }
    notes.push(`note: ${path} holds ${n}an earlier run; starting over (--resume continues it)`);
  } else if (existsSync(path)) {
    let old;
    try {
      old = readJournal(path);
    } catch (e) {
      if (e instanceof JournalError) throw new Error(`--resume: ${e.message}; delete it to start over, or align into another --out`);
      throw e;
    }
    const diff = settingsDiffer(old.header.settings, header.settings);
    if (diff.length) {
      throw new Error(`--resume: ${path} was made with other settings than this run (journal vs now: ${diff.join('; ')}); `
        + 'refusing to mix them: align into another --out, or delete the journal to start over');
    }
    const [os, ns] = [old.header.shard, header.shard];
    if (os.index !== ns.index || os.count !== ns.count) throw new Error(`--resume: ${path} is the journal of shard ${os.index}/${os.count}, not ${ns.index}/${ns.count}`);
    if (old.header.backend !== header.backend) notes.push(`note: the journal's films were aligned on the ${old.header.backend} backend, the rest will be on ${header.backend}`);
    const byKey = new Map<string, DoneLine>();
    for (const d of old.done.values()) byKey.set(d.key, d);
    const stale: string[] = [];
    for (const { i, item } of films) {
      const d = byKey.get(item.key);
      if (!d || item.reason !== undefined || d.out !== item.outRel) continue;
      const why = staleOutput(out, d);
      if (why) stale.push(`${d.key} (${why})`);
      else carried.set(i, { ...d, i });
    }
    const gone = old.done.size - carried.size - stale.length;
    notes.push(`resuming ${path}: ${carried.size} film(s) done (outputs checked), ${films.length - carried.size} to do`
      + `${old.failed.size ? `, ${old.failed.size} of them failed before and are tried again` : ''}`);
    if (stale.length) notes.push(`note: ${stale.length} journaled film(s) are redone: ${named(stale)}`);
    if (old.header.inputs.sha256 !== header.inputs.sha256) {
      notes.push(`note: the input list changed since the journal was made (${old.header.inputs.count} → ${header.inputs.count} film(s))`
        + `${gone > 0 ? `; ${gone} done film(s) are no longer in this shard and are left out` : ''}`);
    }
    if (old.badLines.length) notes.push(`note: ${old.badLines.length} unreadable journal line(s) ignored (line ${named(old.badLines.map(String))}); their films are redone`);
  } else if (resume) {
    notes.push(`note: no journal at ${path} yet; starting from the first film`);
  }
  const plan = films.map(({ i, item }) => [i, item.key] as [number, string]);
  const writer = JournalWriter.start(path, header, plan, [...carried.values()]);
  return { writer, path, carried, notes };
}
