import type { AffineMatrix, Size } from '../affine/affine';
import { locInput } from '../align/prepare';
import type { GrayImage } from '../io/gray-image';
import { resizeArea } from '../image/resize';
import type { TrainingImage } from './batch';

/**
 * A film as a training step reads it, prepared once: the encoder's square
 * copy and the whole film area-reduced to the warp source size (twice the
 * loss frame by convention: enough detail for any augmentation's zoom).
 */
export function prepareTrainingFilm(img: GrayImage, id: string, locSize: number, srcSize: Size, target?: AffineMatrix): TrainingImage {
  const film: TrainingImage = { id, loc: locInput(img, locSize), src: resizeArea(img, srcSize.width, srcSize.height).data };
  if (target) film.target = target;
  return film;
}

/** The warp source of a prepared film, as an image. */
export function trainingSource(film: TrainingImage, srcSize: Size): GrayImage {
  return { width: srcSize.width, height: srcSize.height, data: film.src, source: film.id };
}
