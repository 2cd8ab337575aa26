import { describe, expect, it } from 'vitest';
import { clampBox } from './crop';

describe('crop box dragging', () => {
  const box = { x: 20, y: 20, width: 100, height: 80 };
  it('moves inside the image only', () => {
    expect(clampBox(box, 'move', -50, 500, 256, 256)).toEqual({ x: 0, y: 176, width: 100, height: 80 });
  });
  it('resizes from a corner, clipped to the image and at least 8 px', () => {
    expect(clampBox(box, 'se', 1000, 10, 256, 256)).toEqual({ x: 20, y: 20, width: 236, height: 90 });
    expect(clampBox(box, 'nw', 200, 200, 256, 256)).toEqual({ x: 112, y: 92, width: 8, height: 8 });
  });
});
