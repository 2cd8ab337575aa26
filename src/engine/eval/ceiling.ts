import * as tf from '../tf';
import { matrixToParams, paramsToMatrix, type AffineMatrix, type AffineParams, type Size } from '../affine/affine';
import type { GrayImage } from '../io/gray-image';
import { resizeArea } from '../image/resize';
import { paramsToTheta } from '../models/stn/stn';
import { warpAffine } from '../sampler/warp';
import { CANVAS_SCALE } from './metrics';
import type { Aligner } from './evaluate';
import { performance } from '../host';

/**
 * The affine ceiling: what the best five-parameter aligner could reach on
 * these films. An ORACLE — it reads the lung masks, which no aligner has.
 *
 * Groupwise: each round warps every mask onto the uncut canvas (twice the
 * frame's extent, as the Dice), takes for each film the majority of the OTHER
 * masks (pixels at least half of them cover), and moves the film's five
 * parameters (tx, ty, log sx, log sy, θ) by Adam steps to maximise the soft
 * Dice of its warped mask with that majority. Rounds repeat with the new
 * majorities. Pairwise Dice does not change when every frame moves alike, so
 * after each round the group's mean parameters are put back where the starts'
 * were (the model's frames, say): that keeps the group's placement — and so
 * its lungs-cut figure — comparable with the aligner it started from.
 */
export interface CeilingOptions {
  /** Frame the fit works in (its aspect matters, its size only sets precision); default 48x60. */
  frame?: Size;
  /** Starting frames (default identity): also the placement the group is anchored to. */
  starts?: AffineMatrix[];
  rounds?: number;
  /** Adam steps per round. */
  steps?: number;
  lr?: number;
  /** Box-blur radius of the masks (pixels of the fit's mask copies), for gradients beyond the mask's edge. */
  blur?: number;
  onRound?: (round: number, meanDice: number) => void;
}

export interface CeilingFit {
  matrices: AffineMatrix[];
  /** Mean soft Dice of each mask with its leave-one-out majority, after each round. */
  rounds: number[];
  seconds: number;
}

/** Box blur (separable, `r` pixels each side, edges clamped): soft mask edges give the fit gradients. */
function boxBlur(img: GrayImage, r: number): Float32Array {
  const { width: w, height: h } = img;
  let src = img.data;
  if (r <= 0) return Float32Array.from(src);
  const tmp = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += src[i * w + Math.min(w - 1, Math.max(0, j + k))];
      tmp[i * w + j] = s / (2 * r + 1);
    }
  }
  src = tmp;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += src[Math.min(h - 1, Math.max(0, i + k)) * w + j];
      out[i * w + j] = s / (2 * r + 1);
    }
  }
  return out;
}

/** The fit's frame for an output frame: 48 px wide, the output's aspect (which is what matters; the size only sets precision). */
export function ceilingFitFrame(frame: Size): Size {
  return { width: 48, height: Math.max(8, Math.round((48 * frame.height) / frame.width)) };
}

export async function fitAffineCeiling(masks: GrayImage[], opts: CeilingOptions = {}): Promise<CeilingFit> {
  const t0 = performance.now();
  const n = masks.length;
  if (n < 2) throw new Error('the affine ceiling needs at least two masks');
  const frame = opts.frame ?? { width: 48, height: 60 };
  const canvas = { width: frame.width * CANVAS_SCALE, height: frame.height * CANVAS_SCALE };
  const rounds = opts.rounds ?? 8;
  const steps = opts.steps ?? 25;
  const blur = opts.blur ?? 1;
  // Every mask at one source size (normalized coordinates do not depend on it): the film spans
  // about half the canvas, so this is ~2 source pixels per canvas pixel.
  const sw = canvas.width;
  const sh = canvas.height;
  const src = new Float32Array(n * sw * sh);
  masks.forEach((m, i) => src.set(boxBlur(resizeArea(m, sw, sh), blur), i * sw * sh));
  const starts: AffineParams[] = (opts.starts ?? masks.map(() => paramsToMatrix([0, 0, 1, 1, 0]))).map(matrixToParams);
  if (starts.length !== n) throw new Error(`the affine ceiling got ${starts.length} starts for ${n} masks`);
  const logRow = ([tx, ty, sx, sy, th]: AffineParams) => [tx, ty, Math.log(sx), Math.log(sy), th];
  const startRows = starts.map(logRow);
  const anchor = [0, 1, 2, 3, 4].map((k) => startRows.reduce((a, r) => a + r[k], 0) / n);
  const srcT = tf.tensor4d(src, [n, sh, sw, 1]);
  // Frame → canvas: the canvas spans CANVAS_SCALE times the frame (as canvasMatrix).
  const canvasScale = tf.tensor3d([CANVAS_SCALE, CANVAS_SCALE, 1, CANVAS_SCALE, CANVAS_SCALE, 1], [1, 2, 3]);
  const v = tf.variable(tf.tensor2d(startRows));
  const thetaOf = () => tf.tidy(() => {
    const p = tf.concat([v.slice([0, 0], [n, 2]), v.slice([0, 2], [n, 2]).exp(), v.slice([0, 4], [n, 1])], 1) as tf.Tensor2D;
    return paramsToTheta(p).mul(canvasScale) as tf.Tensor3D;
  });
  const history: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      // Leave-one-out majority of the current warped masks.
      const target = tf.tidy(() => {
        const warped = warpAffine(srcT, thetaOf(), canvas);
        const sum = warped.sum(0, true);
        return sum.sub(warped).div(Math.max(1, n - 1)).greaterEqual(0.5).toFloat() as tf.Tensor4D;
      });
      const tSum = tf.tidy(() => target.sum([1, 2, 3]));
      const opt = tf.train.adam(opts.lr ?? 0.004);
      let last: tf.Scalar | null = null;
      for (let s = 0; s < steps; s++) {
        const keep = s === steps - 1;
        const loss = tf.tidy(() => opt.minimize(() => {
          const w = warpAffine(srcT, thetaOf(), canvas);
          const inter = w.mul(target).sum([1, 2, 3]);
          const dice = inter.mul(2).div(w.sum([1, 2, 3]).add(tSum).add(1e-6));
          // Each film's loss depends on its own parameters only: the sum gives each its own gradient.
          return tf.scalar(n).sub(dice.sum()) as tf.Scalar;
        }, keep, [v]) ?? tf.scalar(0));
        if (keep) last = loss; else loss.dispose();
      }
      opt.dispose();
      tf.dispose([target, tSum]);
      const meanDice = last ? 1 - (await last.data())[0] / n : NaN;
      last?.dispose();
      // Put the group's mean placement back on the starts'.
      const rows = await v.data();
      const mean = [0, 1, 2, 3, 4].map((k) => { let a = 0; for (let i = 0; i < n; i++) a += rows[5 * i + k]; return a / n; });
      const fixed = Float32Array.from(rows, (x, idx) => x + anchor[idx % 5] - mean[idx % 5]);
      const t = tf.tensor2d(fixed, [n, 5]);
      v.assign(t);
      t.dispose();
      history.push(meanDice);
      opts.onRound?.(r + 1, meanDice);
    }
    const out = await v.data();
    const matrices = masks.map((_, i) => paramsToMatrix([out[5 * i], out[5 * i + 1], Math.exp(out[5 * i + 2]), Math.exp(out[5 * i + 3]), out[5 * i + 4]]));
    return { matrices, rounds: history, seconds: (performance.now() - t0) / 1000 };
  } finally {
    tf.dispose([v, srcT, canvasScale]);
  }
}

/**
 * An aligner that answers with frames fitted beforehand (the ceiling's), looked
 * up by film. It cannot align a film it was not fitted on, so `evaluate` skips
 * the measures that align perturbed copies for it.
 */
export function fittedAligner(name: string, images: GrayImage[], matrices: AffineMatrix[], secondsPerImage: number): Aligner {
  const byImage = new Map<GrayImage, AffineMatrix>();
  images.forEach((im, i) => byImage.set(im, matrices[i]));
  return {
    name,
    oracle: true,
    secondsPerImage,
    async align(img) {
      const m = byImage.get(img);
      if (!m) throw new Error(`${name}: no fitted frame for ${img.source ?? 'this film'}`);
      return m;
    },
  };
}
