/**
 * RFC 4180 CSV parsing, for the file lists datasets ship (ChestX-ray14's
 * Data_Entry_2017.csv and the like): quoted fields, doubled quotes inside
 * them, commas and line breaks inside quotes, CRLF or LF line ends and a
 * leading byte-order mark (spreadsheets write one).
 */

import { UsageError } from './args';

export interface CsvRow {
  fields: string[];
  /** 1-based line the row starts on, for messages. */
  line: number;
}

export class CsvError extends Error {}

/** Every row, blank lines skipped. A quote left open is refused with the line it opened on. */
export function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let fields: string[] = [];
  let field = '';
  let rowLine = 1;
  let quoted = false;
  let quoteLine = 0;
  // A row's end: a lone empty field is a blank line, not a row with one empty value.
  const endRow = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ fields, line: rowLine });
    fields = [];
    field = '';
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false;
        i++;
        continue;
      }
      if (c === '\n') line++;
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') { quoted = true; quoteLine = line; i++; continue; }
    if (c === ',') { fields.push(field); field = ''; i++; continue; }
    if (c === '\r' || c === '\n') {
      endRow();
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      rowLine = line;
      continue;
    }
    field += c;
    i++;
  }
  if (quoted) throw new CsvError(`a quoted field opened on line ${quoteLine} is never closed`);
  if (field !== '' || fields.length) endRow();
  return rows;
}

/** parseCsv for a file an option names: a malformed file is a UsageError naming both. */
export function parseOptionCsv(flag: string, path: string, text: string): CsvRow[] {
  try {
    return parseCsv(text);
  } catch (e) {
    if (e instanceof CsvError) throw new UsageError(`${flag} ${path}: ${e.message}`);
    throw e;
  }
}
