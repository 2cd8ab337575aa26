import { describe, expect, it } from 'vitest';
import { canonicalFromMean, growBox, MeanImageBuilder, parseBox, proposeLungBox } from './canonical';
import { syntheticChest as engineChest } from '../image/synthetic-chest';

/** The engine's one synthetic chest (lungs span x ≈ 0.18–0.82, y ≈ 0.15–0.75), smooth (seed 0). */
const syntheticChest = (width = 128, height = 128) => engineChest({ width, height });

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
