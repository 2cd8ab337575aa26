import * as tf from '../tf';

/**
 * Where the windowed NCC should look hardest: the template's lung fields and a
 * band around them. The lung Dice is decided by the lung outlines (chest walls,
 * apices, domes of the diaphragm); shoulders, neck and abdomen in the frame
 * pull the fit toward whatever they do. The fields are found in the template
 * itself — its darkest share after a blur — so no lung mask is needed.
 * Measured, not used by the default: it leans on the lung interiors, which are
 * what an opacity changes (models/README.md, "Opacity augmentation").
 */
export interface LungFieldOptions {
  /** Share of the (blurred) template's pixels counted as lung field. */
  share?: number;
  /** Blur before thresholding, in loss-frame pixels (odd). */
  blur?: number;
  /** Band kept around the fields, in loss-frame pixels: the outlines are the signal. */
  band?: number;
}

export const LUNG_FIELD_DEFAULTS: Required<LungFieldOptions> = { share: 0.4, blur: 9, band: 6 };

/** 1 on the lung fields and their band, 0 elsewhere: [1, H, W, 1], the template's size. */
export function lungFieldMask(template: tf.Tensor4D, opts: LungFieldOptions = {}): tf.Tensor4D {
  const { share, blur, band } = { ...LUNG_FIELD_DEFAULTS, ...opts };
  return tf.tidy(() => {
    const blurred = tf.avgPool(template, blur, 1, 'same');
    const flat = blurred.flatten();
    const k = Math.max(1, Math.round(share * flat.size));
    // The k-th darkest value, without reading the tensor back (runs the same on a GPU backend).
    const threshold = tf.topk(flat.neg(), k).values.slice([k - 1], [1]).neg();
    const dark = blurred.lessEqual(threshold.reshape([1, 1, 1, 1])).toFloat() as tf.Tensor4D;
    const fields = dark.sub(reachedFromTop(dark)) as tf.Tensor4D;
    return band > 0 ? tf.maxPool(fields, 2 * band + 1, 1, 'same') : fields;
  });
}

/**
 * The parts of a 0/1 mask connected to its top row. Above the apices the
 * template is as dark as the lungs (neck, the film's top), and a dark band
 * there is not lung. Grown one pixel per step inside the mask (geodesic
 * dilation) with tensor ops, so nothing is read back from a GPU backend.
 */
function reachedFromTop(mask: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = mask.shape;
  let reached = tf.concat([mask.slice([0, 0, 0, 0], [1, 1, w, 1]), tf.zeros([1, h - 1, w, 1])], 1) as tf.Tensor4D;
  for (let i = 0; i < h + w; i++) {
    const next = tf.maxPool(reached, 3, 1, 'same').mul(mask) as tf.Tensor4D;
    reached.dispose();
    reached = next;
  }
  return reached;
}

/**
 * Per-window weights for `localNcc` ('valid' windows of size `window`):
 * `off` outside the fields and their band, 1 on them, scaled to mean 1 so the
 * loss keeps the uniform NCC's scale. `off` = 1 is the uniform NCC.
 */
export function lungFieldWeights(template: tf.Tensor4D, window: number, off: number, opts: LungFieldOptions = {}): tf.Tensor4D {
  if (!(off >= 0 && off <= 1)) throw new Error(`the weight off the lung fields must be in [0, 1], got ${off}`);
  return tf.tidy(() => {
    const [, h, w] = template.shape;
    const half = Math.floor(window / 2);
    const mask = lungFieldMask(template, opts).slice([0, half, half, 0], [1, h - window + 1, w - window + 1, 1]);
    const weights = mask.mul(1 - off).add(off);
    return weights.div(weights.mean()) as tf.Tensor4D;
  });
}
