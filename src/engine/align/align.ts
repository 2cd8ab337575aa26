import * as tf from '../tf';
import { matrixToParams, type AffineMatrix, type AffineParams, type Size } from '../affine/affine';
import type { GrayImage } from '../io/gray-image';
import { paramsToTheta, readParamsRows, type AlignmentModel } from '../models/stn/stn';
import { outputMatrix } from '../models/stn/output-matrix';
import type { StnConfig } from '../models/stn/config';
import { refineBatch } from './refine';
import { warpAffine } from '../sampler/warp';
import { encoderInput, grayToTensor, tensorToGray, warpSource } from './prepare';
import { cropView, paramsOnFilm, paramsOnView, type ContentCrop } from '../image/content-crop';

export interface AlignResult {
  /** (tx, ty, sx, sy, θ) of `matrix` (the network's prediction with the model's frame margin applied). */
  params: AffineParams;
  matrix: AffineMatrix;
  /** The film warped into the frame. */
  aligned: GrayImage;
}

/**
 * Align stage 1: the network's (tx, ty, sx, sy, θ) from encoder inputs
 * (`locInput` of each film at the model's locSize), `batchSize` at a time.
 * These are the raw parameters: they map the matched region, before the
 * model's output-frame margin.
 */
export async function predictFromLocs(model: AlignmentModel, locs: readonly Float32Array[], batchSize = 8): Promise<AffineParams[]> {
  const L = model.config.locSize;
  const out: AffineParams[] = [];
  for (let i = 0; i < locs.length; i += batchSize) {
    const chunk = locs.slice(i, i + batchSize);
    const buf = new Float32Array(chunk.length * L * L);
    chunk.forEach((l, k) => {
      if (l.length !== L * L) throw new Error(`an encoder input has ${l.length} values, the model's ${L}x${L} input needs ${L * L}`);
      buf.set(l, k * L * L);
    });
    const p = tf.tidy(() => model.predictParams(tf.tensor4d(buf, [chunk.length, L, L, 1])));
    try {
      out.push(...await readParamsRows(p));
    } finally { p.dispose(); }
  }
  return out;
}

/** Stage 1 from whole films: frames of the whole films (the model's view crop composed in). */
export async function predictParams(model: AlignmentModel, images: readonly GrayImage[], batchSize = 8): Promise<AffineParams[]> {
  const inputs = images.map((im) => encoderInput(im, model.config));
  const onView = await predictFromLocs(model, inputs.map((x) => x.loc), batchSize);
  return onView.map((p, i) => paramsOnFilm(inputs[i].crop, p));
}

/** Warp one film with a matrix into a frame of any size (the export path). */
export async function warpImage(img: GrayImage, matrix: AffineMatrix, frame: Size): Promise<GrayImage> {
  const src = warpSource(img, frame);
  const out = tf.tidy(() => warpAffine(grayToTensor(src), tf.tensor3d(matrix.flat(), [1, 2, 3]), frame));
  const g = await tensorToGray(out, img.source);
  out.dispose();
  return g;
}

export interface RefineSettings {
  /** The template the model was trained to match (the lung-box region, before the frame margin). */
  template: GrayImage;
  iterations: number;
  /** Long side of the refinement frame (default 128). */
  size?: number;
}

/**
 * Align stage 2: test-time refinement of the raw parameters of whole films
 * against the template, within the model's own scale bounds, `batchSize`
 * films at a time (a batch is refined together: cheaper per film, same
 * result). With `crops` (the films' encoder views), each film is refined on
 * its view, where the network's frame lies within those bounds.
 */
export async function refineForModel(
  model: AlignmentModel, films: readonly GrayImage[], params: readonly AffineParams[], refine: RefineSettings | undefined, batchSize = 8, crops?: readonly ContentCrop[],
): Promise<AffineParams[]> {
  if (!crops) return refineViews(model, films, params, refine, batchSize);
  const views = films.map((f, i) => cropView(f, crops[i]));
  const refined = await refineViews(model, views, params.map((p, i) => paramsOnView(crops[i], p)), refine, batchSize);
  return refined.map((p, i) => paramsOnFilm(crops[i], p));
}

async function refineViews(model: AlignmentModel, films: readonly GrayImage[], params: readonly AffineParams[], refine: RefineSettings | undefined, batchSize: number): Promise<AffineParams[]> {
  if (!refine || refine.iterations <= 0) return params.map((p) => [...p] as AffineParams);
  const [minScale, maxScale] = model.config.bounds.scale;
  const opts = { iterations: refine.iterations, size: refine.size, minScale, maxScale };
  const out: AffineParams[] = [];
  for (let i = 0; i < films.length; i += batchSize) {
    out.push(...await refineBatch(films.slice(i, i + batchSize), refine.template, params.slice(i, i + batchSize), opts));
  }
  return out;
}

/** Align stage 3: the matrices a model exports (its output-frame margin applied). */
export function outputMatrices(config: Pick<StnConfig, 'margin'>, params: readonly AffineParams[]): AffineMatrix[] {
  return params.map((p) => outputMatrix(config, p));
}

export interface BatchMatrices {
  /** The network's own raw parameters, as frames of the whole films. */
  network: AffineParams[];
  /** After refinement (the network's when refinement is off), of the whole films. */
  raw: AffineParams[];
  /** What is exported and warped with: `raw` with the output margin. */
  matrices: AffineMatrix[];
}

export interface AlignBatchOptions {
  /** The whole films, for refinement (any resolution: normalized coordinates). */
  films?: readonly GrayImage[];
  refine?: RefineSettings;
  batchSize?: number;
  /** Where each encoder input's view lies on its film (encoderInput's crop); whole films when absent. */
  crops?: readonly ContentCrop[];
}

/**
 * Stages 1–3 for a batch: encoder inputs → network → (refinement, which needs
 * the films) → output matrices, frames of the whole films. Both hosts call
 * this; stage 4 is the warp, done where the pixels are (warpImage on the
 * backend, warpImageHost off it).
 */
export async function alignMatrices(model: AlignmentModel, locs: readonly Float32Array[], opts: AlignBatchOptions = {}): Promise<BatchMatrices> {
  const batchSize = opts.batchSize ?? 8;
  const crops = opts.crops;
  if (crops && crops.length !== locs.length) throw new Error(`${crops.length} view crops for ${locs.length} encoder inputs`);
  const onView = await predictFromLocs(model, locs, batchSize);
  const network = crops ? onView.map((p, i) => paramsOnFilm(crops[i], p)) : onView;
  let raw = network;
  if (opts.refine && opts.refine.iterations > 0) {
    if (!opts.films || opts.films.length !== locs.length) throw new Error('refinement needs the films beside their encoder inputs');
    raw = await refineForModel(model, opts.films, network, opts.refine, batchSize, crops);
  }
  return { network, raw, matrices: outputMatrices(model.config, raw) };
}

/**
 * Predict (and optionally refine) the matrices of whole films, without
 * warping: what evaluation and transform export need.
 */
export async function predictMatrices(model: AlignmentModel, images: readonly GrayImage[], batchSize = 8, refine?: RefineSettings): Promise<AffineMatrix[]> {
  const inputs = images.map((im) => encoderInput(im, model.config));
  return (await alignMatrices(model, inputs.map((x) => x.loc), { films: images, refine, batchSize, crops: inputs.map((x) => x.crop) })).matrices;
}

/** All four stages for whole films in memory (tests, scripts). */
export async function alignImages(model: AlignmentModel, images: GrayImage[], frame: Size = model.config.frame, batchSize = 8, refine?: RefineSettings): Promise<AlignResult[]> {
  const matrices = await predictMatrices(model, images, batchSize, refine);
  const results: AlignResult[] = [];
  for (let i = 0; i < images.length; i++) {
    const matrix = matrices[i];
    results.push({ params: matrixToParams(matrix), matrix, aligned: await warpImage(images[i], matrix, frame) });
  }
  return results;
}

export { paramsToTheta };
