import type { GrayImage } from '../io/gray-image';
import { resizeArea } from './resize';

/**
 * Does a frontal chest film display with its lungs dark? On a correctly
 * displayed film the air-filled lung fields are darker than the mediastinum
 * and spine between them. DICOM files whose Photometric Interpretation is
 * mis-tagged (MONOCHROME1 vs MONOCHROME2) decode "correctly" per the tag but
 * show bright lungs; everything downstream (template matching, training)
 * assumes dark lungs. Returns the lungs-vs-mediastinum contrast: > 0 normal,
 * < 0 inverted.
 */
export function chestPolarityScore(img: GrayImage): number {
  const s = resizeArea(img, 64, 64);
  const mean = (x0: number, x1: number, y0: number, y1: number) => {
    let sum = 0; let n = 0;
    for (let i = Math.round(y0 * 64); i < Math.round(y1 * 64); i++) {
      for (let j = Math.round(x0 * 64); j < Math.round(x1 * 64); j++) { sum += s.data[i * 64 + j]; n++; }
    }
    return sum / n;
  };
  const lungs = (mean(0.18, 0.38, 0.25, 0.6) + mean(0.62, 0.82, 0.25, 0.6)) / 2;
  const mediastinum = mean(0.45, 0.55, 0.25, 0.6);
  return mediastinum - lungs;
}

/**
 * Below this the film is confidently inverted; near zero it is left as decoded.
 * Measured on the 612 real films in ../shared (ChestX-ray14, COVID-era AP/ICU):
 * the lowest score of a correctly displayed film was −0.135; the mis-tagged
 * MONOCHROME1 test file scores −0.35.
 */
export const INVERTED_BELOW = -0.2;

/** The film with dark lungs: inverted when it confidently shows bright ones. */
export function withDarkLungs(img: GrayImage): { image: GrayImage; inverted: boolean; score: number } {
  const score = chestPolarityScore(img);
  if (score >= INVERTED_BELOW) return { image: img, inverted: false, score };
  const data = new Float32Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = 1 - img.data[i];
  return { image: { ...img, data, meta: { ...img.meta, polarityInverted: true, polarityScore: score } }, inverted: true, score };
}
