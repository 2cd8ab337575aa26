/**
 * Alignment jobs on the engine's align stages (alignMatrices: encoder inputs
 * → network → optional refinement → output matrices; then the warp): the
 * gallery, the doubt check, the compare view and the template score.
 */
import {
  alignMatrices, cropView, DOUBT_RULE, encodePng, IDENTITY_MATRIX, judgeDoubt, matrixToParams, outputMatrix, paramsToMatrix, refineForModel, resizeArea, warpImage,
  type AffineParams, type ContentCrop, type RefineSettings,
} from '../../../engine';
import { thumbFrame, toBytes } from '../../lib/geometry';
import { templateMismatch } from '../../lib/score';
import type { JobContext } from '../dispatcher';
import type { AlignEvent, AlignResultSummary, DoubtEvent, DoubtSummary, ViewResult } from '../protocol';
import { grayOf, type FilmEntry, type FilmResult, type Session } from '../session';

const BATCH = 8;
const GALLERY_HEIGHT = 160;
const SCORE_HEIGHT = 80;
/** Refinement works on the 8-bit working copies, already about twice this size. */
const REFINE_SIZE = 128;

function refineSettings(s: Session, iterations = s.refine): RefineSettings | undefined {
  return iterations > 0 ? { template: s.template.image, iterations, size: REFINE_SIZE } : undefined;
}

/** Stages 1–3 for a batch of loaded films. */
async function matricesOf(s: Session, entries: FilmEntry[]): Promise<FilmResult[]> {
  const inputs: FilmEntry['loc'][] = [];
  for (const e of entries) inputs.push(await s.ensureLoc(e));
  const refine = refineSettings(s);
  const r = await alignMatrices(s.model, inputs.map((x) => x.data), {
    films: refine ? entries.map((e) => grayOf(e.work)) : undefined, refine, batchSize: BATCH, crops: inputs.map((x) => x.crop),
  });
  const out: FilmResult[] = [];
  for (let k = 0; k < entries.length; k++) {
    const matrix = r.matrices[k];
    out.push({ params: matrixToParams(matrix), matrix, raw: r.raw[k], score: await score(s, entries[k], r.raw[k]), network: r.network[k], refinedSteps: s.refine });
  }
  return out;
}

function scoreTemplate(s: Session): Float32Array {
  const f = thumbFrame(s.model.config.frame, SCORE_HEIGHT);
  const key = `${f.width}x${f.height}`;
  if (s.scoreCache?.key !== key) s.scoreCache = { key, data: resizeArea(s.template.image, f.width, f.height).data };
  return s.scoreCache.data;
}

/** Mismatch with the template, in the region the model matches (the template does not cover the output margin). */
async function score(s: Session, e: FilmEntry, raw: AffineParams): Promise<number> {
  const f = thumbFrame(s.model.config.frame, SCORE_HEIGHT);
  const region = await warpImage(grayOf(e.work), paramsToMatrix(raw), f);
  return templateMismatch(region.data, scoreTemplate(s));
}

export async function align(s: Session, ids: string[], refine: number | undefined, ctx: JobContext<AlignEvent>): Promise<AlignResultSummary> {
  s.refine = Math.max(0, Math.round(refine ?? 0));
  const t0 = performance.now();
  const entries = s.entries(ids);
  const gallery = thumbFrame(s.model.config.frame, GALLERY_HEIGHT);
  let done = 0;
  for (let i = 0; i < entries.length && !ctx.signal.ending; i += BATCH) {
    const chunk = entries.slice(i, i + BATCH);
    const results = await matricesOf(s, chunk);
    for (let k = 0; k < chunk.length; k++) {
      const e = chunk[k];
      e.result = results[k];
      const aligned = await warpImage(grayOf(e.work), e.result.matrix, gallery);
      done++;
      ctx.emit({ kind: 'aligned', id: e.id, params: e.result.params, matrix: e.result.matrix, score: e.result.score, aligned: encodePng(aligned), done, total: entries.length });
    }
    await s.checkpoint(ctx.signal);
  }
  return { aligned: done, ms: performance.now() - t0, cancelled: done < entries.length, backend: s.backend };
}

/**
 * The doubt check, run after the plain alignment is shown: the frame of each
 * film's network prediction against a short refinement from it — or against
 * the user's own refinement when that was on, at no extra cost — and the share
 * of black border in what the network sees (the working copy, cropped to the
 * model's view). The rule and its thresholds are the
 * engine's (DOUBT_RULE). A short refinement costs about as much as the network
 * itself (~40 ms a film on 2 WASM threads, batches of 8).
 */
export async function doubts(s: Session, ids: string[], ctx: JobContext<DoubtEvent>): Promise<DoubtSummary> {
  const t0 = performance.now();
  const entries = s.entries(ids).filter((e) => !!e.result?.network);
  const { frame } = s.model.config;
  let done = 0;
  let doubtful = 0;
  for (let i = 0; i < entries.length && !ctx.signal.ending; i += BATCH) {
    const chunk = entries.slice(i, i + BATCH);
    const network = chunk.map((e) => e.result!.network!);
    const crops: ContentCrop[] = [];
    for (const e of chunk) crops.push((await s.ensureLoc(e)).crop);
    const short = chunk.some((e) => !e.result!.refinedSteps)
      ? await refineForModel(s.model, chunk.map((e) => grayOf(e.work)), network, { template: s.template.image, iterations: DOUBT_RULE.refineIterations, size: DOUBT_RULE.refineSize }, BATCH, crops)
      : network;
    for (let k = 0; k < chunk.length; k++) {
      const e = chunk[k];
      const r = e.result!;
      const refinedSteps = r.refinedSteps ?? 0;
      const against = refinedSteps > 0 ? r.raw : short[k];
      const d = judgeDoubt(outputMatrix(s.model.config, network[k]), outputMatrix(s.model.config, against), frame, cropView(grayOf(e.work), crops[k]),
        DOUBT_RULE, refinedSteps > 0 ? `its refinement (×${refinedSteps})` : undefined);
      if (d.reasons.length) doubtful++;
      done++;
      ctx.emit({ id: e.id, doubt: d, done, total: entries.length });
    }
    await s.checkpoint(ctx.signal);
  }
  return { checked: done, doubtful, ms: performance.now() - t0, cancelled: done < entries.length };
}

/** A film's result, computed now when the gallery has not reached it yet. */
export async function resultOf(s: Session, e: FilmEntry): Promise<FilmResult> {
  e.result ??= (await matricesOf(s, [e]))[0];
  return e.result;
}

export async function view(s: Session, id: string): Promise<ViewResult> {
  const e = s.entry(id);
  const r = await resultOf(s, e);
  const img = await s.decodeEntry(e);
  const frame = s.model.config.frame;
  const initial = await warpImage(img, IDENTITY_MATRIX, frame);
  const aligned = await warpImage(img, r.matrix, frame);
  return {
    id, name: e.name, width: e.width, height: e.height, frame: { ...frame },
    params: r.params, matrix: r.matrix, score: r.score,
    initial: encodePng(initial), aligned: encodePng(aligned),
    initialGray: toBytes(initial.data), alignedGray: toBytes(aligned.data),
  };
}

export async function rescore(s: Session): Promise<{ scores: Record<string, number> }> {
  const scores: Record<string, number> = {};
  for (const e of s.images.values()) {
    if (!e.result) continue;
    e.result.score = await score(s, e, e.result.raw);
    scores[e.id] = e.result.score;
  }
  return { scores };
}
