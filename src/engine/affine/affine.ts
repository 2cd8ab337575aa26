/**
 * The one place that defines how cxr-align writes a transform. Every exported
 * matrix, CSV row and parameter vector uses this convention.
 *
 * A transform is a 2x3 matrix A = [[a, b, c], [d, e, f]] in PyTorch
 * `affine_grid` normalized coordinates with align_corners=False:
 *
 *   - In an image of width W and height H, pixel column j (0-based) has the
 *     normalized x = (2j + 1) / W − 1, row i has y = (2i + 1) / H − 1; so −1 and
 *     +1 are the outer edges of the border pixels, and (0, 0) is the centre.
 *   - A maps a point of the OUTPUT frame to the point of the INPUT image that is
 *     sampled there: [x_in, y_in] = A · [x_out, y_out, 1].
 *   - Because both sides are normalized, one A serves every resolution: the same
 *     matrix warps a 128 px thumbnail or the 3000x2500 original into a frame of
 *     any size (the export resolution), with identical geometry.
 *
 * The network regresses p = (tx, ty, sx, sy, θ), turned into
 *   A = [[sx·cosθ, −sy·sinθ, tx], [sx·sinθ, sy·cosθ, ty]]
 * so sx, sy < 1 zoom in (the frame shows a smaller part of the input), tx > 0
 * looks further right in the input, θ > 0 turns the sampled region clockwise on
 * screen (y points down).
 */

export type AffineParams = [tx: number, ty: number, sx: number, sy: number, theta: number];
export type AffineMatrix = [[number, number, number], [number, number, number]];
export interface Size { width: number; height: number }
export interface Point { x: number; y: number }

export const IDENTITY_PARAMS: AffineParams = [0, 0, 1, 1, 0];
export const IDENTITY_MATRIX: AffineMatrix = [[1, 0, 0], [0, 1, 0]];

export function paramsToMatrix([tx, ty, sx, sy, theta]: readonly number[]): AffineMatrix {
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  return [[sx * c, -sy * s, tx], [sx * s, sy * c, ty]];
}

/**
 * Inverse of paramsToMatrix for matrices without shear. sy may come out
 * negative for a reflection, which the bounded head never produces.
 */
export function matrixToParams(m: AffineMatrix): AffineParams {
  const [[a, b, tx], [d, e, ty]] = m;
  const sx = Math.hypot(a, d);
  const theta = Math.atan2(d, a);
  const sy = -b * Math.sin(theta) + e * Math.cos(theta);
  return [tx, ty, sx, sy, theta];
}

/** The matrix that first applies `inner`, then `outer` (point maps: outer(inner(p))). */
export function compose(outer: AffineMatrix, inner: AffineMatrix): AffineMatrix {
  const [[a, b, c], [d, e, f]] = outer;
  const [[g, h, i], [j, k, l]] = inner;
  return [
    [a * g + b * j, a * h + b * k, a * i + b * l + c],
    [d * g + e * j, d * h + e * k, d * i + e * l + f],
  ];
}

export function determinant(m: AffineMatrix): number {
  return m[0][0] * m[1][1] - m[0][1] * m[1][0];
}

export function invert(m: AffineMatrix): AffineMatrix {
  const [[a, b, c], [d, e, f]] = m;
  const det = a * e - b * d;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) {
    throw new Error(`affine matrix is singular (determinant ${det})`);
  }
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [[ia, ib, -(ia * c + ib * f)], [id, ie, -(id * c + ie * f)]];
}

export function applyToPoint(m: AffineMatrix, p: Point): Point {
  return { x: m[0][0] * p.x + m[0][1] * p.y + m[0][2], y: m[1][0] * p.x + m[1][1] * p.y + m[1][2] };
}

/** Pixel coordinate (column, row; pixel centres at integers) → normalized, align_corners=False. */
export function pixelToNormalized(p: Point, size: Size): Point {
  return { x: (2 * p.x + 1) / size.width - 1, y: (2 * p.y + 1) / size.height - 1 };
}

export function normalizedToPixel(p: Point, size: Size): Point {
  return { x: ((p.x + 1) * size.width - 1) / 2, y: ((p.y + 1) * size.height - 1) / 2 };
}

/** Where output-frame pixel `p` samples the input image (both in pixel coordinates). */
export function frameToInputPixel(m: AffineMatrix, p: Point, frame: Size, input: Size): Point {
  return normalizedToPixel(applyToPoint(m, pixelToNormalized(p, frame)), input);
}

/** Where input-image pixel `p` lands in the output frame (e.g. to carry landmarks). */
export function inputToFramePixel(m: AffineMatrix, p: Point, frame: Size, input: Size): Point {
  return normalizedToPixel(applyToPoint(invert(m), pixelToNormalized(p, input)), frame);
}

/**
 * The matrix a plain resize/letterbox would use is the identity: align_corners=False
 * normalized coordinates already stretch any input onto any frame. This helper
 * gives the matrix that keeps the input's aspect ratio instead (zero padding fills
 * the rest), useful when a non-square film must not be squashed.
 */
export function aspectPreservingMatrix(frame: Size, input: Size): AffineMatrix {
  const frameAspect = frame.width / frame.height;
  const inputAspect = input.width / input.height;
  return frameAspect > inputAspect
    ? [[frameAspect / inputAspect, 0, 0], [0, 1, 0]]
    : [[1, 0, 0], [0, inputAspect / frameAspect, 0]];
}

export function isFiniteMatrix(m: AffineMatrix): boolean {
  return m.every((row) => row.every(Number.isFinite));
}
