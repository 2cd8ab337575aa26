import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../testing/tf-backend';
import { bandMask, DEFAULT_AUGMENT, drawAugment, effusionMap, marksMap, opacityMap, whitenMap } from './augment';
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

describe('random crops', () => {
  it('replace the shift and scale about half the time with a view inside the film, each side trimmed by up to F; off, the draws are as before', () => {
    // Wide shifts and zooms: a crop must stay inside the film where they would not.
    const moving = { ...DEFAULT_AUGMENT, shift: 0.4, scale: 0.3, rotateDeg: 0, brightness: 0, contrast: 0, crop: 0.2 };
    const rng = new Rng(11);
    let crops = 0;
    for (let i = 0; i < 200; i++) {
      const [[a, b, c], [d, e, f]] = drawAugment(rng, moving).matrix;
      // A shift and scale keeps the aspect (a = e); a crop trims each side on its own.
      if (a === e) continue;
      crops++;
      expect(b === 0 && d === 0).toBe(true);
      // The view's edges, in the film's [−1, 1]: inside it, each within 2·0.2 of the film's edge.
      for (const [lo, hi] of [[c - a, c + a], [f - e, f + e]]) {
        expect(lo).toBeGreaterThanOrEqual(-1 - 1e-9);
        expect(lo).toBeLessThanOrEqual(-1 + 0.4 + 1e-9);
        expect(hi).toBeLessThanOrEqual(1 + 1e-9);
        expect(hi).toBeGreaterThanOrEqual(1 - 0.4 - 1e-9);
      }
    }
    expect(crops).toBeGreaterThan(70);
    expect(crops).toBeLessThan(140);
    expect(drawAugment(new Rng(5), { ...DEFAULT_AUGMENT, crop: 0 })).toEqual(drawAugment(new Rng(5), DEFAULT_AUGMENT));
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

describe('gamma', () => {
  it('draws γ between 1/(1+G) and 1+G, both ways; off, the draws are as before', () => {
    const rng = new Rng(13);
    const gs = Array.from({ length: 200 }, () => drawAugment(rng, { ...DEFAULT_AUGMENT, gamma: 0.5 }).gamma);
    expect(Math.min(...gs)).toBeGreaterThanOrEqual(1 / 1.5);
    expect(Math.max(...gs)).toBeLessThanOrEqual(1.5);
    expect(gs.filter((g) => g < 1).length).toBeGreaterThan(70);
    expect(gs.filter((g) => g > 1).length).toBeGreaterThan(70);
    expect(drawAugment(new Rng(5), { ...DEFAULT_AUGMENT, gamma: 0 })).toEqual(drawAugment(new Rng(5), DEFAULT_AUGMENT));
  });

  it('bends the encoder input only: x → x^γ', async () => {
    const L = 8;
    const im = { id: 'g', loc: new Float32Array(L * L).fill(0.25), src: new Float32Array(4 * 4).fill(0.25) };
    const still = { ...DEFAULT_AUGMENT, shift: 0, scale: 0, rotateDeg: 0, brightness: 0, contrast: 0, gamma: 0.5 };
    const { gamma } = drawAugment(new Rng(3), still);
    expect(gamma).not.toBeCloseTo(1, 2);
    const batch = makeBatch([im], { locSize: L, srcSize: { width: 4, height: 4 } }, new Rng(3), still);
    const loc = await batch.loc.data();
    // Inside the warp's reach (its bilinear edge darkens the outermost pixels).
    expect(loc[3 * L + 3]).toBeCloseTo(0.25 ** gamma, 5);
    expect(Math.max(...await batch.src.data())).toBeCloseTo(0.25, 6);
    disposeBatch(batch);
  });
});

describe('bright marks', () => {
  it('draw 1-4 text blocks, wires and electrodes with probability P; off, the draws are as before', () => {
    const rng = new Rng(17);
    const kinds = new Set<string>();
    let marked = 0;
    for (let i = 0; i < 200; i++) {
      const { marks } = drawAugment(rng, { ...DEFAULT_AUGMENT, marks: 0.5 });
      if (!marks.length) continue;
      marked++;
      expect(marks.length).toBeLessThanOrEqual(4);
      for (const m of marks) { kinds.add(m.kind); expect(m.strength).toBeGreaterThan(0); expect(m.strength).toBeLessThanOrEqual(1); }
    }
    expect(marked).toBeGreaterThan(70);
    expect(marked).toBeLessThan(130);
    expect([...kinds].sort()).toEqual(['electrode', 'text', 'wire']);
    expect(drawAugment(new Rng(5), { ...DEFAULT_AUGMENT, marks: 0 })).toEqual(drawAugment(new Rng(5), DEFAULT_AUGMENT));
  });

  it('marksMap covers each mark at its strength and nothing away from it', () => {
    const S = 64;
    const at = (m: Float32Array, x: number, y: number) => m[y * S + x];
    const text = marksMap([{ kind: 'text', x: 0.1, y: 0.1, w: 0.25, h: 0.05, strength: 0.9 }], S);
    expect(at(text, 10, 7)).toBeCloseTo(0.9, 5);
    expect(at(text, 30, 30)).toBe(0);
    expect(at(text, 10, 12)).toBe(0);
    // A vertical wire down the middle, 2 px wide.
    const wire = marksMap([{ kind: 'wire', x0: 0.5, y0: 0, x1: 0.5, y1: 1, width: 2 / S, strength: 0.6 }], S);
    expect(at(wire, 31, 40)).toBeCloseTo(0.6, 5);
    expect(at(wire, 32, 10)).toBeCloseTo(0.6, 5);
    expect(at(wire, 36, 20)).toBe(0);
    const disc = marksMap([{ kind: 'electrode', x: 0.75, y: 0.25, radius: 0.05, strength: 1 }], S);
    expect(at(disc, 47, 15)).toBeCloseTo(1, 5);
    expect(at(disc, 47, 25)).toBe(0);
    // Overlapping marks: the strongest wins.
    const both = marksMap([{ kind: 'text', x: 0, y: 0, w: 1, h: 1, strength: 0.3 }, { kind: 'electrode', x: 0.5, y: 0.5, radius: 0.1, strength: 0.8 }], S);
    expect(at(both, 31, 31)).toBeCloseTo(0.8, 5);
    expect(at(both, 2, 2)).toBeCloseTo(0.3, 5);
  });

  it('reach the encoder input only, brighter where they lie', async () => {
    const L = 16;
    const im = { id: 'm', loc: new Float32Array(L * L).fill(0.2), src: new Float32Array(8 * 8).fill(0.2) };
    const still = { ...DEFAULT_AUGMENT, shift: 0, scale: 0, rotateDeg: 0, brightness: 0, contrast: 0, marks: 1 };
    const batch = makeBatch([im], { locSize: L, srcSize: { width: 8, height: 8 } }, new Rng(2), still);
    const loc = await batch.loc.data();
    expect(Math.max(...loc)).toBeGreaterThan(0.4);
    expect(Math.max(...await batch.src.data())).toBeCloseTo(0.2, 6);
    disposeBatch(batch);
  });
});

describe('basal effusions', () => {
  it('draw one side or both with probability P, inside the view; off, the draws are as before', () => {
    const rng = new Rng(29);
    let drawn = 0;
    let both = 0;
    for (let i = 0; i < 300; i++) {
      const { effusions } = drawAugment(rng, { ...DEFAULT_AUGMENT, effusion: 0.5 });
      if (!effusions.length) continue;
      drawn++;
      if (effusions.length === 2) both++;
      for (const e of effusions) {
        expect(e.x0).toBeGreaterThanOrEqual(0);
        expect(e.x1).toBeLessThanOrEqual(1);
        expect(e.x1).toBeGreaterThan(e.x0);
        expect(e.level - e.rise).toBeGreaterThan(0.3);
        expect(e.level).toBeLessThan(0.9);
      }
    }
    expect(drawn).toBeGreaterThan(115);
    expect(drawn).toBeLessThan(185);
    expect(both / drawn).toBeGreaterThan(0.2);
    expect(both / drawn).toBeLessThan(0.47);
    expect(drawAugment(new Rng(5), { ...DEFAULT_AUGMENT, effusion: 0 })).toEqual(drawAugment(new Rng(5), DEFAULT_AUGMENT));
  });

  it('effusionMap whitens below the meniscus, higher at the chest wall, nothing above it or on the other side', () => {
    const S = 100;
    const at = (m: Float32Array, x: number, y: number) => m[y * S + x];
    // The film's left side (patient's right): the chest wall at x0.
    const m = effusionMap([{ x0: 0.1, x1: 0.5, lateral: 'x0', level: 0.7, rise: 0.1, strength: 0.8 }], S);
    expect(at(m, 30, 95)).toBeGreaterThan(0.75);
    expect(at(m, 30, 40)).toBeLessThan(0.01);
    expect(at(m, 80, 95)).toBeLessThan(0.01);
    // Medially white from y = 0.7, laterally from 0.6: at y = 0.65 the lateral part is white, the medial not.
    expect(at(m, 14, 65)).toBeGreaterThan(0.5);
    expect(at(m, 45, 65)).toBeLessThan(0.2);
  });

  it('whitenMap takes the strongest of patches, marks and effusions, and is null for none', () => {
    const S = 32;
    expect(whitenMap({ opacities: [], marks: [], effusions: [] }, S)).toBeNull();
    const opacities = [{ x: 0.5, y: 0.3, radius: 0.1, strength: 0.5 }];
    const marks = [{ kind: 'text' as const, x: 0, y: 0, w: 0.2, h: 0.1, strength: 0.9 }];
    const effusions = [{ x0: 0.5, x1: 0.95, lateral: 'x1' as const, level: 0.7, rise: 0.05, strength: 0.6 }];
    const m = whitenMap({ opacities, marks, effusions }, S)!;
    const [o, k, e] = [opacityMap(opacities, S), marksMap(marks, S), effusionMap(effusions, S)];
    for (let i = 0; i < S * S; i++) expect(m[i]).toBeCloseTo(Math.max(o[i], k[i], e[i]), 6);
    expect(Math.max(...e)).toBeGreaterThan(0.5);
  });
});
