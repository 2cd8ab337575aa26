import { compose, determinant, paramsToMatrix, type AffineMatrix, type Size } from '../affine/affine';
import type { GrayImage } from '../io/gray-image';
import { warpImage } from '../align/align';
import { Rng } from '../train/rng';
import { csvField } from '../export/transforms-file';
import { fixedWidthTable } from './table';
import type { Probe } from './probes';
import { drawPerturbation } from './perturbation';
import { CONTENT_CANVAS, contentSeed, drawContentMove, embedding, type Embedding } from './content';
import { canvasMatrix, CANVAS_SCALE, cutFraction, frameDisagreementPx, frameRegion, groupDice, pairwiseDice, toBitMask, type BitMask } from './metrics';
import { performance } from '../host';
import type { CeilingResidual } from './residual';

export { drawPerturbation };

/** Anything that maps a film to a frame matrix: a model, a model + refinement, identity, elastix. */
export interface Aligner {
  name: string;
  align(img: GrayImage): Promise<AffineMatrix>;
  /**
   * Frames fitted beforehand from what no aligner has (the lung masks: the
   * affine ceiling). It answers only for the films it was fitted on, so the
   * measures that align moved copies are skipped ("—").
   */
  oracle?: boolean;
  /** Seconds per film to report instead of the time align() takes (a fit done beforehand). */
  secondsPerImage?: number;
}

export const identityAligner: Aligner = { name: 'identity (plain resize)', align: async () => [[1, 0, 0], [0, 1, 0]] };

export interface EvalCase {
  name: string;
  image: GrayImage;
  mask: GrayImage;
  /** Who the film belongs to: films of one patient should put their lungs in the same place. */
  patient?: string;
}

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
  /**
   * Content-preserving moves per film (0 = skip): the film embedded unchanged in a
   * black canvas CONTENT_CANVAS times its size and moved inside it, never past its edge.
   */
  contentMoves?: number;
  /** Canvas sizes (× the film) for the border effect: the film bare vs embedded in black (empty = skip). */
  borderScales?: number[];
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
  /** Mean Dice with the other films of the same patient (NaN without any). */
  samePatientDice: number;
  /** Mean frame disagreement under the content-preserving moves, output pixels. */
  contentPx: number;
  /** Frame disagreement bare vs embedded, one per borderScales entry, output pixels. */
  borderPx: number[];
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
  /** Mean uncut Dice over pairs of films of the same patient (NaN without patients). */
  samePatientDice: number;
  samePatientPairs: number;
  /** Patients with at least two films. */
  samePatientPatients: number;
  /** Mean frame disagreement under content-preserving moves (NaN when skipped). */
  contentPx: number;
  contentMoves: number;
  /** Border effect per canvas size (× the film). */
  border: { scale: number; px: number }[];
  /** Fitted to the masks (the ceiling): an oracle, not an aligner. */
  oracle?: boolean;
  /** The spread of this aligner's frames about the ceiling's, parameter by parameter (with a ceiling row). */
  ceilingResidual?: CeilingResidual;
  perImage: PerImage[];
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
  const oracle = !!aligner.oracle;
  const moves = oracle ? 0 : Math.max(0, opts.contentMoves ?? 0);
  const borderScales = opts.borderScales ?? [];
  const contentRng = new Rng(contentSeed(opts.seed));
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
    if (!oracle) {
      for (let p = 0; p < opts.perturbations; p++) eq += await disagreement(drawPerturbation(rng));
      for (let j = 0; j < probes.length; j++) probeSums[j] += await disagreement(probeMatrices[j]);
    }
    // The film embedded in black canvases: aligned once per size, shared by the border effect and the moves' reference.
    const embedded = new Map<number, { emb: Embedding; matrix: AffineMatrix }>();
    const alignEmbedded = async (scale: number) => {
      let hit = embedded.get(scale);
      if (!hit) {
        const emb = embedding(c.image, scale);
        hit = { emb, matrix: await alignTimed(await warpImage(c.image, emb.matrix, emb.size)) };
        embedded.set(scale, hit);
      }
      return hit;
    };
    const borderPx = oracle ? borderScales.map(() => NaN) : [];
    if (!oracle) {
      for (const scale of borderScales) {
        const e = await alignEmbedded(scale);
        borderPx.push(frameDisagreementPx(m, e.matrix, e.emb.matrix, frame));
      }
    }
    let content = 0;
    if (moves > 0) {
      const ref = await alignEmbedded(CONTENT_CANVAS);
      // The unmoved embedded film's frame, on the film: the moves are compared with it, not with the bare film (that is the border effect).
      const refOnFilm = compose(ref.emb.matrix, ref.matrix);
      for (let k = 0; k < moves; k++) {
        const move = drawContentMove(contentRng, ref.emb);
        content += frameDisagreementPx(refOnFilm, await alignTimed(await warpImage(c.image, move, ref.emb.size)), move, frame);
      }
    }
    perImage.push({
      name: c.name, matrix: m, diceUncut: NaN, diceFrame: NaN,
      cut: cutFraction(fm, maskPixels, c.mask, frame, m),
      mirrored: determinant(m) < 0,
      equivariancePx: opts.perturbations && !oracle ? eq / opts.perturbations : NaN,
      samePatientDice: NaN,
      contentPx: moves > 0 ? content / moves : NaN,
      borderPx,
    });
    opts.onProgress?.(k + 1, cases.length);
  }
  const du = pairwiseDice(canvasMasks);
  const df = pairwiseDice(frameMasks);
  const sp = groupDice(canvasMasks, cases.map((c) => c.patient));
  perImage.forEach((p, i) => { p.diceUncut = du.perImage[i]; p.diceFrame = df.perImage[i]; p.samePatientDice = sp.perImage[i]; });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return {
    aligner: aligner.name,
    images: cases.length,
    diceUncut: du.mean,
    diceFrame: df.mean,
    cutRate: mean(perImage.map((p) => (p.cut > opts.cutThreshold ? 1 : 0))),
    mirroredRate: mean(perImage.map((p) => (p.mirrored ? 1 : 0))),
    equivariancePx: opts.perturbations && !oracle ? mean(perImage.map((p) => p.equivariancePx)) : NaN,
    secondsPerImage: aligner.secondsPerImage ?? alignSeconds / Math.max(1, alignCalls),
    ...(probes.length ? { probes: probes.map((p, j) => ({ label: p.label, px: oracle ? NaN : probeSums[j] / Math.max(1, cases.length) })) } : {}),
    samePatientDice: sp.mean,
    samePatientPairs: sp.pairs,
    samePatientPatients: sp.groups,
    contentPx: moves > 0 ? mean(perImage.map((p) => p.contentPx)) : NaN,
    contentMoves: moves,
    border: borderScales.map((scale, j) => ({ scale, px: oracle ? NaN : mean(perImage.map((p) => p.borderPx[j])) })),
    ...(oracle ? { oracle: true } : {}),
    perImage,
  };
}

const fmt = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '');

export function perImageCsv(summary: EvalSummary): string {
  const borderCols = summary.border.map((b) => `border_px_${b.scale}x`);
  const rows = [['file', 'aligner', 'dice_uncut', 'dice_frame', 'cut_fraction', 'mirrored', 'equivariance_px', 'a', 'b', 'c', 'd', 'e', 'f', 'same_patient_dice', 'content_px', ...borderCols].join(',')];
  for (const p of summary.perImage) {
    rows.push([
      p.name, summary.aligner, p.diceUncut.toFixed(4), p.diceFrame.toFixed(4), p.cut.toFixed(4), p.mirrored, p.equivariancePx.toFixed(3), ...p.matrix.flat().map((v) => v.toFixed(6)),
      fmt(p.samePatientDice, 4), fmt(p.contentPx, 3), ...p.borderPx.map((v) => fmt(v, 3)),
    ].map(csvField).join(','));
  }
  return rows.join('\n') + '\n';
}

/** A fixed-width table of summaries, one row per aligner. */
export function summaryTable(rows: EvalSummary[]): string {
  const scales = rows.find((r) => r.border.length)?.border.map((b) => b.scale) ?? [];
  const dash = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
  const head = ['aligner', 'images', 'Dice uncut', 'Dice in frame', 'same patient', 'lungs cut', 'mirrored', 'equivar. px', 'content px', ...scales.map((s) => `border ${s}x px`), 's/image'];
  const body = rows.map((r) => [
    r.aligner, String(r.images), r.diceUncut.toFixed(3), r.diceFrame.toFixed(3), dash(r.samePatientDice, 3), `${(100 * r.cutRate).toFixed(1)}%`, `${(100 * r.mirroredRate).toFixed(1)}%`,
    dash(r.equivariancePx, 2), dash(r.contentPx, 2), ...scales.map((s) => dash(r.border.find((b) => b.scale === s)?.px ?? NaN, 2)), r.secondsPerImage.toFixed(3),
  ]);
  return fixedWidthTable(head, body);
}
