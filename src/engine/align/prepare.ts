import * as tf from '../tf';
import type { Size } from '../affine/affine';
import type { GrayImage } from '../io/gray-image';
import { resizeArea } from '../image/resize';

/**
 * The encoder's view of a film: the whole film squashed to L x L by area
 * averaging. The identity transform maps the whole film onto the frame, so
 * the encoder sees exactly what an unaligned output would show.
 */
export function locInput(img: GrayImage, locSize: number): Float32Array {
  return resizeArea(img, locSize, locSize).data;
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
