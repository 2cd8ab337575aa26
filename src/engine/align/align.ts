import * as tf from '../tf';
import { paramsToMatrix, type AffineMatrix, type AffineParams, type Size } from '../affine/affine';
import type { GrayImage } from '../io/gray-image';
import { paramsToTheta, paramsRows, type AlignmentModel } from '../models/stn/stn';
import { warpAffine } from '../sampler/warp';
import { grayToTensor, locInput, tensorToGray, warpSource } from './prepare';

export interface AlignResult {
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
    await p.data();
    out.push(...paramsRows(p));
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

/** Predict and warp: the one call the CLI and the workbench use per batch. */
export async function alignImages(model: AlignmentModel, images: GrayImage[], frame: Size = model.config.frame, batchSize = 8): Promise<AlignResult[]> {
  const params = await predictParams(model, images, batchSize);
  const results: AlignResult[] = [];
  for (let i = 0; i < images.length; i++) {
    const matrix = paramsToMatrix(params[i]);
    results.push({ params: params[i], matrix, aligned: await warpImage(images[i], matrix, frame) });
  }
  return results;
}

export { paramsToTheta };
