/** "Export aligned": the films warped with their matrices, zipped with transforms.json / .csv, streamed to the page. */
import { strToU8, Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { encodePng, outputNames, warpImage } from '../../../engine';
import { EXPORT_README, transformsCsv, transformsJson, type TransformEntry } from '../../lib/export';
import type { JobContext } from '../dispatcher';
import type { ExportAlignedRequest, ExportEvent } from '../protocol';
import type { Session } from '../session';
import { resultOf } from './align';

export async function exportAligned(s: Session, req: ExportAlignedRequest, ctx: JobContext<ExportEvent>): Promise<{ files: number; bytes: number }> {
  const entries = s.entries(req.ids);
  if (entries.length === 0) throw new Error('nothing to export: load and align some films first');
  let bytes = 0;
  let failure: Error | null = null;
  const zip = new Zip((err, data) => {
    if (err) { failure = err; return; }
    // A copy: fflate may hand out views of buffers it still uses.
    const chunk = data.slice();
    bytes += chunk.byteLength;
    ctx.emit({ kind: 'chunk', bytes: chunk }, [chunk.buffer]);
  });
  // The engine's one naming rule (the CLI's --out uses it too), under aligned/.
  const names = outputNames(entries.map((e) => e.name)).map((n) => `aligned/${n}`);
  const transforms: TransformEntry[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const r = await resultOf(s, e);
    const img = await s.decodeEntry(e);
    const frame = req.resolution === 'original' ? { width: img.width, height: img.height } : s.model.config.frame;
    const png = encodePng(await warpImage(img, r.matrix, frame), { bitDepth: req.bitDepth });
    const file = new ZipPassThrough(names[i]);
    zip.add(file);
    file.push(png, true);
    transforms.push({ name: e.name, matrix: r.matrix, params: r.params, size: { width: frame.width, height: frame.height } });
    ctx.emit({ kind: 'progress', done: i + 1, total: entries.length });
    await s.checkpoint(ctx.signal);
    if (ctx.signal.ending) { zip.terminate(); throw new Error('export cancelled'); }
    if (failure) throw failure;
  }
  const text = (name: string, content: string) => {
    const f = new ZipDeflate(name, { level: 6 });
    zip.add(f);
    f.push(strToU8(content), true);
  };
  text('transforms.json', transformsJson(req.resolution === 'original' ? 'original' : s.model.config.frame, s.modelInfo.label, transforms, req.failed ?? [], s.model.config.margin));
  text('transforms.csv', transformsCsv(transforms));
  text('README.txt', EXPORT_README);
  zip.end();
  if (failure) throw failure;
  return { files: entries.length, bytes };
}
