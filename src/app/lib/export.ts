import type { AffineMatrix, AffineParams, Size } from '../../engine/affine/affine';

export interface TransformEntry {
  /** The input's name as the user loaded it (relative path for folders). */
  name: string;
  matrix: AffineMatrix;
  params: AffineParams;
  /** Output size when exported at the film's own resolution. */
  size?: Size;
}

/**
 * transforms.json, the format the CLI writes too (see src/engine/affine/affine.ts
 * for the matrix convention): keyed by input name, matrices map output-frame
 * points to input points in align_corners=False normalized coordinates.
 * `sizes` appears only for original-resolution exports, where every PNG has
 * its film's own size.
 */
export function transformsJson(frame: Size, entries: readonly TransformEntry[]): string {
  const doc: Record<string, unknown> = {
    frame: { width: frame.width, height: frame.height },
    transforms: Object.fromEntries(entries.map((e) => [e.name, e.matrix])),
    params: Object.fromEntries(entries.map((e) => [e.name, e.params])),
  };
  if (entries.some((e) => e.size)) {
    doc.sizes = Object.fromEntries(entries.filter((e) => e.size).map((e) => [e.name, { width: e.size!.width, height: e.size!.height }]));
  }
  return `${JSON.stringify(doc, null, 1)}\n`;
}

export const CSV_HEADER = 'file,a,b,c,d,e,f,tx,ty,sx,sy,theta';

export function transformsCsv(entries: readonly TransformEntry[]): string {
  const lines = [CSV_HEADER];
  for (const e of entries) {
    const [[a, b, c], [d, ee, f]] = e.matrix;
    lines.push([csvField(e.name), a, b, c, d, ee, f, ...e.params].join(','));
  }
  return `${lines.join('\n')}\n`;
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
transforms.json   {"frame", "transforms": {file: [[a,b,c],[d,e,f]]}, "params": {file: [tx,ty,sx,sy,theta]}}
transforms.csv    file,a,b,c,d,e,f,tx,ty,sx,sy,theta

Each matrix maps a point of the OUTPUT frame to the point of the INPUT film it
samples, in PyTorch affine_grid normalized coordinates (align_corners=False):
x = (2j + 1)/W - 1 for pixel column j of a W-wide image, likewise y for rows.
Because both sides are normalized, one matrix serves every resolution:
torch.nn.functional.affine_grid(theta, size, align_corners=False) reproduces the warp.
`;
