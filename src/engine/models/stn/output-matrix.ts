import { compose, invert, paramsToMatrix, type AffineMatrix, type AffineParams } from '../../affine/affine';
import type { FrameMargin, StnConfig } from './config';

/**
 * The map from the grown output frame to the matched region's frame (both
 * normalized): the matched region [−1, 1] sits inside the output frame, which
 * extends `left·2` units further left, and so on.
 */
export function marginMatrix(m: FrameMargin): AffineMatrix {
  return [[1 + m.left + m.right, 0, m.right - m.left], [0, 1 + m.top + m.bottom, m.bottom - m.top]];
}

/** The matrix a model's prediction exports: θ applied after the frame margin. */
export function outputMatrix(config: Pick<StnConfig, 'margin'>, params: AffineParams): AffineMatrix {
  return compose(paramsToMatrix(params), marginMatrix(config.margin));
}

/**
 * The inverse of the margin step: an exported (output-frame) matrix back to
 * the matched region's matrix, which is what training and templates see.
 */
export function regionMatrix(margin: FrameMargin, output: AffineMatrix): AffineMatrix {
  return compose(output, invert(marginMatrix(margin)));
}
