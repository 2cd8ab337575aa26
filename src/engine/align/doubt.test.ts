import { describe, expect, it } from 'vitest';
import type { GrayImage } from '../io/gray-image';
import { blackBorderFraction, DOUBT_RULE, doubtFrom, judgeDoubt } from './doubt';

function film(w: number, h: number, f: (x: number, y: number) => number): GrayImage {
  const data = new Float32Array(w * h);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) data[i * w + j] = f(j, i);
  return { width: w, height: h, data };
}

describe('doubt rule', () => {
  it('measures black border connected to the film\'s edge, not dark anatomy inside', () => {
    expect(blackBorderFraction(film(100, 80, () => 0.5))).toBe(0);
    // A black band 10 px wide on the left and 8 px tall at the top: 10·80 + 8·90 of 8000 pixels.
    expect(blackBorderFraction(film(100, 80, (x, y) => (x < 10 || y < 8 ? 0 : 0.5)))).toBeCloseTo((10 * 80 + 8 * 90) / 8000, 9);
    // A black hole in the middle (a dark lung core) is not border.
    expect(blackBorderFraction(film(100, 80, (x, y) => (Math.hypot(x - 50, y - 40) < 15 ? 0 : 0.5)))).toBe(0);
    // Dark but not black (air outside the body) is not border; a rotated film's corner wedges are.
    expect(blackBorderFraction(film(100, 80, () => 0.06))).toBe(0);
    const wedges = blackBorderFraction(film(100, 100, (x, y) => (Math.abs(x - 49.5) + Math.abs(y - 49.5) > 60 ? 0 : 0.4)));
    expect(wedges).toBeGreaterThan(0.1);
    expect(wedges).toBeLessThan(0.35);
  });

  it('flags disagreement beyond a few pixels, a lot of black border, and says why', () => {
    const frame = { width: 256, height: 320 };
    const plain = film(64, 80, () => 0.5);
    const net: [[number, number, number], [number, number, number]] = [[0.9, 0, 0.02], [0, 0.9, -0.01]];
    const ok = judgeDoubt(net, net, frame, plain);
    expect(ok.reasons).toEqual([]);
    expect(ok.disagreementPx).toBe(0);
    // 16 output pixels across (a shift of 16·2/256 under a unit-scale frame); 8 px is within the rule.
    const moved = judgeDoubt([[1, 0, 0], [0, 1, 0]], [[1, 0, 32 / 256], [0, 1, 0]], frame, plain);
    expect(moved.disagreementPx).toBeCloseTo(16, 9);
    expect(moved.reasons).toEqual(['disagree']);
    expect(moved.text).toMatch(/short refinement put the frame 16\.0 px apart/);
    expect(judgeDoubt([[1, 0, 0], [0, 1, 0]], [[1, 0, 16 / 256], [0, 1, 0]], frame, plain).reasons).toEqual([]);
    const bordered = film(64, 80, (x) => (x < 10 ? 0 : 0.5));
    const both = judgeDoubt([[1, 0, 0], [0, 1, 0]], [[1, 0, 32 / 256], [0, 1, 0]], frame, bordered, undefined, 'its refinement (×25)');
    expect(both.reasons).toEqual(['disagree', 'border']);
    expect(both.text).toMatch(/its refinement \(×25\) put the frame/);
    expect(both.text).toMatch(/16% of what the network sees of the film is black border/);
    expect(doubtFrom(DOUBT_RULE.maxDisagreementPx, DOUBT_RULE.maxBorderFraction).reasons).toEqual([]);
    expect(doubtFrom(Number.NaN, 0).reasons).toEqual(['disagree']);
  });
});
