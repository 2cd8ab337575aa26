/**
 * `align --list FILE`: the films a dataset's own file list names, one path a
 * line or a CSV column (`--column`), relative to `--root`.
 *
 * Listed files are not looked up here: a shard of a 112,120-film list would
 * otherwise stat every film of every other shard. A listed file that does not
 * exist fails when it is read, by name, like an unreadable one.
 */
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { UsageError } from './args';
import { parseOptionCsv } from './csv';
import { readOptionFile } from './io';
import { outputName, toPosix, type InputFile } from './files';

export interface FileListOptions {
  list: string;
  /** CSV column holding the paths; absent: a plain list, one path a line. */
  column?: string;
  /** Folder the listed paths are relative to (default: the list's own folder). */
  root?: string;
}

export interface FileListResult {
  files: InputFile[];
  /** Rows that name no film (an empty field, a short row), by line: reported, not fatal. */
  problems: string[];
}

/** Whether a list file looks like a CSV, to ask for --column rather than read its header as a film. */
function looksLikeCsv(path: string): boolean {
  return ['.csv', '.tsv'].includes(extname(path).toLowerCase());
}

/**
 * The files of a list, in its order. Keys are the paths as the list writes
 * them (so they join back onto the list's other columns); outputs keep the
 * path below --root, and an entry outside it (absolute, or climbing with ..)
 * is written under its base name, as a file named on the command line is.
 */
export function readFileList(opts: FileListOptions): FileListResult {
  const text = readOptionFile('--list', opts.list);
  const root = resolve(opts.root ?? dirname(opts.list));
  const problems: string[] = [];
  const entries: string[] = [];
  if (opts.column !== undefined) {
    const rows = parseOptionCsv('--list', opts.list, text);
    if (rows.length === 0) throw new UsageError(`--list ${opts.list}: empty (a CSV list needs a header row naming --column "${opts.column}")`);
    const header = rows[0].fields.map((h) => h.trim());
    const col = header.indexOf(opts.column);
    if (col < 0) {
      throw new UsageError(`--list ${opts.list}: no column "${opts.column}" in its header (columns: ${header.map((h) => `"${h}"`).join(', ')})`);
    }
    for (const row of rows.slice(1)) {
      const v = row.fields[col]?.trim() ?? '';
      if (v === '') problems.push(`${opts.list} line ${row.line}: no "${opts.column}" value; row skipped`);
      else entries.push(v);
    }
  } else {
    if (looksLikeCsv(opts.list)) {
      const first = text.split(/\r?\n/, 1)[0].replace(/^\uFEFF/, '');
      throw new UsageError(`--list ${opts.list} looks like a CSV: name the column of paths with --column (its header: ${first})`);
    }
    for (const raw of text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/)) {
      const v = raw.trim();
      // Blank lines and # comments, so a list can be annotated.
      if (v !== '' && !v.startsWith('#')) entries.push(v);
    }
  }
  const files = entries.map((entry): InputFile => {
    const path = isAbsolute(entry) ? entry : join(root, entry);
    const rel = toPosix(relative(root, path));
    const inside = rel !== '' && !rel.startsWith('../') && rel !== '..' && !isAbsolute(rel);
    return { path, key: entry, outRel: outputName(inside ? rel : basename(path)) };
  });
  return { files, problems };
}
