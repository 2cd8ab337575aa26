import * as tf from '../tf';
import type { Size } from '../affine/affine';
import type { GrayImage } from '../io/gray-image';
import { resizeArea } from '../image/resize';
import { cropView, findContentCrop, WHOLE_FILM, type ContentCrop } from '../image/content-crop';
import type { InputCrop } from '../models/stn/config';

/**
 * The encoder's view of a film: the whole film squashed to L x L by area
 * averaging. The identity transform maps the whole film onto the frame, so
 * the encoder sees exactly what an unaligned output would show.
 */
export function locInput(img: GrayImage, locSize: number): Float32Array {
  return resizeArea(img, locSize, locSize).data;
}

export interface EncoderInput {
  /** The encoder's L x L copy of the view. */
  loc: Float32Array;
  /** The view: where it lies on the film (the whole film for a model that sees whole films). */
  crop: ContentCrop;
}

/** What a model's encoder sees of a film (config.inputCrop): the content crop, or the whole film. */
export function viewCrop(img: GrayImage, inputCrop: InputCrop): ContentCrop {
  return inputCrop === 'content' ? findContentCrop(img) : WHOLE_FILM;
}

/** The encoder input of a film for a model with this locSize and inputCrop. */
export function encoderInput(img: GrayImage, config: { locSize: number; inputCrop: InputCrop }): EncoderInput {
  const crop = viewCrop(img, config.inputCrop);
  return { loc: locInput(cropView(img, crop), config.locSize), crop };
}

/**
 * The copy of a film to warp into `frame`. Bilinear sampling only reads four
 * pixels, so a film much larger than the frame is first area-reduced to at
 * most twice the frame, which removes aliasing and the cost of uploading the
 * full film; a frame at the film's own size (export at original resolution)
 * samples the film itself.
 */
export function warpSource(img: GrayImage, frame: Size): GrayImage {
  const maxW = 2 * frame.width;
  const maxH = 2 * frame.height;
  if (img.width <= maxW && img.height <= maxH) return img;
  const f = Math.min(maxW / img.width, maxH / img.height);
  return resizeArea(img, Math.max(1, Math.round(img.width * f)), Math.max(1, Math.round(img.height * f)));
}

export function grayToTensor(img: GrayImage): tf.Tensor4D {
  return tf.tensor4d(img.data, [1, img.height, img.width, 1]);
}

export async function tensorToGray(t: tf.Tensor, source?: string): Promise<GrayImage> {
  const [, h, w] = t.shape;
  const data = (await t.data()) as Float32Array;
  return { width: w, height: h, data: data instanceof Float32Array ? data : Float32Array.from(data), source };
}
