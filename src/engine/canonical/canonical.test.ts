import { describe, expect, it } from 'vitest';
import { canonicalFromMean, growBox, MeanImageBuilder, parseBox, proposeLungBox } from './canonical';
import type { GrayImage } from '../io/gray-image';

/** A synthetic chest: bright body, two dark elliptical lungs either side of a bright mediastinum. */
function syntheticChest(w = 128, h = 128): GrayImage {
  const data = new Float32Array(w * h);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const x = j / w; const y = i / h;
      let v = x > 0.1 && x < 0.9 ? 0.7 : 0.1; // body vs air
      for (const cx of [0.32, 0.68]) {
        const d = ((x - cx) / 0.14) ** 2 + ((y - 0.45) / 0.3) ** 2;
        if (d < 1) v = 0.25;
      }
      data[i * w + j] = v;
    }
  }
  return { width: w, height: h, data };
}

describe('canonical chest', () => {
  it('the mean of identical films is the film', () => {
    const b = new MeanImageBuilder(64, 64);
    const c = syntheticChest(128, 128);
    b.add(c); b.add(c);
    const m = b.result();
    expect(m.width).toBe(64);
    expect(Math.abs(m.data[32 * 64 + 32] - c.data[64 * 128 + 64])).toBeLessThan(0.05);
    expect(() => new MeanImageBuilder(8, 8).result()).toThrow(/no images/);
  });

  it('finds both lung fields and not the dark air outside the body', () => {
    const box = proposeLungBox(syntheticChest());
    // Lungs span x 0.18–0.82, y 0.15–0.75 of 128 px.
    expect(box.x).toBeGreaterThan(0.15 * 128); expect(box.x).toBeLessThan(0.22 * 128);
    expect(box.x + box.width).toBeGreaterThan(0.78 * 128); expect(box.x + box.width).toBeLessThan(0.85 * 128);
    expect(box.y).toBeGreaterThan(0.12 * 128); expect(box.y + box.height).toBeLessThan(0.8 * 128);
  });

  it('grows the box by the margin and honours an explicit crop', () => {
    const g = growBox({ x: 20, y: 20, width: 50, height: 40 }, { left: 0.1, right: 0.1, top: 0.25, bottom: 0.5 }, { width: 100, height: 100 });
    expect(g).toEqual({ x: 15, y: 10, width: 60, height: 70 });
    const c = canonicalFromMean(syntheticChest(), { box: parseBox('10,12,50,40') });
    expect([c.template.width, c.template.height]).toEqual([50, 40]);
    expect(() => parseBox('1,2,3')).toThrow(/x,y,width,height/);
  });
});
