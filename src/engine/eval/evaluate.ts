import { determinant, paramsToMatrix, type AffineMatrix, type Size } from '../affine/affine';
import type { GrayImage } from '../io/gray-image';
import { warpImage } from '../align/align';
import { Rng } from '../train/rng';
import { csvField } from '../export/transforms-file';
import { fixedWidthTable } from './table';
import type { Probe } from './probes';
import { canvasMatrix, CANVAS_SCALE, cutFraction, frameDisagreementPx, frameRegion, pairwiseDice, toBitMask, type BitMask } from './metrics';

/** Anything that maps a film to a frame matrix: a model, a model + refinement, identity, elastix. */
export interface Aligner {
  name: string;
  align(img: GrayImage): Promise<AffineMatrix>;
}

export const identityAligner: Aligner = { name: 'identity (plain resize)', align: async () => [[1, 0, 0], [0, 1, 0]] };

export interface EvalCase { name: string; image: GrayImage; mask: GrayImage }

export interface EvalOptions {
  /** Frame the Dice is measured in (aspect of the model's frame; size only sets precision). */
  frame: Size;
  /** Random perturbations per film for the equivariance error (0 = skip). */
  perturbations: number;
  seed: number;
  /** Share of the mask outside the frame above which a film's lungs count as cut. */
  cutThreshold: number;
  /** Pure perturbations to score one by one besides the random ones (EQUIVARIANCE_PROBES). */
  probes?: Probe[];
  onProgress?: (done: number, total: number) => void;
}

export interface PerImage {
  name: string;
  matrix: AffineMatrix;
  diceUncut: number;
  diceFrame: number;
  cut: number;
  mirrored: boolean;
  equivariancePx: number;
}

export interface EvalSummary {
  aligner: string;
  images: number;
  /** Mean pairwise Dice on the canvas twice the frame's extent. */
  diceUncut: number;
  /** Mean pairwise Dice inside the frame only (inflated by cropping; for reference). */
  diceFrame: number;
  /** Share of films with more than cutThreshold of the lungs outside the frame. */
  cutRate: number;
  mirroredRate: number;
  /** Mean frame disagreement under known perturbations, in output pixels. */
  equivariancePx: number;
  secondsPerImage: number;
  /** Mean frame disagreement under each of opts.probes, in output pixels. */
  probes?: { label: string; px: number }[];
  perImage: PerImage[];
}

/** Perturbations as in the issue: ±10° rotation, ±10% shift, ±10% scale. */
export function drawPerturbation(rng: Rng): AffineMatrix {
  const s = rng.uniform(0.9, 1.1);
  return paramsToMatrix([rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), s, s, (rng.uniform(-10, 10) * Math.PI) / 180]);
}

export async function evaluate(aligner: Aligner, cases: EvalCase[], opts: EvalOptions): Promise<EvalSummary> {
  const { frame } = opts;
  const canvas = { width: frame.width * CANVAS_SCALE, height: frame.height * CANVAS_SCALE };
  const canvasMasks: BitMask[] = [];
  const frameMasks: BitMask[] = [];
  const perImage: PerImage[] = [];
  let alignSeconds = 0;
  let alignCalls = 0;
  const rng = new Rng(opts.seed);
  const probes = opts.probes ?? [];
  const probeMatrices = probes.map((p) => paramsToMatrix(p.params));
  const probeSums = new Array<number>(probes.length).fill(0);
  const alignTimed = async (img: GrayImage): Promise<AffineMatrix> => {
    const t0 = performance.now();
    const m = await aligner.align(img);
    alignSeconds += (performance.now() - t0) / 1000;
    alignCalls++;
    return m;
  };
  for (let k = 0; k < cases.length; k++) {
    const c = cases[k];
    const m = await alignTimed(c.image);
    // How far the frame of a perturbed copy lands from `m`, taken back onto the film.
    const disagreement = async (pert: AffineMatrix) => frameDisagreementPx(m, await alignTimed(await warpImage(c.image, pert, { width: c.image.width, height: c.image.height })), pert, frame);
    const warped = await warpImage(c.mask, canvasMatrix(m), canvas);
    const cm = toBitMask(warped.data, canvas.width, canvas.height);
    const fm = frameRegion(cm);
    canvasMasks.push(cm);
    frameMasks.push(fm);
    let maskPixels = 0;
    for (const v of c.mask.data) if (v >= 0.5) maskPixels++;
    let eq = 0;
    for (let p = 0; p < opts.perturbations; p++) eq += await disagreement(drawPerturbation(rng));
    for (let j = 0; j < probes.length; j++) probeSums[j] += await disagreement(probeMatrices[j]);
    perImage.push({
      name: c.name, matrix: m, diceUncut: NaN, diceFrame: NaN,
      cut: cutFraction(fm, maskPixels, c.mask, frame, m),
      mirrored: determinant(m) < 0,
      equivariancePx: opts.perturbations ? eq / opts.perturbations : NaN,
    });
    opts.onProgress?.(k + 1, cases.length);
  }
  const du = pairwiseDice(canvasMasks);
  const df = pairwiseDice(frameMasks);
  perImage.forEach((p, i) => { p.diceUncut = du.perImage[i]; p.diceFrame = df.perImage[i]; });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return {
    aligner: aligner.name,
    images: cases.length,
    diceUncut: du.mean,
    diceFrame: df.mean,
    cutRate: mean(perImage.map((p) => (p.cut > opts.cutThreshold ? 1 : 0))),
    mirroredRate: mean(perImage.map((p) => (p.mirrored ? 1 : 0))),
    equivariancePx: opts.perturbations ? mean(perImage.map((p) => p.equivariancePx)) : NaN,
    secondsPerImage: alignSeconds / Math.max(1, alignCalls),
    ...(probes.length ? { probes: probes.map((p, j) => ({ label: p.label, px: probeSums[j] / Math.max(1, cases.length) })) } : {}),
    perImage,
  };
}

export function perImageCsv(summary: EvalSummary): string {
  const rows = ['file,aligner,dice_uncut,dice_frame,cut_fraction,mirrored,equivariance_px,a,b,c,d,e,f'];
  for (const p of summary.perImage) {
    rows.push([p.name, summary.aligner, p.diceUncut.toFixed(4), p.diceFrame.toFixed(4), p.cut.toFixed(4), p.mirrored, p.equivariancePx.toFixed(3), ...p.matrix.flat().map((v) => v.toFixed(6))].map(csvField).join(','));
  }
  return rows.join('\n') + '\n';
}

/** A fixed-width table of summaries, one row per aligner. */
export function summaryTable(rows: EvalSummary[]): string {
  const head = ['aligner', 'images', 'Dice uncut', 'Dice in frame', 'lungs cut', 'mirrored', 'equivar. px', 's/image'];
  const body = rows.map((r) => [r.aligner, String(r.images), r.diceUncut.toFixed(3), r.diceFrame.toFixed(3), `${(100 * r.cutRate).toFixed(1)}%`, `${(100 * r.mirroredRate).toFixed(1)}%`, Number.isNaN(r.equivariancePx) ? '—' : r.equivariancePx.toFixed(2), r.secondsPerImage.toFixed(3)]);
  return fixedWidthTable(head, body);
}
