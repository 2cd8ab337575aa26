/**
 * The per-film host work of `align`, split in two jobs around the network:
 *
 *   prepare: read → decode → the encoder's L x L copy (engine `locInput`);
 *            the decoded film stays with whoever prepared it;
 *   finish:  warp the film with its matrix (host warp, the engine sampler's
 *            exact math) → encode PNG → write.
 *
 * Both run in worker threads (align-worker.ts) so that decoding and encoding
 * overlap the network on the main thread, or inline when --workers 0.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ImageDecodeError, decodeImage } from '../src/engine/io/index';
import { encodePng } from '../src/engine/io/encode-png';
import { encoderInput } from '../src/engine/align/prepare';
import { warpImageHost } from '../src/engine/align/warp-host';
import type { GrayImage } from '../src/engine/io/gray-image';
import type { FinishRequest, FinishResult, PrepareRequest, PrepareResult } from './align-api';
import { replaceFileSync } from './io';

export type { FinishRequest, FinishResult, PrepareRequest, PrepareResult };

interface Held { img: GrayImage; bitDepth: number }

function bitDepthOf(img: GrayImage): number {
  const m = img.meta ?? {};
  return Number(m.bitDepth ?? m.bitsStored ?? 8);
}

/** Decoded films waiting for their matrix, by job id. */
export class FilmStore {
  private readonly held = new Map<number, Held>();

  prepare(req: PrepareRequest): PrepareResult {
    const ms: Record<string, number> = {};
    let t = performance.now();
    const lap = (k: string) => { const n = performance.now(); ms[k] = (ms[k] ?? 0) + n - t; t = n; };
    let bytes: Uint8Array;
    try {
      const b = readFileSync(req.path);
      bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // A listed film is opened below --root: say where it was looked for.
      const where = req.path === req.key ? '' : ` (looked for ${req.path})`;
      return { id: req.id, ok: false, reason: err.code === 'EISDIR' ? 'is a folder' : err.code === 'ENOENT' ? `no such file${where}` : err.message, ms };
    }
    lap('read');
    let img: GrayImage;
    try {
      img = decodeImage(bytes, req.key);
    } catch (e) {
      lap('decode');
      return { id: req.id, ok: false, reason: e instanceof ImageDecodeError ? e.reason : (e as Error).message, ms };
    }
    lap('decode');
    const { loc, crop } = encoderInput(img, req);
    lap('resize');
    const bitDepth = bitDepthOf(img);
    if (req.sendFull) {
      // The film travels to the main thread and back with the finish request.
      // Its own buffer, so the transfer moves exactly this film.
      const own = img.data.byteOffset === 0 && img.data.buffer.byteLength === img.data.byteLength ? img.data : img.data.slice();
      return { id: req.id, ok: true, loc, crop, width: img.width, height: img.height, bitDepth, full: own, ms };
    }
    this.held.set(req.id, { img, bitDepth });
    return { id: req.id, ok: true, loc, crop, width: img.width, height: img.height, bitDepth, ms };
  }

  finish(req: FinishRequest): FinishResult {
    const ms: Record<string, number> = {};
    let t = performance.now();
    const lap = (k: string) => { const n = performance.now(); ms[k] = (ms[k] ?? 0) + n - t; t = n; };
    const f = req.full;
    const h = this.held.get(req.id) ?? (f ? { img: { width: f.width, height: f.height, data: f.data }, bitDepth: f.bitDepth } : undefined);
    this.held.delete(req.id);
    if (!h) return { id: req.id, ok: false, reason: 'internal error: film not prepared', ms };
    try {
      const frame = req.frame ?? { width: h.img.width, height: h.img.height };
      const aligned = warpImageHost(h.img, req.matrix, frame);
      lap('warp');
      const depth = req.bitDepth === 'auto' ? (h.bitDepth > 8 ? 16 : 8) : req.bitDepth;
      const png = encodePng(aligned, { bitDepth: depth });
      lap('encode');
      const sha256 = createHash('sha256').update(png).digest('hex');
      mkdirSync(dirname(req.outPath), { recursive: true });
      // A killed run must never leave a half-written PNG under the final name: the journal trusts those.
      replaceFileSync(req.outPath, png);
      lap('write');
      return { id: req.id, ok: true, sha256, ms };
    } catch (e) {
      return { id: req.id, ok: false, reason: `cannot write ${req.outPath}: ${(e as Error).message}`, ms };
    }
  }

  drop(id: number): void {
    this.held.delete(id);
  }
}
