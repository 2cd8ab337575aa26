/** Film jobs: decoding dropped files into what the other jobs need, removing them, and the "Try it" films. */
import { decodeImage, encodePng, ImageDecodeError, paramsToMatrix, resizeArea, warpImage, type GrayImage } from '../../../engine';
import { demoParams } from '../../lib/demo';
import { fitWithin, toBytes } from '../../lib/geometry';
import type { JobContext } from '../dispatcher';
import type { FileInput, LoadEvent, NamedBytes } from '../protocol';
import { filmLoc, type FilmEntry, type Session } from '../session';

const THUMB_SIDE = 160;

export async function addFiles(s: Session, files: FileInput[], ctx: JobContext<LoadEvent>): Promise<{ decoded: number; failed: number; cancelled: boolean }> {
  let decoded = 0;
  let failed = 0;
  for (const f of files) {
    if (ctx.signal.ending) {
      ctx.emit({ kind: 'failed', id: f.id, name: f.name, reason: 'not loaded: loading was cancelled' });
      failed++;
      continue;
    }
    try {
      const img = decodeImage(new Uint8Array(await f.blob.arrayBuffer()), f.name);
      s.images.set(f.id, entryFrom(s, f, img));
      const t = fitWithin(img.width, img.height, THUMB_SIDE, THUMB_SIDE);
      const thumb = encodePng(resizeArea(img, t.width, t.height));
      ctx.emit({ kind: 'decoded', id: f.id, width: img.width, height: img.height, format: String(img.meta?.format ?? '?'), details: describeFilm(img), thumb });
      decoded++;
    } catch (e) {
      const reason = e instanceof ImageDecodeError ? e.reason : `could not be read: ${(e as Error).message}`;
      ctx.emit({ kind: 'failed', id: f.id, name: f.name, reason });
      failed++;
    }
    await s.checkpoint(ctx.signal);
  }
  return { decoded, failed, cancelled: ctx.signal.ending };
}

function entryFrom(s: Session, f: FileInput, img: GrayImage): FilmEntry {
  const frame = s.model.config.frame;
  const w = fitWithin(img.width, img.height, frame.width, frame.height);
  const work = resizeArea(img, w.width, w.height);
  return {
    id: f.id, name: f.name, blob: f.blob, width: img.width, height: img.height,
    work: { width: w.width, height: w.height, data: toBytes(work.data) },
    loc: filmLoc(img, s.model.config),
  };
}

export async function removeImages(s: Session, ids: string[] | 'all'): Promise<{ remaining: number }> {
  if (ids === 'all') s.images.clear();
  else for (const id of ids) s.images.delete(id);
  s.decoded.clear();
  return { remaining: s.images.size };
}

/** "Try it": the current template warped by random, realistic misalignments. */
export async function demo(s: Session, count: number, seed: number): Promise<{ files: NamedBytes[] }> {
  const frame = s.model.config.frame;
  const size = { width: Math.round(frame.width * 1.25), height: Math.round(frame.height * 1.25) };
  const files: NamedBytes[] = [];
  const params = demoParams(count, seed);
  for (let i = 0; i < count; i++) {
    const img = await warpImage(s.template.image, paramsToMatrix(params[i]), size);
    files.push({ name: `demo-${String(i + 1).padStart(2, '0')}.png`, bytes: encodePng(img) });
  }
  return { files };
}

/** One line a user can check a film's decoding against (format, depth, DICOM photometric and window). */
export function describeFilm(img: GrayImage): string {
  const m = img.meta ?? {};
  const parts: string[] = [];
  const format = String(m.format ?? 'image').toUpperCase();
  if (format === 'DICOM') {
    parts.push(`DICOM ${String(m.photometric ?? '')}${m.inverted ? ' (shown inverted)' : ''}`.trim());
    if (m.bitsStored) parts.push(`${m.bitsStored}-bit`);
    const w = m.window as { center?: number; width?: number; source?: string } | undefined;
    if (w && Number.isFinite(w.center) && Number.isFinite(w.width)) {
      parts.push(`window ${round(w.center!)}/${round(w.width!)}${w.source === 'percentile' ? ' (auto)' : ''}`);
    }
  } else {
    parts.push(`${format}${m.bitDepth ? ` ${m.bitDepth}-bit` : ''}`);
    if (m.convertedFromColor) parts.push('colour → gray');
  }
  parts.push(`${img.width}×${img.height}`);
  return parts.join(' · ');
}

function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}
