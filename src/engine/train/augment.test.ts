import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../testing/tf-backend';
import { bandMask, DEFAULT_AUGMENT, drawAugment } from './augment';
import { disposeBatch, makeBatch } from './batch';
import { Rng } from './rng';

beforeAll(async () => { await useBackend(); });

describe('border bands', () => {
  it('bandMask blacks out exactly the drawn share of each edge', () => {
    const m = bandMask({ left: 0.25, right: 0, top: 0.5, bottom: 0.125 }, 8);
    const rows = Array.from({ length: 8 }, (_, y) => Array.from(m.subarray(y * 8, y * 8 + 8)).join(''));
    expect(rows).toEqual(['00000000', '00000000', '00000000', '00000000', '00111111', '00111111', '00111111', '00000000']);
  });

  it('leave the geometric and intensity draws as they were, and are off by default', () => {
    const a = drawAugment(new Rng(5), DEFAULT_AUGMENT);
    const b = drawAugment(new Rng(5), { ...DEFAULT_AUGMENT, border: 0.1 });
    expect(b.matrix).toEqual(a.matrix);
    expect([b.brightness, b.contrast]).toEqual([a.brightness, a.contrast]);
    expect(a.bands).toEqual({ left: 0, right: 0, top: 0, bottom: 0 });
    const rng = new Rng(9);
    const widths = Array.from({ length: 200 }, () => drawAugment(rng, { ...DEFAULT_AUGMENT, border: 0.1 }).bands).flatMap((d) => [d.left, d.right, d.top, d.bottom]);
    const on = widths.filter((w) => w > 0);
    expect(on.length / widths.length).toBeGreaterThan(0.4);
    expect(on.length / widths.length).toBeLessThan(0.6);
    expect(Math.max(...widths)).toBeLessThanOrEqual(0.1);
  });

  it('reach the encoder input only', async () => {
    const L = 16;
    const src = { width: 8, height: 10 };
    const img = { id: 'flat', loc: new Float32Array(L * L).fill(0.5), src: new Float32Array(src.width * src.height).fill(0.5) };
    const settings = { ...DEFAULT_AUGMENT, shift: 0, scale: 0, rotateDeg: 0, brightness: 0, contrast: 0, border: 0.5 };
    const rng = new Rng(3);
    let dark = 0;
    for (let k = 0; k < 4; k++) {
      const batch = makeBatch([img], { locSize: L, srcSize: src }, rng, settings);
      const loc = await batch.loc.data();
      const s = await batch.src.data();
      dark += loc.filter((v) => v === 0).length;
      expect(Array.from(s).every((v) => v === 0.5)).toBe(true);
      disposeBatch(batch);
    }
    expect(dark).toBeGreaterThan(0);
  });
});

describe('black canvas', () => {
  it('embeds the film whole in a canvas up to K times its size, about half the time; off, the draws are as before', () => {
    const still = { ...DEFAULT_AUGMENT, shift: 0, scale: 0, rotateDeg: 0, brightness: 0, contrast: 0, canvas: 1.5 };
    let embedded = 0;
    const rng = new Rng(9);
    for (let i = 0; i < 200; i++) {
      const [[a, , c], [, e, f]] = drawAugment(rng, still).matrix;
      expect(a).toBeGreaterThanOrEqual(1);
      expect(a).toBeLessThanOrEqual(1.5);
      expect(e).toBe(a);
      // The film [−1, 1] lies inside the view: the view's edges map outside it.
      expect(c - a).toBeLessThanOrEqual(-1 + 1e-9);
      expect(c + a).toBeGreaterThanOrEqual(1 - 1e-9);
      expect(f - e).toBeLessThanOrEqual(-1 + 1e-9);
      if (a > 1) embedded++;
    }
    expect(embedded).toBeGreaterThan(70);
    expect(embedded).toBeLessThan(130);
    expect(drawAugment(new Rng(5), { ...DEFAULT_AUGMENT, canvas: 0 })).toEqual(drawAugment(new Rng(5), DEFAULT_AUGMENT));
  });
});
