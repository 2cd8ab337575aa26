import { paramsOnFilm, WHOLE_FILM, type ContentCrop } from '../image/content-crop';
import { IDENTITY_MATRIX, paramsToMatrix, type Size } from '../affine/affine';
import { predictFromLocs } from '../align/align';
import { warpImageHost } from '../align/warp-host';
import type { GrayImage } from '../io/gray-image';
import { resizeArea } from '../image/resize';
import type { AlignmentModel } from '../models/stn/stn';

export interface TrainingSample {
  /** The film as the network starts from it (identity transform). */
  input: GrayImage;
  /** Warped with the model's current prediction. */
  aligned: GrayImage;
  template: GrayImage;
}

/**
 * What training looks like at this step, on one film: input | aligned |
 * template at `frame`. The training frame is the matched region itself, so
 * the prediction is used without the output margin. `crop`: where the
 * encoder input's view lies on `film` (none when `film` is that view).
 */
export async function trainingSample(model: AlignmentModel, loc: Float32Array, film: GrayImage, template: GrayImage, frame: Size, crop: ContentCrop = WHOLE_FILM): Promise<TrainingSample> {
  const [params] = await predictFromLocs(model, [loc], 1);
  return {
    input: warpImageHost(film, IDENTITY_MATRIX, frame),
    aligned: warpImageHost(film, paramsToMatrix(paramsOnFilm(crop, params)), frame),
    template: template.width === frame.width && template.height === frame.height ? template : resizeArea(template, frame.width, frame.height),
  };
}

/** Images side by side with a white gap (the CLI's samples/step-N.png). */
export function sideBySide(panels: readonly GrayImage[], gap = 2): GrayImage {
  const h = Math.max(...panels.map((p) => p.height));
  const W = panels.reduce((n, p) => n + p.width, 0) + gap * (panels.length - 1);
  const data = new Float32Array(W * h).fill(1);
  let x0 = 0;
  for (const p of panels) {
    for (let y = 0; y < p.height; y++) data.set(p.data.subarray(y * p.width, (y + 1) * p.width), y * W + x0);
    x0 += p.width + gap;
  }
  return { width: W, height: h, data };
}
