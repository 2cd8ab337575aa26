import type { AffineMatrix, Size } from '../affine/affine';
import { locInput, viewCrop } from '../align/prepare';
import { cropView, isWholeFilm, matrixOnView } from '../image/content-crop';
import type { InputCrop } from '../models/stn/config';
import type { GrayImage } from '../io/gray-image';
import { resizeArea } from '../image/resize';
import type { TrainingImage } from './batch';

/**
 * A film as a training step reads it, prepared once: the encoder's square
 * copy and the warp source (twice the loss frame by convention: enough
 * detail for any augmentation's zoom), both of the model's view of the film
 * (config.inputCrop) — the network is trained on what it will see when it
 * aligns. `target`, a matrix of the whole film, is taken onto the view.
 */
export function prepareTrainingFilm(img: GrayImage, id: string, view: { locSize: number; inputCrop: InputCrop }, srcSize: Size, target?: AffineMatrix): TrainingImage {
  const crop = viewCrop(img, view.inputCrop);
  const seen = cropView(img, crop);
  const film: TrainingImage = { id, loc: locInput(seen, view.locSize), src: resizeArea(seen, srcSize.width, srcSize.height).data };
  if (!isWholeFilm(crop)) film.crop = crop;
  if (target) film.target = matrixOnView(crop, target);
  return film;
}

/** The warp source of a prepared film, as an image. */
export function trainingSource(film: TrainingImage, srcSize: Size): GrayImage {
  return { width: srcSize.width, height: srcSize.height, data: film.src, source: film.id };
}
