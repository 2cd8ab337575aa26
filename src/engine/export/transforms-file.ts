import type { AffineMatrix, AffineParams, Size } from '../affine/affine';
import type { FrameMargin } from '../models/stn/config';

/**
 * The transforms file format both tools write (`cxr-align align` and the
 * workbench export), defined once so files from either read the same.
 */
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
  margin?: FrameMargin,
): string {
  const q = JSON.stringify;
  const obj = (lines: string[]) => (lines.length ? `{\n${lines.join(',\n')}\n }` : '{}');
  const parts = [
    ` "frame": ${frame === 'original' ? '"original"' : q({ width: frame.width, height: frame.height })}`,
    ` "convention": ${q(CONVENTION)}`,
    ` "model": ${q(model)}`,
    // The model's frame margin: how the frame extends beyond the region it matched (train --targets undoes it).
    ...(margin ? [` "margin": ${q(margin)}`] : []),
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

/** RFC 4180 field quoting. */
export function csvField(v: unknown): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The matrices of a transforms.json (as `transformsJson` writes it), keyed by
 * input name, and the writing model's frame margin when the file records it.
 * Anything else is refused with the file's name and the reason.
 */
export function readTransformsJson(text: string, file: string): { matrices: Map<string, AffineMatrix>; margin?: FrameMargin } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message})`);
  }
  const t = (doc as { transforms?: unknown } | null)?.transforms;
  if (typeof t !== 'object' || t === null || Array.isArray(t)) throw new Error(`${file}: no "transforms" object (is it a transforms.json written by cxr-align align?)`);
  const out = new Map<string, AffineMatrix>();
  for (const [name, m] of Object.entries(t)) {
    const ok = Array.isArray(m) && m.length === 2 && m.every((r) => Array.isArray(r) && r.length === 3 && r.every((v) => typeof v === 'number' && Number.isFinite(v)));
    if (!ok) throw new Error(`${file}: the matrix of "${name}" is not 2x3 finite numbers`);
    out.set(name, m as AffineMatrix);
  }
  const mg = (doc as { margin?: Partial<FrameMargin> }).margin;
  if (mg === undefined) return { matrices: out };
  const sides = [mg?.left, mg?.right, mg?.top, mg?.bottom];
  if (!sides.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new Error(`${file}: "margin" must have finite left, right, top and bottom`);
  return { matrices: out, margin: mg as FrameMargin };
}
