import { beforeAll, describe, expect, it } from 'vitest';
import { compose, paramsToMatrix, type AffineParams } from '../affine/affine';
import { predictMatrices } from '../align/align';
import { encoderInput, locInput } from '../align/prepare';
import { warpImageHost } from '../align/warp-host';
import { embedding } from '../eval/content';
import { frameDisagreementPx } from '../eval/metrics';
import type { GrayImage } from '../io/gray-image';
import { defaultStnConfig, validateStnConfig } from '../models/stn/config';
import { AlignmentModel } from '../models/stn/stn';
import { prepareTrainingFilm } from '../train/prepare-film';
import { useBackend } from '../../testing/tf-backend';
import { cropMatrix, cropView, findContentCrop, isWholeFilm, matrixOnView, paramsOnFilm, paramsOnView, WHOLE_FILM } from './content-crop';
import * as tf from '../tf';

beforeAll(async () => { await useBackend(); });

/** A film with no black in it: smooth structure on a gray floor. */
function film(w: number, h: number, seed = 1): GrayImage {
  const data = new Float32Array(w * h);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    data[i * w + j] = 0.15 + 0.35 * (1 + Math.sin((j * (3 + seed)) / w * Math.PI) * Math.cos((i * 5) / h * Math.PI)) + 0.1 * ((i * 7 + j * 13 + seed) % 5) / 5;
  }
  return { width: w, height: h, data };
}

/** `img` pasted at (x, y) into a black canvas of size cw x ch. */
function paste(img: GrayImage, cw: number, ch: number, x: number, y: number): GrayImage {
  const data = new Float32Array(cw * ch);
  for (let i = 0; i < img.height; i++) data.set(img.data.subarray(i * img.width, (i + 1) * img.width), (y + i) * cw + x);
  return { width: cw, height: ch, data };
}

describe('content crop', () => {
  it('leaves a film without black around it whole, and one with black on one axis only', () => {
    expect(findContentCrop(film(120, 150))).toEqual(WHOLE_FILM);
    // Nothing but black (or a film too small to judge): nothing to crop to.
    expect(findContentCrop({ width: 64, height: 64, data: new Float32Array(64 * 64) })).toEqual(WHOLE_FILM);
    expect(findContentCrop({ width: 3, height: 3, data: new Float32Array(9) })).toEqual(WHOLE_FILM);
    // A letterbox: black bands above and below only. The crop keeps the film's shape, so there is nothing to take.
    expect(findContentCrop(paste(film(120, 100), 120, 150, 0, 25))).toEqual(WHOLE_FILM);
  });

  it('crops a film pasted into a black canvas back to exactly the film, wherever it sits', () => {
    const f = film(120, 150);
    for (const [x, y] of [[30, 37], [0, 0], [57, 71], [12, 60]]) {
      const canvas = paste(f, 180, 225, x, y);
      const c = findContentCrop(canvas);
      expect(c.scale).toBeCloseTo(120 / 180, 9);
      const view = cropView(canvas, c);
      expect([view.width, view.height]).toEqual([120, 150]);
      expect(Array.from(view.data)).toEqual(Array.from(f.data));
      // The view's encoder input is the bare film's.
      expect(Array.from(locInput(view, 32))).toEqual(Array.from(locInput(f, 32)));
    }
  });

  it('ignores specks and thin text in the border, and keeps inside the film', () => {
    const canvas = paste(film(100, 100), 200, 200, 50, 50);
    canvas.data[3 * 200 + 3] = 1; // a speck in a corner
    for (let j = 10; j < 14; j++) canvas.data[190 * 200 + j] = 1; // a short burnt-in label
    const c = findContentCrop(canvas);
    expect(c).toEqual({ scale: 0.5, cx: 0, cy: 0 });
    // Content in a wide strip near the top edge: the film-shaped crop reaches down into the film, never past its top.
    const strip = paste(film(160, 40), 200, 200, 20, 0);
    const s = findContentCrop(strip);
    expect(s.scale).toBeCloseTo(0.8, 9);
    expect(s.cy - s.scale).toBeGreaterThanOrEqual(-1 - 1e-12);
  });

  it('composes: the view warped by a frame is the film warped by that frame on the film', () => {
    // The film's shape inside the crop (130x150 in a 130x156 view) puts the crop on whole pixels: no rounding.
    const canvas = paste(film(130, 150), 200, 240, 47, 61);
    const c = findContentCrop(canvas);
    expect(c.scale).toBeCloseTo(0.65, 12);
    const view = cropView(canvas, c);
    const p: AffineParams = [0.05, -0.08, 0.8, 0.9, 0.12];
    // Large enough that neither is area-reduced before sampling (warpSource).
    const frame = { width: 100, height: 125 };
    const onView = warpImageHost(view, paramsToMatrix(p), frame);
    const onFilm = warpImageHost(canvas, paramsToMatrix(paramsOnFilm(c, p)), frame);
    let worst = 0;
    for (let i = 0; i < onView.data.length; i++) worst = Math.max(worst, Math.abs(onView.data[i] - onFilm.data[i]));
    expect(worst).toBeLessThan(1e-4);
    const back = paramsOnView(c, paramsOnFilm(c, p));
    back.forEach((v, i) => expect(v).toBeCloseTo(p[i], 12));
    expect(matrixOnView(c, compose(cropMatrix(c), paramsToMatrix(p)))[0][2]).toBeCloseTo(p[0], 12);
  });

  it('makes a content model\'s frame independent of black canvases around the film (the border effect)', async () => {
    const model = new AlignmentModel(defaultStnConfig({ locSize: 32, frame: { width: 32, height: 40 }, seed: 3, inputCrop: 'content' }));
    const f = film(96, 120, 2);
    const [bare] = await predictMatrices(model, [f], 1);
    const before = tf.memory().numTensors;
    for (const scale of [1.25, 1.5, 2]) {
      const emb = embedding(f, scale);
      const x = Math.round((emb.size.width - f.width) / 2);
      const y = Math.round((emb.size.height - f.height) / 2);
      const [inCanvas] = await predictMatrices(model, [paste(f, emb.size.width, emb.size.height, x, y)], 1);
      // On the film: canvas frame taken back through the embedding.
      expect(frameDisagreementPx(bare, inCanvas, emb.matrix, { width: 256, height: 320 })).toBeLessThan(0.05);
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('trains on the view: prepared films and their teacher matrices are of what the encoder sees', () => {
    const f = film(96, 120, 4);
    const canvas = paste(f, 144, 180, 20, 33);
    const teacher = compose(cropMatrix(findContentCrop(canvas)), paramsToMatrix([0.1, 0, 0.7, 0.7, 0]));
    const t = prepareTrainingFilm(canvas, 'c', { locSize: 32, inputCrop: 'content' }, { width: 48, height: 60 }, teacher);
    expect(isWholeFilm(t.crop!)).toBe(false);
    expect(Array.from(t.loc)).toEqual(Array.from(encoderInput(canvas, { locSize: 32, inputCrop: 'content' }).loc));
    expect(Array.from(t.loc)).toEqual(Array.from(locInput(f, 32)));
    t.target!.flat().forEach((v, i) => expect(v).toBeCloseTo(paramsToMatrix([0.1, 0, 0.7, 0.7, 0]).flat()[i], 9));
    const whole = prepareTrainingFilm(canvas, 'c', { locSize: 32, inputCrop: 'whole' }, { width: 48, height: 60 }, teacher);
    expect(whole.crop).toBeUndefined();
    expect(Array.from(whole.loc)).toEqual(Array.from(locInput(canvas, 32)));
  });

  it('is a model setting: folders written before it see whole films', () => {
    const old = { ...defaultStnConfig({ inputCrop: 'content' }) } as Record<string, unknown>;
    delete old.inputCrop;
    expect(validateStnConfig(old).inputCrop).toBe('whole');
    expect(validateStnConfig({ ...old, inputCrop: 'content' }).inputCrop).toBe('content');
    expect(() => validateStnConfig({ ...defaultStnConfig(), inputCrop: 'lungs' })).toThrow(/inputCrop is "lungs"/);
  });
});
