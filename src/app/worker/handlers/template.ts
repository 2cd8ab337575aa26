/** Template jobs: what the model matches, building a mean of the loaded films, choosing a template. */
import { canonicalFromMean, decodeImage, encodePng, MeanImageBuilder, resizeArea, type Size } from '../../../engine';
import { toBytes } from '../../lib/geometry';
import type { JobContext } from '../dispatcher';
import type { MeanResult, TemplateInfo, TemplateRequest } from '../protocol';
import { grayOf, type Session } from '../session';

const MEAN_SIZE: Size = { width: 256, height: 256 };

export function describeTemplate(s: Session): TemplateInfo {
  const t = s.template.image;
  const { frame, margin } = s.model.config;
  // marginMatrix maps the output frame onto the matched region: invert it for the region's place in the frame.
  const sx = 1 + margin.left + margin.right;
  const sy = 1 + margin.top + margin.bottom;
  const region = { left: margin.left / sx, top: margin.top / sy, width: 1 / sx, height: 1 / sy };
  const regionSize = { width: Math.max(8, Math.round(frame.width * region.width)), height: Math.max(8, Math.round(frame.height * region.height)) };
  const atRegion = resizeArea(t, regionSize.width, regionSize.height);
  return {
    source: s.template.source, label: s.template.label, width: t.width, height: t.height,
    png: encodePng(t), frame: { ...frame }, region, regionSize, frameGray: toBytes(atRegion.data), framePng: encodePng(atRegion),
  };
}

export async function setTemplate(s: Session, req: TemplateRequest): Promise<TemplateInfo> {
  if (req.from === 'shipped') s.template = s.modelTemplate;
  else if (req.from === 'file') {
    s.template = { image: decodeImage(req.bytes, req.name), source: 'file', label: `loaded from ${req.name}`, bytes: req.bytes };
  } else {
    if (!s.mean) throw new Error('build the mean image first');
    const c = canonicalFromMean(s.mean, { box: req.box });
    const b = req.box;
    s.template = {
      image: c.template, source: 'mean', bytes: encodePng(c.template),
      label: `mean of ${s.mean.source?.replace(/^mean of /, '') ?? 'the loaded'} films, crop ${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.width)}x${Math.round(b.height)}`,
    };
  }
  s.scoreCache = null;
  return describeTemplate(s);
}

export async function buildMean(s: Session, ids: string[], ctx: JobContext<{ done: number; total: number }>): Promise<MeanResult> {
  const entries = s.entries(ids);
  if (entries.length === 0) throw new Error('load some films first: the mean is built from the loaded images');
  const builder = new MeanImageBuilder(MEAN_SIZE.width, MEAN_SIZE.height);
  for (const e of entries) {
    builder.add(grayOf(e.work));
    ctx.emit({ done: builder.count, total: entries.length });
    await s.checkpoint(ctx.signal);
    if (ctx.signal.ending) throw new Error('building the mean was cancelled');
  }
  const mean = builder.result();
  s.mean = mean;
  let proposed = { x: mean.width * 0.1, y: mean.height * 0.08, width: mean.width * 0.8, height: mean.height * 0.84 };
  let lungBox = proposed;
  try {
    const c = canonicalFromMean(mean);
    proposed = c.box;
    lungBox = c.lungBox;
  } catch { /* no lung fields found (e.g. synthetic inputs): keep the central box */ }
  return { png: encodePng(mean), width: mean.width, height: mean.height, count: builder.count, proposed, lungBox };
}
