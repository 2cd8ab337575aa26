/**
 * The training set of `cxr-align train`: every film of a folder, decoded once
 * and reduced to what a training step reads (the encoder's square copy and the
 * warp source), kept in memory — or, when that would exceed the cache budget,
 * in one flat file of fixed-size float32 records that steps read by offset
 * (the page cache then does the rest), so memory stays flat for any folder size.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ImageDecodeError, decodeImage, prepareTrainingFilm, trainingSource, WHOLE_FILM, type ContentCrop, type GrayImage, type InputCrop, type Size, type TrainingImage,
} from '../src/engine/index';
import { walkFolder } from './files';
import type { ProgressBar } from './progress';

export interface PreparedSet {
  readonly size: number;
  readonly ids: string[];
  /** Hash of the film list (relative paths, in order), to check a resume uses the same films. */
  readonly listHash: string;
  readonly failed: { key: string; reason: string }[];
  get(i: number): TrainingImage;
  /** Where each film's prepared view lies on it (the model's inputCrop), to take whole-film matrices onto it. */
  readonly crops: ContentCrop[];
  /** The i-th warp source as an image (for sample strips). */
  source(i: number): GrayImage;
  close(): void;
}

export function hashList(ids: readonly string[]): string {
  const h = createHash('sha256');
  for (const id of ids) h.update(`${id}\n`);
  return h.digest('hex').slice(0, 16);
}

export interface PrepareOptions {
  dir: string;
  locSize: number;
  /** What the model's encoder sees of a film (config.inputCrop). */
  inputCrop: InputCrop;
  srcSize: Size;
  /** Use at most this many films (spread evenly); 0 = all. */
  maxImages?: number;
  /** Above this many bytes of prepared data, records go to `spillPath` instead of memory. */
  cacheBytes: number;
  spillPath: string;
}

/** `n` indices spread evenly over 0..total−1 (all of them when n ≥ total or n = 0). */
function spread(total: number, n: number): number[] {
  if (!n || n >= total) return Array.from({ length: total }, (_, i) => i);
  return Array.from({ length: n }, (_, i) => Math.floor(((i + 0.5) * total) / n));
}

export async function prepareFolder(opts: PrepareOptions, onCount: (n: number) => ProgressBar | undefined): Promise<PreparedSet> {
  const { files } = walkFolder(opts.dir);
  const picked = spread(files.length, opts.maxImages ?? 0).map((i) => files[i]);
  if (picked.length === 0) throw new Error(`no image files in ${opts.dir}`);
  const L = opts.locSize;
  const { width: sw, height: sh } = opts.srcSize;
  const recFloats = L * L + sw * sh;
  const spill = picked.length * recFloats * 4 > opts.cacheBytes;
  const bar = onCount(picked.length);
  const ids: string[] = [];
  const failed: PreparedSet['failed'] = [];
  const mem: TrainingImage[] = [];
  const crops: ContentCrop[] = [];
  const fd = spill ? openSync(opts.spillPath, 'w+') : -1;
  let next = picked.length ? readFile(join(opts.dir, picked[0])).catch((e: Error) => e) : undefined;
  for (let k = 0; k < picked.length; k++) {
    const rel = picked[k];
    const bytes = await next!;
    next = k + 1 < picked.length ? readFile(join(opts.dir, picked[k + 1])).catch((e: Error) => e) : undefined;
    let img: GrayImage;
    try {
      if (bytes instanceof Error) throw bytes;
      img = decodeImage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), rel);
    } catch (e) {
      const reason = e instanceof ImageDecodeError ? e.reason : (e as Error).message;
      failed.push({ key: join(opts.dir, rel), reason });
      bar?.message(`error: ${join(opts.dir, rel)}: ${reason} (left out of training)`);
      bar?.tick(0, 1);
      continue;
    }
    const rec = prepareTrainingFilm(img, rel, { locSize: L, inputCrop: opts.inputCrop }, opts.srcSize);
    crops.push(rec.crop ?? WHOLE_FILM);
    if (spill) {
      const buf = new Float32Array(recFloats);
      buf.set(rec.loc, 0);
      buf.set(rec.src, L * L);
      writeSync(fd, new Uint8Array(buf.buffer), 0, buf.byteLength, ids.length * recFloats * 4);
    } else {
      mem.push(rec);
    }
    ids.push(rel);
    bar?.tick(1);
  }
  bar?.finish();
  if (ids.length === 0) throw new Error(`none of the ${picked.length} files in ${opts.dir} could be read`);
  const listHash = hashList(ids);
  const get = spill
    ? (i: number): TrainingImage => {
      const buf = new Float32Array(recFloats);
      readSync(fd, new Uint8Array(buf.buffer), 0, buf.byteLength, i * recFloats * 4);
      return { id: ids[i], loc: buf.subarray(0, L * L), src: buf.subarray(L * L) };
    }
    : (i: number) => mem[i];
  return {
    size: ids.length,
    ids,
    listHash,
    failed,
    get,
    crops,
    source: (i) => trainingSource(get(i), opts.srcSize),
    close: () => { if (fd >= 0) closeSync(fd); },
  };
}
