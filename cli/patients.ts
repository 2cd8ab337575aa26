/**
 * `eval --patients FILE`: which patient each evaluation film belongs to, from
 * a CSV (the ../shared manifest, or any table with a file and a patient
 * column), for the same-patient Dice.
 *
 * Eval names a film by its name under DATA/images/. A row's file is matched
 * to it in two ways: as a path relative to the CSV's own folder (the
 * manifest's `masked/images/NAME.png`, relative to data/) that resolves to
 * DATA/images/NAME; or, for a bare name with no folder, by NAME itself.
 */
import { dirname, resolve } from 'node:path';
import { UsageError } from './args';
import { parseOptionCsv } from './csv';
import { readOptionFile } from './io';

export interface PatientsOptions {
  csv: string;
  /** DATA: the folder whose images/ the films are in. */
  data: string;
  fileColumn?: string;
  patientColumn?: string;
}

export interface PatientsResult {
  /** Film name (under DATA/images/) → patient. */
  byName: Map<string, string>;
  rows: number;
  /** Rows whose file names no film of DATA (other data sets in the same manifest): not an error. */
  unmatched: number;
}

export function readPatients(opts: PatientsOptions): PatientsResult {
  const fileColumn = opts.fileColumn ?? 'file';
  const patientColumn = opts.patientColumn ?? 'patient';
  const rows = parseOptionCsv('--patients', opts.csv, readOptionFile('--patients', opts.csv));
  if (rows.length === 0) throw new UsageError(`--patients ${opts.csv}: empty`);
  const header = rows[0].fields.map((h) => h.trim());
  const col = (name: string, flag: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new UsageError(`--patients ${opts.csv}: no column "${name}" (${flag}; columns: ${header.map((h) => `"${h}"`).join(', ')})`);
    return i;
  };
  const fi = col(fileColumn, '--file-column');
  const pi = col(patientColumn, '--patient-column');
  const base = dirname(resolve(opts.csv));
  const images = resolve(opts.data, 'images');
  const byName = new Map<string, string>();
  let unmatched = 0;
  for (const row of rows.slice(1)) {
    const file = (row.fields[fi] ?? '').trim().replace(/\\/g, '/');
    const patient = (row.fields[pi] ?? '').trim();
    if (file === '' || patient === '') { unmatched++; continue; }
    let name: string | undefined;
    if (!file.includes('/')) name = file;
    else {
      const abs = resolve(base, file);
      if (dirname(abs) === images) name = abs.slice(images.length + 1);
    }
    if (name === undefined) { unmatched++; continue; }
    byName.set(name, patient);
  }
  return { byName, rows: rows.length - 1, unmatched };
}
