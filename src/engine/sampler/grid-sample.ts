import * as tf from '../tf';

/**
 * PyTorch `grid_sample(input, grid, mode='bilinear', padding_mode='zeros',
 * align_corners=False)` for NHWC images.
 *
 * The gradient is written by hand (tf.customGrad) for two reasons: tfjs's
 * image.transform has no gradient, and autodiff through gather needs a
 * scatter (UnsortedSegmentSum) for the image side that the WASM and WebGPU
 * backends either lack or run slowly — while training only needs d/dgrid,
 * which is a cheap elementwise expression of the four corner values.
 * The image is treated as a constant; use `gridSampleDifferentiable` when the
 * image itself needs a gradient.
 */
export function gridSample(image: tf.Tensor4D, grid: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = image.shape;
  const [gb, ho, wo] = grid.shape;
  if (gb !== b) throw new Error(`gridSample: ${b} images but ${gb} grids`);
  const n = ho * wo;

  const op = tf.customGrad(((g: tf.Tensor, save: tf.GradSaveFunc) => {
    const corners = sampleCorners(image, g as tf.Tensor4D);
    const out = tf.tidy(() => {
      const { v00, v01, v10, v11, fx, fy } = corners;
      const fx1 = fx.neg().add(1);
      const top = v00.mul(fx1).add(v01.mul(fx));
      const bottom = v10.mul(fx1).add(v11.mul(fx));
      return top.add(bottom.sub(top).mul(fy)).reshape([b, ho, wo, c]);
    });
    tf.dispose(Object.values(corners));
    // Saving only the grid and re-gathering in backward keeps the forward pass
    // free of hidden intermediates (inference pays nothing for the gradient).
    save([g]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const { v00, v01, v10, v11, fx, fy } = sampleCorners(image, saved[0] as tf.Tensor4D);
        const d = dy.reshape([b * n, c]);
        const gx1 = fy.neg().add(1);
        // d out / d x_pix and d out / d y_pix per channel, summed against dy.
        const dx = v01.sub(v00).mul(gx1).add(v11.sub(v10).mul(fy)).mul(d).sum(1, true);
        const fx1 = fx.neg().add(1);
        const dyPix = v10.sub(v00).mul(fx1).add(v11.sub(v01).mul(fx)).mul(d).sum(1, true);
        // x_pix = ((x + 1)·W − 1)/2, so d x_pix / d x = W/2.
        return tf.concat([dx.mul(w / 2), dyPix.mul(h / 2)], 1).reshape([b, ho, wo, 2]);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  // customGrad's typing wants a tensor result; the cast keeps the rank.
  return op(grid) as tf.Tensor4D;
}

interface Corners {
  v00: tf.Tensor2D; v01: tf.Tensor2D; v10: tf.Tensor2D; v11: tf.Tensor2D;
  fx: tf.Tensor2D; fy: tf.Tensor2D;
}

/**
 * The four neighbours (v00 top-left, v01 top-right, v10 bottom-left, v11
 * bottom-right), each [B·Ho·Wo, C], with out-of-image neighbours set to zero
 * (padding_mode='zeros'), plus the fractional offsets [B·Ho·Wo, 1].
 */
function sampleCorners(image: tf.Tensor4D, grid: tf.Tensor4D): Corners {
  return tf.tidy(() => {
    const { b, h, w, n, flat, x, y } = pixelCoordinates(image, grid);
    const x0 = x.floor();
    const y0 = y.floor();
    const fx = x.sub(x0);
    const fy = y.sub(y0);
    const x1 = x0.add(1);
    const y1 = y0.add(1);
    const inside = (v: tf.Tensor, size: number) => v.greaterEqual(0).logicalAnd(v.lessEqual(size - 1)).cast('float32');
    const mx0 = inside(x0, w); const mx1 = inside(x1, w);
    const my0 = inside(y0, h); const my1 = inside(y1, h);
    const batchOffset = batchOffsets(b, n, h * w);
    const clampX = (v: tf.Tensor) => v.clipByValue(0, w - 1).cast('int32');
    const clampY = (v: tf.Tensor) => v.clipByValue(0, h - 1).cast('int32');
    const ix0 = clampX(x0); const ix1 = clampX(x1);
    const rowY0 = clampY(y0).mul(tf.scalar(w, 'int32')).add(batchOffset);
    const rowY1 = clampY(y1).mul(tf.scalar(w, 'int32')).add(batchOffset);
    const pick = (row: tf.Tensor, col: tf.Tensor, mask: tf.Tensor) =>
      tf.gather(flat, row.add(col).reshape([b * n])).mul(mask) as tf.Tensor2D;
    const v00 = pick(rowY0, ix0, mx0.mul(my0));
    const v01 = pick(rowY0, ix1, mx1.mul(my0));
    const v10 = pick(rowY1, ix0, mx0.mul(my1));
    const v11 = pick(rowY1, ix1, mx1.mul(my1));
    return { v00, v01, v10, v11, fx: fx as tf.Tensor2D, fy: fy as tf.Tensor2D };
  });
}

/**
 * The same sampler built from differentiable primitives, so gradients reach
 * the image too (e.g. to learn a template). Slower in backward: it relies on
 * gather's scatter gradient.
 */
export function gridSampleDifferentiable(image: tf.Tensor4D, grid: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const { b, h, w, n, flat, x, y } = pixelCoordinates(image, grid);
    // floor() has a zero gradient, so the weights below carry d/dgrid.
    const x0 = x.floor();
    const y0 = y.floor();
    const fx = x.sub(x0);
    const fy = y.sub(y0);
    const batchOffset = batchOffsets(b, n, h * w);
    const corner = (dx: number, dy: number) => {
      const xi = x0.add(dx);
      const yi = y0.add(dy);
      const mask = xi.greaterEqual(0).logicalAnd(xi.lessEqual(w - 1))
        .logicalAnd(yi.greaterEqual(0)).logicalAnd(yi.lessEqual(h - 1)).cast('float32');
      const idx = yi.clipByValue(0, h - 1).cast('int32').mul(tf.scalar(w, 'int32'))
        .add(xi.clipByValue(0, w - 1).cast('int32')).add(batchOffset).reshape([b * n]);
      const wx = dx === 0 ? fx.neg().add(1) : fx;
      const wy = dy === 0 ? fy.neg().add(1) : fy;
      return tf.gather(flat, idx).mul(mask).mul(wx.mul(wy));
    };
    return corner(0, 0).add(corner(1, 0)).add(corner(0, 1)).add(corner(1, 1)).reshape([b, grid.shape[1], grid.shape[2], image.shape[3]]) as tf.Tensor4D;
  });
}

/**
 * The image flattened to [B·H·W, C] and the grid's sample points in input
 * pixel coordinates (align_corners=False: x_pix = ((x + 1)·W − 1)/2), [B·Ho·Wo, 1] each.
 */
function pixelCoordinates(image: tf.Tensor4D, grid: tf.Tensor4D) {
  const [b, h, w, c] = image.shape;
  const [, ho, wo] = grid.shape;
  const n = ho * wo;
  const g = grid.reshape([b * n, 2]);
  return {
    b, h, w, n,
    flat: image.reshape([b * h * w, c]),
    x: g.slice([0, 0], [b * n, 1]).add(1).mul(w / 2).sub(0.5),
    y: g.slice([0, 1], [b * n, 1]).add(1).mul(h / 2).sub(0.5),
  };
}

/** Row offset of each image's first pixel in the flattened batch, as int32 [B·N, 1]. */
function batchOffsets(b: number, n: number, pixelsPerImage: number): tf.Tensor {
  return tf.range(0, b, 1, 'int32').mul(tf.scalar(pixelsPerImage, 'int32')).reshape([b, 1]).tile([1, n]).reshape([b * n, 1]);
}
