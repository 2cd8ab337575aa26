import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../testing/tf-backend';
import { bandMask, DEFAULT_AUGMENT, drawAugment, opacityMap } from './augment';
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

describe('aspect stretch', () => {
  it('stretches the height against the width by up to ±A, both ways; off, the draws are as before', () => {
    const still = { ...DEFAULT_AUGMENT, shift: 0, scale: 0, rotateDeg: 0, brightness: 0, contrast: 0, aspect: 0.1 };
    const rng = new Rng(3);
    let taller = 0;
    let shorter = 0;
    for (let i = 0; i < 200; i++) {
      const [[a, b], [d, e]] = drawAugment(rng, still).matrix;
      expect(a).toBe(1);
      expect(b === 0 && d === 0).toBe(true);
      expect(Math.abs(e - 1)).toBeLessThanOrEqual(0.1 + 1e-12);
      if (e > 1.05) taller++;
      if (e < 0.95) shorter++;
    }
    expect(taller).toBeGreaterThan(30);
    expect(shorter).toBeGreaterThan(30);
    expect(drawAugment(new Rng(5), { ...DEFAULT_AUGMENT, aspect: 0 })).toEqual(drawAugment(new Rng(5), DEFAULT_AUGMENT));
  });
});

describe('opacities', () => {
  it('whiten 1-3 soft patches over the chest with probability P, strongest at their centres; off, the draws are as before', () => {
    const rng = new Rng(11);
    let patched = 0;
    for (let i = 0; i < 200; i++) {
      const { opacities } = drawAugment(rng, { ...DEFAULT_AUGMENT, opacity: 0.5 });
      if (!opacities.length) continue;
      patched++;
      expect(opacities.length).toBeLessThanOrEqual(3);
      for (const o of opacities) {
        expect(o.x).toBeGreaterThanOrEqual(0.2);
        expect(o.x).toBeLessThanOrEqual(0.8);
        expect(o.strength).toBeGreaterThan(0);
        expect(o.strength).toBeLessThanOrEqual(1);
      }
    }
    expect(patched).toBeGreaterThan(70);
    expect(patched).toBeLessThan(130);
    const m = opacityMap([{ x: 0.5, y: 0.5, radius: 0.1, strength: 0.6 }], 64);
    expect(m[32 * 64 + 32]).toBeGreaterThan(0.55);
    expect(m[32 * 64 + 32]).toBeLessThanOrEqual(0.6);
    expect(m[2 * 64 + 2]).toBeLessThan(0.01);
    expect(drawAugment(new Rng(5), { ...DEFAULT_AUGMENT, opacity: 0 })).toEqual(drawAugment(new Rng(5), DEFAULT_AUGMENT));
  });

  it('reach the encoder input only, brighter where they lie', async () => {
    const L = 16;
    const im = { id: 'a', loc: new Float32Array(L * L).fill(0.2), src: new Float32Array(8 * 8).fill(0.2) };
    const geo = { locSize: L, srcSize: { width: 8, height: 8 } };
    const still = { ...DEFAULT_AUGMENT, shift: 0, scale: 0, rotateDeg: 0, brightness: 0, contrast: 0 };
    let seed = 1;
    // A seed whose draw has patches (about half do).
    while (!drawAugment(new Rng(seed), { ...still, opacity: 0.5 }).opacities.length) seed++;
    const batch = makeBatch([im], geo, new Rng(seed), { ...still, opacity: 0.5 });
    const loc = await batch.loc.data();
    const src = await batch.src.data();
    expect(Math.max(...loc)).toBeGreaterThan(0.3);
    expect(Math.min(...loc)).toBeGreaterThanOrEqual(0.2 - 1e-6);
    expect(Math.max(...src)).toBeCloseTo(0.2, 6);
    disposeBatch(batch);
  });
});
