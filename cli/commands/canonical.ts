/**
 * `cxr-align canonical`: the canonical chest — the mean of N films and its
 * lung crop (found automatically, or given as x,y,w,h in the mean's pixels).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import {
  ImageDecodeError, MeanImageBuilder, canonicalFromMean, decodeImage, encodePng, parseBox,
  predictMatrices, regionMatrix, warpImage, type Box, type GrayImage,
} from '../../src/engine/index';
import { loadModelDir, loadTemplate } from '../model';
import { THREADS_OPTION, setupBackend } from '../backend';
import { formatOptions, parseArgs, UsageError, type OptionSpecs, type Size } from '../args';
import { walkFolder } from '../files';
import { ProgressBar, silentSink, stderrSink, type ProgressSink } from '../progress';
import { join } from 'node:path';

export interface CanonicalOptions {
  images: string;
  /** How many films to average (spread evenly over the sorted folder). */
  n?: number;
  crop?: 'auto' | string;
  out: string;
  /** Where to write the uncropped mean (default: next to out, "-mean.png"). */
  meanOut?: string;
  /** Size every film is resized to before averaging. */
  meanSize?: Size;
  /**
   * Groupwise sharpening: align every film with this model into its matched
   * region (the frame without the model's margin) before averaging. The mean
   * is then the canonical chest itself (no lung crop unless `crop` is a box).
   */
  model?: string;
  /** With `model`: test-time refinement steps toward `template` for each film. */
  refine?: number;
  /** With `refine`: the template to refine toward (default: the model folder's template.png, else models/canonical-chest.png; cli/model.ts loadTemplate). */
  template?: string;
  /** With `model`: WASM threads (default: every core; cli/wasm-threads.ts). */
  threads?: number;
  sink?: ProgressSink;
  log?: (msg: string) => void;
}

export interface CanonicalResult {
  used: number;
  failed: { key: string; reason: string }[];
  box: Box;
  lungBox: Box;
  out: string;
  meanOut: string;
  size: Size;
}

/** `n` indices spread evenly over 0..total−1 (all of them when n ≥ total). */
export function spreadIndices(total: number, n: number): number[] {
  if (n >= total) return Array.from({ length: total }, (_, i) => i);
  return Array.from({ length: n }, (_, i) => Math.floor(((i + 0.5) * total) / n));
}

/** A model (plus optional refinement) that warps each film into its matched region. */
async function loadAligner(dir: string, refine: number, templatePath: string | undefined, log: (m: string) => void) {
  const { model } = await loadModelDir(dir);
  let tpl;
  try {
    tpl = refine > 0 ? loadTemplate(templatePath, dir, log) : undefined;
  } catch (e) {
    model.dispose();
    throw e;
  }
  const template = tpl?.image;
  log(`aligning each film with ${dir}${tpl ? ` + ${refine} refinement steps toward ${tpl.name}` : ''} before averaging`);
  return {
    frame: model.config.frame,
    async warp(imgs: GrayImage[], frame: Size): Promise<GrayImage[]> {
      const ms = await predictMatrices(model, imgs, 8, template ? { template, iterations: refine } : undefined);
      // The matched region, not the exported frame: undo the model's margin.
      return Promise.all(imgs.map((img, i) => warpImage(img, regionMatrix(model.config.margin, ms[i]), frame)));
    },
    dispose: () => model.dispose(),
  };
}

export async function canonicalCommand(opts: CanonicalOptions): Promise<CanonicalResult> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const { files } = walkFolder(opts.images);
  if (files.length === 0) throw new UsageError(`no image files in ${opts.images}`);
  const picked = spreadIndices(files.length, opts.n ?? 1000).map((i) => files[i]);
  if (opts.model) await setupBackend('auto', log, { threads: opts.threads });
  const aligner = opts.model ? await loadAligner(opts.model, opts.refine ?? 0, opts.template, log) : undefined;
  const size = opts.meanSize ?? aligner?.frame ?? { width: 512, height: 512 };
  const mean = new MeanImageBuilder(size.width, size.height);
  const failed: CanonicalResult['failed'] = [];
  const bar = new ProgressBar(picked.length, 'img', opts.sink ?? stderrSink());
  // Films go to the model 8 at a time (batched prediction and refinement).
  let pending: GrayImage[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    for (const w of aligner ? await aligner.warp(pending, size) : pending) mean.add(w);
    bar.tick(pending.length);
    pending = [];
  };
  for (const rel of picked) {
    const path = join(opts.images, rel);
    try {
      pending.push(decodeImage(new Uint8Array(await readFile(path)), path));
    } catch (e) {
      const reason = e instanceof ImageDecodeError ? e.reason : (e as Error).message;
      failed.push({ key: path, reason });
      bar.message(`error: ${path}: ${reason}`);
      bar.tick(0, 1);
    }
    if (pending.length === 8) await flush();
  }
  await flush();
  bar.finish();
  if (mean.count === 0) throw new Error(`none of the ${picked.length} files in ${opts.images} could be read`);
  aligner?.dispose();
  const m = mean.result();
  const box = opts.crop && opts.crop !== 'auto' ? parseBox(opts.crop) : undefined;
  // Films aligned to the matched region already are the lung region: keep the whole mean.
  const c = aligner && !box
    ? { template: m, box: { x: 0, y: 0, width: m.width, height: m.height }, lungBox: { x: 0, y: 0, width: m.width, height: m.height } }
    : canonicalFromMean(m, { box });
  const meanOut = opts.meanOut ?? `${opts.out.slice(0, opts.out.length - extname(opts.out).length)}-mean.png`;
  mkdirSync(dirname(opts.out) || '.', { recursive: true });
  mkdirSync(dirname(meanOut) || '.', { recursive: true });
  writeFileSync(opts.out, encodePng(c.template));
  writeFileSync(meanOut, encodePng(m));
  const r = (b: Box) => [b.x, b.y, b.width, b.height].map((v) => Math.round(v)).join(',');
  log(`mean of ${mean.count}${aligner ? ' aligned' : ''} film(s) at ${size.width}x${size.height}${failed.length ? ` (${failed.length} unreadable, skipped)` : ''}`);
  if (aligner && !box) log(`the films were aligned by ${opts.model}: the mean is the canonical chest as it is (no lung crop)`);
  else log(`lung box ${r(c.lungBox)}; crop ${r(c.box)} (x,y,w,h in the mean's pixels; pass --crop ${r(c.box)} to reuse it)`);
  log(`wrote ${opts.out} (${c.template.width}x${c.template.height}) and ${meanOut}`);
  return { used: mean.count, failed, box: c.box, lungBox: c.lungBox, out: opts.out, meanOut, size: { width: c.template.width, height: c.template.height } };
}

export const CANONICAL_OPTIONS: OptionSpecs = {
  images: { type: 'string', required: true, meta: 'DIR', help: 'folder of films (searched recursively)' },
  n: { type: 'int', meta: 'N', default: 1000, help: 'films to average, spread evenly over the sorted folder' },
  crop: { type: 'string', meta: 'auto|x,y,w,h', default: 'auto', help: 'lung crop: found automatically (+ margin), or a box in the mean\'s pixels' },
  out: { type: 'string', required: true, meta: 'PNG', alias: 'o', help: 'the canonical chest (the crop)' },
  'mean-out': { type: 'string', meta: 'PNG', help: 'the uncropped mean image (default: OUT with "-mean" before .png)' },
  'mean-size': { type: 'size', meta: 'WxH', help: 'size of the mean (default 512x512; with --model, the model\'s frame)' },
  model: { type: 'string', meta: 'DIR', help: 'align every film with this model (into its matched region) before averaging: groupwise sharpening' },
  refine: { type: 'int', meta: 'N', default: 0, help: 'with --model: N refinement steps toward the template per film' },
  template: { type: 'string', meta: 'PNG', help: 'with --refine: the template (default: the model folder\'s template.png, else models/canonical-chest.png)' },
  ...THREADS_OPTION,
  quiet: { type: 'boolean', alias: 'q', help: 'no progress bar' },
};

export const CANONICAL_USAGE = `Usage: cxr-align canonical --images DIR --out PNG [options]

Averages N films and crops the mean to the lungs: the template that training
aligns to. With --model, averages the films as that model aligns them
(groupwise sharpening; repeat with the sharper template).

${formatOptions(CANONICAL_OPTIONS)}

Examples:
  cxr-align canonical --images ~/cxr14/images --n 1000 --out models/canonical-chest.png
  cxr-align canonical --images ~/cxr14/images --crop 70,60,380,280 --out chest.png
  # sharpen: the mean of the films as a model (+ refinement) aligns them
  cxr-align canonical --images ~/cxr14/images --n 500 --model models/default --refine 50 --out sharper.png`;

export async function runCanonical(argv: string[]): Promise<number> {
  const a = parseArgs(argv, CANONICAL_OPTIONS);
  if (a.positionals.length) throw new UsageError(`unexpected argument "${a.positionals[0]}" (use --images DIR)`);
  const v = a.values;
  const r = await canonicalCommand({
    images: v.images as string, n: v.n as number, crop: v.crop as string, out: v.out as string,
    meanOut: v['mean-out'] as string | undefined, meanSize: v['mean-size'] as Size | undefined,
    model: v.model as string | undefined, refine: v.refine as number, template: v.template as string | undefined,
    threads: v.threads as number | undefined, sink: v.quiet ? silentSink : undefined,
  });
  return 0;
}
