import type { AffineMatrix, AffineParams, Size } from '../../engine/affine/affine';

export interface TransformEntry {
  /** The input's name as the user loaded it (relative path for folders): the key, as the CLI's. */
  name: string;
  matrix: AffineMatrix;
  params: AffineParams;
  /** Size of the PNG written for it. */
  size: Size;
}

export const CONVENTION = 'PyTorch affine_grid normalized coordinates, align_corners=False; '
  + 'each matrix maps output-frame points to input points (see src/engine/affine/affine.ts)';

/**
 * transforms.json exactly as the CLI writes it (`cxr-align align`, see the
 * README), so files from either tool read the same: the frame (or "original"
 * when each film keeps its size, then `sizes` lists them as [width, height]),
 * the convention, the model, matrices and (tx, ty, sx, sy, θ) keyed by input,
 * and the inputs that could not be read. One entry per line, as the CLI does.
 */
export function transformsJson(
  frame: Size | 'original', model: string, entries: readonly TransformEntry[], failed: readonly { name: string; reason: string }[] = [],
): string {
  const q = JSON.stringify;
  const obj = (lines: string[]) => (lines.length ? `{\n${lines.join(',\n')}\n }` : '{}');
  const parts = [
    ` "frame": ${frame === 'original' ? '"original"' : q({ width: frame.width, height: frame.height })}`,
    ` "convention": ${q(CONVENTION)}`,
    ` "model": ${q(model)}`,
    ` "transforms": ${obj(entries.map((e) => `  ${q(e.name)}: ${q(e.matrix)}`))}`,
    ` "params": ${obj(entries.map((e) => `  ${q(e.name)}: ${q(e.params)}`))}`,
  ];
  if (frame === 'original') parts.push(` "sizes": ${obj(entries.map((e) => `  ${q(e.name)}: ${q([e.size.width, e.size.height])}`))}`);
  parts.push(` "failed": ${obj(failed.map((f) => `  ${q(f.name)}: ${q(f.reason)}`))}`);
  return `{\n${parts.join(',\n')}\n}\n`;
}

export const CSV_HEADER = 'path,a,b,c,d,e,f,tx,ty,sx,sy,theta,width,height';

/** transforms.csv as the CLI writes it: one row per aligned film, with its output size. */
export function transformsCsv(entries: readonly TransformEntry[]): string {
  const rows = entries.map((e) => [csvField(e.name), ...e.matrix.flat(), ...e.params, e.size.width, e.size.height].join(','));
  return `${[CSV_HEADER, ...rows].join('\n')}\n`;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Zip entry names for aligned PNGs: the input's path with its extension
 * replaced by .png, characters that are unsafe in archive paths replaced, and
 * a numeric suffix where two inputs would collide (a.dcm and a.png both → a.png).
 */
export function alignedPngNames(names: readonly string[], folder = 'aligned'): string[] {
  const used = new Set<string>();
  return names.map((n) => {
    const parts = n.split(/[\\/]+/).filter((p) => p && p !== '.' && p !== '..').map(safeSegment);
    const file = parts.pop() ?? 'image';
    const stem = file.replace(/\.(png|jpe?g|dcm|dicom|ima)$/i, '') || 'image';
    const dir = [folder, ...parts].join('/');
    let candidate = `${dir}/${stem}.png`;
    for (let k = 2; used.has(candidate.toLowerCase()); k++) candidate = `${dir}/${stem}-${k}.png`;
    used.add(candidate.toLowerCase());
    return candidate;
  });
}

function safeSegment(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f<>:"|?*]/g, '_');
}

export const EXPORT_README = `Aligned chest X-rays exported by cxr-align.

aligned/          the films warped into the model's frame (or kept at their own size)
transforms.json   {"frame", "convention", "model", "transforms": {file: [[a,b,c],[d,e,f]]},
                   "params": {file: [tx,ty,sx,sy,theta]}, "sizes" (original size only), "failed"}
transforms.csv    path,a,b,c,d,e,f,tx,ty,sx,sy,theta,width,height

The same files as the command line's "cxr-align align" writes.

Each matrix maps a point of the OUTPUT frame to the point of the INPUT film it
samples, in PyTorch affine_grid normalized coordinates (align_corners=False):
x = (2j + 1)/W - 1 for pixel column j of a W-wide image, likewise y for rows.
Because both sides are normalized, one matrix serves every resolution:
torch.nn.functional.affine_grid(theta, size, align_corners=False) reproduces the warp.
`;
