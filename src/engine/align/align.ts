import * as tf from '../tf';
import { matrixToParams, type AffineMatrix, type AffineParams, type Size } from '../affine/affine';
import type { GrayImage } from '../io/gray-image';
import { paramsToTheta, readParamsRows, type AlignmentModel } from '../models/stn/stn';
import { outputMatrix } from '../models/stn/output-matrix';
import { refineBatch } from './refine';
import { warpAffine } from '../sampler/warp';
import { grayToTensor, locInput, tensorToGray, warpSource } from './prepare';

export interface AlignResult {
  /** (tx, ty, sx, sy, θ) of `matrix` (the network's prediction with the model's frame margin applied). */
  params: AffineParams;
  matrix: AffineMatrix;
  /** The film warped into the frame. */
  aligned: GrayImage;
}

/** Predict (tx, ty, sx, sy, θ) for films, `batchSize` at a time. */
export async function predictParams(model: AlignmentModel, images: GrayImage[], batchSize = 8): Promise<AffineParams[]> {
  const L = model.config.locSize;
  const out: AffineParams[] = [];
  for (let i = 0; i < images.length; i += batchSize) {
    const chunk = images.slice(i, i + batchSize);
    const buf = new Float32Array(chunk.length * L * L);
    chunk.forEach((im, k) => buf.set(locInput(im, L), k * L * L));
    const p = tf.tidy(() => model.predictParams(tf.tensor4d(buf, [chunk.length, L, L, 1])));
    out.push(...await readParamsRows(p));
    p.dispose();
  }
  return out;
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
  size?: number;
}

/**
 * Predict (and optionally refine) the matrices of films, without warping:
 * what evaluation and transform export need.
 */
export async function predictMatrices(model: AlignmentModel, images: GrayImage[], batchSize = 8, refine?: RefineSettings): Promise<AffineMatrix[]> {
  let params = await predictParams(model, images, batchSize);
  if (refine && refine.iterations > 0) {
    const refined: AffineParams[] = [];
    const opts = { iterations: refine.iterations, size: refine.size, minScale: model.config.bounds.scale[0], maxScale: model.config.bounds.scale[1] };
    for (let i = 0; i < images.length; i += batchSize) {
      refined.push(...await refineBatch(images.slice(i, i + batchSize), refine.template, params.slice(i, i + batchSize), opts));
    }
    params = refined;
  }
  return params.map((p) => outputMatrix(model.config, p));
}

/** Predict and warp: the one call the CLI and the workbench use per batch. */
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
