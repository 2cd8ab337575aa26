import type { AffineMatrix, Size } from '../affine/affine';
import type { GrayImage } from '../io/gray-image';
import { frameDisagreementPx } from '../eval/metrics';
import { BLACK_LEVEL } from '../image/content-crop';

/**
 * When to doubt a film's alignment, so a user can look at those films first.
 * Two signs, both cheap and both measured where the alignment is known to go
 * wrong (`eval`'s border effect and content-preserving moves):
 *
 *  - the network's frame and a short test-time refinement from it (or the
 *    user's own refinement, when it is on) disagree by more than a few output
 *    pixels: the network's answer is not where the similarity to the template
 *    settles, so one of them is off;
 *  - a lot of what the network sees is black border (a scan's letterbox, a
 *    rotated film's corner wedges; black all around the film is cropped off
 *    by a model that sees the content, image/content-crop.ts): the network
 *    reads where the film's edges lie, and black around the film moves its
 *    frame.
 */
export interface DoubtRule {
  /** Network vs refinement disagreement above which a film is doubtful, output pixels (model frame). */
  maxDisagreementPx: number;
  /** Share of the film's area that is black border above which a film is doubtful. */
  maxBorderFraction: number;
  /** The short refinement: iterations and size (long side, pixels). */
  refineIterations: number;
  refineSize: number;
  /** A pixel at or below this (0..1) is black, for the border measure. */
  blackLevel: number;
}

/**
 * Calibrated on the shipped model (models/default) and the 112 masked films
 * (runs of `eval` with --ceiling): 10 Adam steps at 64 px move the frame by
 * 10 px at the median — a systematic pull (the frame ~9 px up), on the
 * training films too — so "a few pixels" would flag nine films in ten. At
 * 12 px a quarter of the films is flagged, and their frames are on average
 * 13.2 px from the affine ceiling's against 9.9 px for all films (correlation
 * of the disagreement with that error 0.47). Black border
 * above 10% of the film: 5 of the 112 masked films, 3 of 64 ChestX-ray14.
 */
export const DOUBT_RULE: DoubtRule = {
  maxDisagreementPx: 12,
  maxBorderFraction: 0.1,
  refineIterations: 10,
  refineSize: 64,
  blackLevel: BLACK_LEVEL,
};

export type DoubtReason = 'disagree' | 'border';

export interface Doubt {
  /** Empty when the film is not doubtful. */
  reasons: DoubtReason[];
  disagreementPx: number;
  borderFraction: number;
  /** One line for a tooltip: why the film is doubtful (or why not). */
  text: string;
}

/**
 * The share of a film that is black border: black pixels (≤ blackLevel)
 * connected to the film's edge through black pixels. Bands, letterboxes and
 * the corner wedges of a rotated film count; dark anatomy inside the body does
 * not, since it does not reach the edge through pure black.
 */
export function blackBorderFraction(img: GrayImage, blackLevel = DOUBT_RULE.blackLevel): number {
  const { width: w, height: h, data } = img;
  const n = w * h;
  if (n === 0) return 0;
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  let top = 0;
  const push = (i: number) => { if (!seen[i] && data[i] <= blackLevel) { seen[i] = 1; stack[top++] = i; } };
  for (let j = 0; j < w; j++) { push(j); push((h - 1) * w + j); }
  for (let i = 0; i < h; i++) { push(i * w); push(i * w + w - 1); }
  let count = 0;
  while (top > 0) {
    const p = stack[--top];
    count++;
    const x = p % w;
    if (x > 0) push(p - 1);
    if (x < w - 1) push(p + 1);
    if (p >= w) push(p - w);
    if (p < n - w) push(p + w);
  }
  return count / n;
}

/**
 * Judge a film from its two frames (network, refined) and what the network
 * sees of it (its working copy, cropped to the model's view).
 */
export function judgeDoubt(network: AffineMatrix, refined: AffineMatrix, frame: Size, view: GrayImage, rule: DoubtRule = DOUBT_RULE, refinement?: string): Doubt {
  const disagreementPx = frameDisagreementPx(network, refined, [[1, 0, 0], [0, 1, 0]], frame);
  const borderFraction = blackBorderFraction(view, rule.blackLevel);
  return doubtFrom(disagreementPx, borderFraction, rule, refinement);
}

/** `refinement` names what the network was compared with (default: a short refinement). */
export function doubtFrom(disagreementPx: number, borderFraction: number, rule: DoubtRule = DOUBT_RULE, refinement = 'a short refinement'): Doubt {
  const reasons: DoubtReason[] = [];
  const parts: string[] = [];
  // A non-finite disagreement (a refinement that diverged) is doubtful too.
  if (!(disagreementPx <= rule.maxDisagreementPx)) {
    reasons.push('disagree');
    parts.push(`the network and ${refinement} put the frame ${Number.isFinite(disagreementPx) ? disagreementPx.toFixed(1) : '?'} px apart (more than ${rule.maxDisagreementPx})`);
  }
  if (borderFraction > rule.maxBorderFraction) {
    reasons.push('border');
    parts.push(`${Math.round(100 * borderFraction)}% of what the network sees of the film is black border (more than ${Math.round(100 * rule.maxBorderFraction)}%), which can move the frame`);
  }
  if (reasons.length && !reasons.includes('disagree')) parts.push(`the network and ${refinement} agree (${disagreementPx.toFixed(1)} px apart)`);
  const text = reasons.length
    ? `Doubtful alignment: ${parts.join('; ')}. Check this film.`
    : `the network and ${refinement} agree (${disagreementPx.toFixed(1)} px apart); ${Math.round(100 * borderFraction)}% black border`;
  return { reasons, disagreementPx, borderFraction, text };
}
