import type { AffineMatrix, Size } from '../affine/affine';
import type { GrayImage } from '../io/gray-image';
import { warpSource } from './prepare';

/**
 * The export warp on the host, in plain JavaScript: the same bilinear
 * sampling as the engine's `gridSample` (PyTorch grid_sample, bilinear,
 * zero padding, align_corners=False) and the same matrix convention
 * (affine.ts), for one gray image and one matrix.
 *
 * Inference does not need the tensor sampler's gradient machinery, and for a
 * full-resolution export (say 1024x1024 or 3000x2500) building the grid and
 * four gathers as tensors costs tens of megabytes and several passes; this
 * loop reads four pixels per output pixel and nothing else.
 */
export function warpGrayHost(src: GrayImage, matrix: AffineMatrix, frame: Size): GrayImage {
  const { width: w, height: h, data } = src;
  const W = frame.width;
  const H = frame.height;
  const out = new Float32Array(W * H);
  const [[a, b, c], [d, e, f]] = matrix;
  // Normalized → input pixel: x_pix = (x + 1)·w/2 − 0.5 (align_corners=False).
  const hw = w / 2;
  const hh = h / 2;
  for (let i = 0; i < H; i++) {
    const yn = (2 * i + 1) / H - 1;
    const rx = b * yn + c + 1;
    const ry = e * yn + f + 1;
    const row = i * W;
    for (let j = 0; j < W; j++) {
      const xn = (2 * j + 1) / W - 1;
      const x = (a * xn + rx) * hw - 0.5;
      const y = (d * xn + ry) * hh - 0.5;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      if (x0 >= 0 && y0 >= 0 && x0 < w - 1 && y0 < h - 1) {
        const p = y0 * w + x0;
        const v00 = data[p];
        const v01 = data[p + 1];
        const v10 = data[p + w];
        const v11 = data[p + w + 1];
        const top = v00 * (1 - fx) + v01 * fx;
        const bottom = v10 * (1 - fx) + v11 * fx;
        out[row + j] = top + (bottom - top) * fy;
      } else if (x0 >= -1 && y0 >= -1 && x0 <= w - 1 && y0 <= h - 1) {
        // On the border: corners outside the image read as zero.
        const in0x = x0 >= 0;
        const in1x = x0 + 1 <= w - 1;
        const in0y = y0 >= 0;
        const in1y = y0 + 1 <= h - 1;
        const p = y0 * w + x0;
        const v00 = in0x && in0y ? data[p] : 0;
        const v01 = in1x && in0y ? data[p + 1] : 0;
        const v10 = in0x && in1y ? data[p + w] : 0;
        const v11 = in1x && in1y ? data[p + w + 1] : 0;
        const top = v00 * (1 - fx) + v01 * fx;
        const bottom = v10 * (1 - fx) + v11 * fx;
        out[row + j] = top + (bottom - top) * fy;
      }
      // Otherwise (or NaN coordinates) the pixel stays 0, as zero padding gives.
    }
  }
  return { width: W, height: H, data: out, source: src.source };
}

/**
 * `warpImage` (align.ts) on the host: the film is first reduced with
 * `warpSource` exactly as the tensor path does, then warped with
 * `warpGrayHost`. Synchronous; no tensors are created.
 */
export function warpImageHost(img: GrayImage, matrix: AffineMatrix, frame: Size): GrayImage {
  const g = warpGrayHost(warpSource(img, frame), matrix, frame);
  return { ...g, source: img.source };
}
