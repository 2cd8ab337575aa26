/**
 * The one rule for naming aligned outputs, for the CLI's --out folder and the
 * workbench's zip alike: a film's path (relative to the folder it was found
 * in, or its base name when given directly) with its extension replaced by
 * .png, characters unsafe in file and archive paths replaced, and "." / ".."
 * segments dropped. Two films that would land on the same name (a.dcm and
 * a.png; names differing only in case, which clash on macOS and Windows and in
 * many zip tools) keep both: the later one in input order gets "-2", "-3", …
 * Because the suffix depends only on input order, every shard of a sharded run
 * names every film the same way.
 */

const IMAGE_EXT = /\.(png|jpe?g|dcm|dicom|dic|ima)$/i;

export function outputName(path: string): string {
  // eslint-disable-next-line no-control-regex
  const parts = path.split(/[\\/]+/).filter((p) => p && p !== '.' && p !== '..').map((p) => p.replace(/[\u0000-\u001f<>:"|?*]/g, '_'));
  const file = parts.pop() ?? 'image';
  const stem = file.replace(IMAGE_EXT, '') || 'image';
  return [...parts, `${stem}.png`].join('/');
}

/** outputName for each path, in order, with the clash suffix applied. */
export function outputNames(paths: readonly string[]): string[] {
  const used = new Set<string>();
  return paths.map((p) => {
    const base = outputName(p);
    const stem = base.slice(0, -'.png'.length);
    let candidate = base;
    for (let k = 2; used.has(candidate.toLowerCase()); k++) candidate = `${stem}-${k}.png`;
    used.add(candidate.toLowerCase());
    return candidate;
  });
}
